"""The results versions tell the truth: a small entry of every kind, computed from
scratch, equals the committed golden store ``tests/golden/``. A change of code that
changes results fails here until its kind's version in ``store.RESULTS_VERSIONS`` is
bumped and the golden store renewed (``python tests/test_golden.py``).

On one CPU the recomputation is bitwise identical (seeds everywhere, deterministic
kernels); the tolerance only admits another CPU's order of summation: float32 rounding
(~1e-7 relative) amplified by training, far below what a change of method moves. The
products are float32 here: emulated bf16 (CPUs without AVX-512 BF16) rounds otherwise.
"""

import dataclasses
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from prelu_robust.engine import STEERINGS
from prelu_robust.experiments import alignment, mnist, synthetic
from prelu_robust.store import ResultsStore

GOLDEN = Path(__file__).parent / "golden"
RTOL, ATOL = 1e-3, 1e-3

SYNTHETIC = dict(dim=30, n_train=300, n_test=100, width=30, init_scale=1e-4, epochs=20, alphas=[0.05],
                 repeats=1, eps_grid=[0.0, 0.3, 0.8], attack_points=60, attack_steps=20, strong_restarts=2,
                 dist_batches=1, dist_batch_size=20, dist_steps=10, top_neurons=10, product_dtype="float32")
MNIST = dict(n_train=1000, n_test=200, powers=[1, 3], width=20, repeats=1, epochs=2, eps_grid=[0.0, 0.05],
             attack_points=50, table1=False, correlation_points=100, product_dtype="float32",
             attack_product_dtype="float32")
ALIGNMENT = dict(n=60, width=12, steps=300, n_snapshots=5)


def fill(store: ResultsStore) -> None:
    """Compute one small entry (or a few) of every kind into ``store``."""
    for steering in STEERINGS:  # the committed stores' merged steering as well as the exact one
        config = synthetic.make_config("ci", **SYNTHETIC, steering=steering)
        synthetic.run(config, "ci", store=store, device="cpu", show_progress=False)
        synthetic.variants(config, store, compute=True, device="cpu", show_progress=False)
    mnist.run(mnist.make_config("ci", **MNIST), "ci", store=store, device="cpu", show_progress=False)
    alignment.run(alignment.make_config(**ALIGNMENT), store=store)


def differences(fresh: Path, golden: Path) -> list[str]:
    """What differs between two stores: entries missing from ``golden`` (a new key: the
    settings or a results version changed) and arrays beyond the tolerance."""
    found = []
    for entry in sorted(p for p in fresh.glob("*/*") if not p.name.startswith(".")):
        twin = golden / entry.relative_to(fresh)
        if not (twin / "arrays.npz").is_file():
            found.append(f"{entry.relative_to(fresh)}: not in the golden store")
            continue
        with np.load(entry / "arrays.npz") as new, np.load(twin / "arrays.npz") as old:
            for name in sorted(set(new.files) | set(old.files)):
                if name not in new.files or name not in old.files:
                    found.append(f"{entry.relative_to(fresh)}: array {name} only in one store")
                elif name.endswith(("_s", "_seconds")):  # timings
                    continue
                elif new[name].shape != old[name].shape or not np.allclose(new[name], old[name], RTOL, ATOL):
                    found.append(f"{entry.relative_to(fresh)}: {name} differs")
    return found


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fresh")
    fill(ResultsStore(root))
    return root


def test_every_kind_recomputes_to_its_golden_entry(fresh):
    kinds = {p.name for p in fresh.iterdir()}
    assert kinds == {"synthetic-run", "synthetic-variants", "mnist-run", "mnist-model", "alignment"}
    found = differences(fresh, GOLDEN)
    assert not found, ("results changed without a new results version: bump the kinds' versions in "
                       "store.RESULTS_VERSIONS, then renew the golden store (python tests/test_golden.py):\n"
                       + "\n".join(found))


def test_a_changed_computation_under_the_same_version_is_caught(tmp_path, monkeypatch):
    """A larger PGD step, say, changes the robust-accuracy curves; the version stays: caught."""
    from prelu_robust.attacks import pgd

    real = pgd._descend
    monkeypatch.setattr(pgd, "_descend", lambda a, s, f, grad, y, eps, attack: real(
        a, s, f, grad, y, eps, dataclasses.replace(attack, step_size=3 * attack.step_size)))
    store = ResultsStore(tmp_path)
    synthetic.run(synthetic.make_config("ci", **SYNTHETIC), "ci", store=store, device="cpu", show_progress=False)
    found = differences(tmp_path, GOLDEN)
    assert any("robust_" in line and "differs" in line for line in found), found


if __name__ == "__main__":
    if "--add" not in sys.argv:  # --add: keep the golden entries, write the new keys only
        shutil.rmtree(GOLDEN, ignore_errors=True)
    fill(ResultsStore(GOLDEN))
    for meta in GOLDEN.glob("*/*/meta.json"):  # provenance changes with every run; the arrays are what is compared
        meta.unlink()
    print(f"golden store renewed under {GOLDEN}", file=sys.stderr)
