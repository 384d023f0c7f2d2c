import subprocess
import sys

import pytest
import torch

from prelu_robust import device
from prelu_robust.device import keep_freed_memory

# One small synthetic run (arrays of ~1 MB: above glibc's default mmap threshold);
# prints a digest of everything it computes.
SCRIPT = """
import sys, hashlib, torch
torch.set_num_threads(1)
from prelu_robust.device import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
from prelu_robust.experiments import synthetic
config = synthetic.make_config("ci", dim=60, width=300, n_train=800, n_test=400, epochs=20, attack_points=200,
                               attack_steps=50, dist_batches=1, dist_batch_size=100, dist_steps=50)
arrays = synthetic.compute_run(synthetic.SyntheticRun(config, 3.0, 0, 0), torch.device("cpu"), show_progress=False)
digest = hashlib.sha256()
for name in sorted(arrays):
    digest.update(name.encode() + arrays[name].tobytes())
print(digest.hexdigest())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator settings")
def test_keeping_freed_memory_leaves_every_result_bit_identical():
    assert keep_freed_memory()
    digests = [subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
               .stdout.strip() for mode in ("default", "keep")]
    assert len(digests[0]) == 64
    assert digests[0] == digests[1]


def test_a_pinned_thread_count_is_not_measured_over(monkeypatch):
    """A sweep's worker pins one thread: compute_device must not time and pick another."""
    monkeypatch.setattr(device, "_pinned_threads", None)
    monkeypatch.setattr(device, "choose_num_threads", lambda: pytest.fail("measured a pinned count"))
    before = torch.get_num_threads()
    try:
        device.pin_num_threads(1)
        assert device.compute_device("cpu").type == "cpu" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
