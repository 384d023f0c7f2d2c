"""The claims registry and the generated comparison with the paper."""

import shutil

import numpy as np
import pytest

from prelu_robust import claims, paper
from prelu_robust.experiments import mnist
from prelu_robust.store import ResultsStore, committed_store


@pytest.fixture(scope="module")
def store_copy(tmp_path_factory):
    """A copy of the committed paper store that a test may corrupt."""
    root = tmp_path_factory.mktemp("store")
    for kind in ("synthetic-run", "mnist-run"):
        shutil.copytree(committed_store().root / kind, root / kind)
    return ResultsStore(root)


def _row(rows, statement):
    (row,) = [r for r in rows if r.claim.statement == statement]
    return row


def test_every_number_of_the_spec_has_a_row():
    statements = [c.statement for c in claims.CLAIMS]
    assert len(statements) == len(set(statements))
    curve = [s for s in statements if s.startswith("K=10") and "robust accuracy at eps" in s]
    assert len(curve) == sum(len(v) - 1 for v in paper.SYNTHETIC_ROBUST.values())
    poster = [s for s in statements if "Linf robust accuracy" in s]
    assert len(poster) == sum(int(np.isfinite(v[1:]).sum()) for v in paper.MNIST_ROBUST.values())
    assert sum(s.startswith("MNIST ten classes") and ": L" in s and "robust" not in s for s in statements) \
        == len(paper.TABLE1) * len(paper.MNIST_TABLE1)
    assert any("Caltech-256" in s for s in statements)


def test_the_committed_store_gives_a_verdict_for_each_stored_claim():
    """Only a claim whose experiment is not implemented, or whose runs are missing, is not run."""
    store = committed_store()
    stored = claims.Stored(store)
    complete = all(part is not None for part in (stored.synthetic, stored.variants, stored.mnist))
    rows = claims.check_all(store)
    for row in rows:
        if row.claim.measure is not claims._not_run and complete:
            assert row.status in (claims.PASS, claims.FAIL), row.claim.statement
    assert _row(rows, "MNIST ten classes, p=4: Linf robust accuracy at eps 0.1000").status == claims.PASS


def test_a_corrupted_stored_value_turns_its_row_to_fail(store_copy):
    statement = "MNIST ten classes, p=4: Linf robust accuracy at eps 0.1000"
    assert _row(claims.check_all(store_copy), statement).status == claims.PASS
    config = claims.Stored(store_copy).mnist[0][0].config  # at the stored precision
    (one,) = [r for r in config.runs() if r.p == 4.0 and r.repeat == 0]
    arrays = store_copy.load(mnist.KIND, one.settings())
    index = int(np.argmin(np.abs(np.asarray(config.eps_grid) - 0.1)))
    arrays["robust_accuracy"] = arrays["robust_accuracy"].copy()
    arrays["robust_accuracy"][index] = 0.0
    store_copy.save(mnist.KIND, one.settings(), arrays, store_copy.meta(mnist.KIND, one.settings()), replace=True)
    rows = claims.check_all(store_copy)
    assert _row(rows, statement).status == claims.FAIL
    # the corrupted run leaves its other rows as they were
    assert _row(rows, "MNIST ten classes, p=4: Linf robust accuracy at eps 0.0143").status == claims.PASS


def test_an_empty_store_runs_nothing(tmp_path):
    rows = claims.check_all(ResultsStore(tmp_path))
    assert {r.status for r in rows} == {claims.NOT_RUN}


def test_the_table_has_one_row_per_claim():
    rows = claims.check_all(committed_store())
    table = claims.markdown(rows).splitlines()
    assert len(table) == 2 + len(claims.CLAIMS)
    assert all(line.count("|") == table[0].count("|") for line in table)  # no stray pipes in a cell
