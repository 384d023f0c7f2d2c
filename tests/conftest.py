import pytest
import torch

from prelu_robust.data.gmm import MixtureSpec, sample_mixture
from prelu_robust.experiments import synthetic
from prelu_robust.models import PReLUNet
from prelu_robust.train import SGDConfig, train_sgd

torch.set_num_threads(1)



def pytest_collection_modifyitems(config, items):
    """The book's end-to-end test (half of the suite's time) first: with `make test`'s two
    processes (pytest-xdist, one file per process, in this order) it runs beside all the
    other tests instead of after them."""
    items.sort(key=lambda item: item.path.name != "test_book.py")


#: Epochs of the tests' nets at the ci sizes (both p fit by then), apart from the ci profile's budget.
TRAINED_EPOCHS = 100


@pytest.fixture(scope="session")
def ci_spec() -> MixtureSpec:
    cfg = synthetic.PROFILES["ci"]
    return cfg.mixture(0.05)


@pytest.fixture(scope="session")
def trained_nets(ci_spec):
    """p=1 and p=3 nets trained at the ci profile's sizes for 100 epochs (both fit by then),
    with their data: the tests' reference nets, independent of the profile's time budget."""
    cfg = synthetic.PROFILES["ci"]
    train = sample_mixture(ci_spec, cfg.n_train, seed=1)
    test = sample_mixture(ci_spec, cfg.n_test, seed=2)
    nets = {}
    for p in (1.0, 3.0):
        net = PReLUNet(cfg.dim, cfg.width, p=p).init_small(cfg.init_scale, torch.Generator().manual_seed(0))
        train_sgd(net, train.x, train.y, SGDConfig(lr=cfg.lr, batch_size=cfg.batch_size, epochs=TRAINED_EPOCHS),
                  show_progress=False)
        nets[p] = net
    return nets, train, test
