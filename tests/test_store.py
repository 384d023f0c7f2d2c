import json

import numpy as np
import pytest
from processes import side_by_side

from prelu_robust import paths
from prelu_robust.store import ResultsStore, committed_store, config_key, default_store


def test_key_depends_on_every_setting_and_the_version_but_not_on_order():
    a = {"dim": 10, "alphas": (0.1, 0.2)}
    assert config_key(a) == config_key({"alphas": [0.1, 0.2], "dim": 10})
    assert config_key(a) != config_key({**a, "dim": 11})
    assert config_key(a, version="0.1.0") != config_key(a, version="0.2.0")


def test_save_load_roundtrip_with_config_and_timings(tmp_path):
    store = ResultsStore(tmp_path)
    arrays = {"curve": np.arange(5.0), "scalar": np.asarray(3.5)}
    store.save("demo", {"a": 1}, arrays, {"wall_s": 1.0})
    loaded = store.load("demo", {"a": 1})
    assert set(loaded) == {"curve", "scalar"} and np.array_equal(loaded["curve"], arrays["curve"])
    entry = store.path("demo", {"a": 1})
    assert json.loads((entry / "config.json").read_text()) == {"a": 1}
    assert store.meta("demo", {"a": 1})["wall_s"] == 1.0
    assert store.load("demo", {"a": 2}) is None


def test_get_or_compute_computes_once_and_force_recomputes(tmp_path):
    store = ResultsStore(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.ones(3)}

    _, meta = store.get_or_compute("demo", {"a": 1}, compute)
    assert meta["computed_now"] and meta["wall_s"] >= 0 and "git_revision" in meta
    _, meta = store.get_or_compute("demo", {"a": 1}, compute)
    assert not meta["computed_now"] and len(calls) == 1
    store.get_or_compute("demo", {"a": 1}, compute, force=True)
    assert len(calls) == 2


def test_a_scratch_store_serves_the_committed_entries_and_keeps_every_write_out_of_them(tmp_path):
    committed = ResultsStore(tmp_path / "paper")
    committed.save("demo", {"a": 1}, {"x": np.ones(2)}, {"wall_s": 1.0})
    files_before = {p: p.read_bytes() for p in committed.root.rglob("*") if p.is_file()}
    store = ResultsStore(tmp_path / "custom", read_also=(committed.root,))
    arrays, meta = store.get_or_compute("demo", {"a": 1}, lambda: pytest.fail("a committed entry was recomputed"))
    assert not meta["computed_now"] and meta["wall_s"] == 1.0 and np.array_equal(arrays["x"], np.ones(2))
    store.get_or_compute("demo", {"a": 2}, lambda: {"x": np.zeros(2)})  # other settings
    store.get_or_compute("demo", {"a": 1}, lambda: {"x": np.full(2, 7.0)}, force=True)  # a recompute
    assert {p: p.read_bytes() for p in committed.root.rglob("*") if p.is_file()} == files_before
    assert store.has("demo", {"a": 2}) and not committed.has("demo", {"a": 2})
    assert store.load("demo", {"a": 1})["x"][0] == 7.0  # the scratch entry is read first


def test_the_paper_profile_reads_the_committed_store_and_writes_elsewhere_unless_a_root_is_chosen(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.RESULTS_ENV, raising=False)
    store = default_store("paper")
    assert store.root == paths.custom_results_root() / "paper" and store.read_also == (committed_store().root,)
    assert default_store("ci").read_also == ()
    monkeypatch.setenv(paths.RESULTS_ENV, str(tmp_path))
    assert default_store("paper").root == committed_store().root == tmp_path / "paper"
    assert default_store("paper").read_also == ()


def test_a_crash_leaves_no_entry_and_no_temporary_files(tmp_path):
    store = ResultsStore(tmp_path)

    def crash():
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        store.get_or_compute("demo", {"a": 1}, crash)
    assert not store.has("demo", {"a": 1})

    with pytest.raises(TypeError):  # fails half-way through writing the entry
        store.save("demo", {"a": 1}, {"x": np.ones(1)}, {"unserialisable": object()})
    assert not store.has("demo", {"a": 1})
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "demo").iterdir())


def test_a_truncated_entry_is_set_aside_by_path_and_recomputed_alone(tmp_path):
    store = ResultsStore(tmp_path)
    for a in (1, 2):
        store.save("demo", {"a": a}, {"x": np.arange(1000.0) * a}, {"wall_s": 1.0})
    broken = store.path("demo", {"a": 1}) / "arrays.npz"
    broken.write_bytes(broken.read_bytes()[:100])
    calls = []

    def compute(a):
        calls.append(a)
        return {"x": np.arange(1000.0) * a}

    with pytest.warns(UserWarning, match=str(store.path("demo", {"a": 1}))):
        first, meta = store.get_or_compute("demo", {"a": 1}, lambda: compute(1))
    second, _ = store.get_or_compute("demo", {"a": 2}, lambda: compute(2))
    assert calls == [1] and meta["computed_now"]
    assert np.array_equal(first["x"], np.arange(1000.0)) and np.array_equal(second["x"], 2 * np.arange(1000.0))
    assert np.array_equal(store.load("demo", {"a": 1})["x"], np.arange(1000.0))  # healed
    assert len(list((tmp_path / "demo" / ".unreadable").iterdir())) == 1  # kept for inspection


def test_an_entry_another_writer_finished_first_is_success(tmp_path, monkeypatch):
    """Two writers of the same key: the one renaming second finds the entry in place."""
    store, other = ResultsStore(tmp_path), ResultsStore(tmp_path)
    real_replace = __import__("os").replace

    def replace_after_the_other_writer(src, dst):
        monkeypatch.setattr("os.replace", real_replace)
        other.save("demo", {"a": 1}, {"x": np.ones(3)}, {})
        real_replace(src, dst)

    monkeypatch.setattr("os.replace", replace_after_the_other_writer)
    store.save("demo", {"a": 1}, {"x": np.ones(3)}, {})
    assert np.array_equal(store.load("demo", {"a": 1})["x"], np.ones(3))
    assert [p.name for p in (tmp_path / "demo").iterdir()] == [store.path("demo", {"a": 1}).name]


def test_the_store_command_lists_verifies_and_exports(tmp_path, capsys):
    import csv
    import io

    from prelu_robust import cli
    from prelu_robust.store import entries, export_csv

    store = ResultsStore(tmp_path)
    for a in (1, 2):
        store.save("demo", {"a": a, "grid": [0.1, 0.2]}, {"score": np.asarray(a / 10), "curve": np.ones(3)}, {"cpu_s": 2.0})
    assert cli.main(["store", "--root", str(tmp_path), "list"]) == 0
    assert "demo: 2 entries" in capsys.readouterr().out
    assert cli.main(["store", "--root", str(tmp_path), "verify"]) == 0
    out = io.StringIO()
    assert export_csv(tmp_path, "demo", out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["a"] for row in rows] == sorted(["1", "2"], key=lambda a: store.path("demo", {"a": int(a), "grid": [0.1, 0.2]}).name)
    assert {row["score"] for row in rows} == {"0.1", "0.2"} and rows[0]["grid"] == "[0.1, 0.2]" and rows[0]["cpu_s"] == "2.0"
    # a truncated entry and an entry under a key that is not its configuration's are both reported
    first, second = (e.folder for e in entries(tmp_path, "demo"))
    (first / "arrays.npz").write_bytes((first / "arrays.npz").read_bytes()[:50])
    second.rename(second.with_name("0123456789abcdef"))
    assert cli.main(["store", "--root", str(tmp_path), "verify"]) == 1
    report = capsys.readouterr().out
    assert "unreadable" in report and "0123456789abcdef: its configuration's key" in report and "2 with problems" in report


def _hammer(root: str, seed: int, operations: int, errors) -> None:
    """One process's share of the stress test: random saves (some replacing), loads and
    get_or_computes of ten keys; every exception is counted."""
    rng = np.random.default_rng(seed)
    store = ResultsStore(root)
    for _ in range(operations):
        key, action = {"a": int(rng.integers(10))}, rng.integers(4)
        try:
            if action == 0:
                store.save("demo", key, {"x": np.full(64, key["a"], float)}, {}, replace=bool(rng.integers(2)))
            elif action == 1:
                store.get_or_compute("demo", key, lambda: {"x": np.full(64, key["a"], float)})
            else:
                loaded = store.load("demo", key)
                assert loaded is None or np.array_equal(loaded["x"], np.full(64, key["a"], float))
        except Exception as err:  # noqa: BLE001 - counted, the test asserts there are none
            errors.put(f"{type(err).__name__}: {err}")


def test_two_processes_share_a_store_without_a_single_failed_operation(tmp_path):
    exit_codes, found = side_by_side(_hammer, [(str(tmp_path), seed, 1000) for seed in (1, 2)])
    assert exit_codes == [0, 0] and found == [], found[:5]
    assert not list((tmp_path / "demo").glob(".tmp-*"))  # nothing half-written left behind


def _compute_slowly(root: str, log: str) -> None:
    import time

    def compute():
        with open(log, "a") as handle:
            handle.write("computed\n")
        time.sleep(2.0)
        return {"x": np.ones(2)}

    ResultsStore(root).get_or_compute("demo", {"a": 1}, compute)


def test_a_second_process_waits_for_the_run_the_first_is_computing(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    log = tmp_path / "calls.log"
    workers = [context.Process(target=_compute_slowly, args=(str(tmp_path / "store"), str(log))) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert log.read_text().splitlines() == ["computed"]  # once, not twice
    assert not any((tmp_path / "store" / "demo" / ".claims").iterdir())  # released


def test_a_claim_left_by_a_crashed_process_is_taken_over(tmp_path):
    import json
    import socket
    import subprocess
    import sys
    import time

    store = ResultsStore(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    claim = store._claim_path("demo", {"a": 1})
    claim.parent.mkdir(parents=True)
    claim.write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead), "time": time.time()}))
    arrays, meta = store.get_or_compute("demo", {"a": 1}, lambda: {"x": np.ones(2)})
    assert meta["computed_now"] and not claim.exists()
