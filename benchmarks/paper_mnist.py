"""Paper-settings MNIST (ten classes), one repeat, Linf curve on 1,000 test points:
the background job behind the MNIST paper-settings page. Resumable per run."""

import torch

from prelu_robust.experiments import mnist

torch.set_num_threads(1)
config = mnist.make_config("paper", n_class=10, repeats=1, attack_points=1000, table1=False)
mnist.run(config, "paper", device="cpu", show_progress=False)
print("done", flush=True)
