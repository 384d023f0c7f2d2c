"""Sweeps: the file and its points, every error before anything runs, runs computed once,
resumed, failures isolated, the tidy table; a sweep on a local Dask cluster; workers that
end with a killed sweep."""

import csv
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import yaml

from prelu_robust import ParameterError, cli, paths, sweep, workers
from prelu_robust.experiments import synthetic

#: A synthetic point that trains and attacks in about a second.
TINY = dict(profile="ci", dim=20, n_train=200, n_test=60, width=20, init_scale=1e-4, epochs=20, alphas=[0.05],
            repeats=1, eps_grid=[0.0, 0.5], attack_points=30, attack_steps=10, dist_batches=1, dist_batch_size=10,
            dist_steps=5, top_neurons=5, product_dtype="float32")


def write(tmp_path, **spec):
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump({"notebook": "notebooks/synthetic_gmm.py", **spec}, sort_keys=False))
    return path


def test_points_cross_the_axes_and_zip_the_zipped(tmp_path):
    s = sweep.load(write(tmp_path, parameters=TINY, axes={"powers": [[1], [3]]},
                         zip={"n_clusters": [4, 6], "n_positive": [2, 3]}))
    assert [(p["powers"], p["n_clusters"], p["n_positive"]) for p in s.points()] == [
        ([1], 4, 2), ([1], 6, 3), ([3], 4, 2), ([3], 6, 3)]
    assert all(p["dim"] == 20 for p in s.points())


@pytest.mark.parametrize("spec, message", [
    (dict(notebook="notebooks/nothing.py"), "a figure notebook: notebooks/synthetic_gmm.py"),
    (dict(notebook="book/reproducibility.py"), "a figure notebook"),
    (dict(axes={"epoch": [1, 2]}), "unknown notebook synthetic_gmm.py parameter(s) ['epoch']"),
    (dict(axes={"lr": ["fast"]}), "invalid lr='fast'"),
    (dict(axes={"powers": []}), "powers=[]"),
    (dict(zip={"n_clusters": [4, 6], "n_positive": [2]}), "one common length"),
    (dict(axes={"n_clusters": [4]}, zip={"n_clusters": [6]}), "each parameter in one of"),
    (dict(sizes=[1]), "unknown sweep file demo.yaml parameter(s) ['sizes']"),
    (dict(axes={"n_positive": [2, 10]}, parameters={**TINY, "n_clusters": 4}), "n_positive=10"),
])
def test_every_error_names_its_key_before_anything_runs(tmp_path, spec, message):
    spec = {"parameters": TINY, **spec}
    with pytest.raises(ParameterError) as err:
        sweep.load(write(tmp_path, **spec))
    assert message in str(err.value)


@pytest.fixture
def scratch_results(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.RESULTS_ENV, str(tmp_path / "results"))
    return tmp_path / "results"


def test_runs_shared_by_points_are_computed_once_and_a_second_run_computes_nothing(tmp_path, scratch_results):
    # two points that differ only in a setting the unattacked runs do not read share those runs
    shared = {k: v for k, v in TINY.items() if k != "attack_steps"}
    s = sweep.load(write(tmp_path, parameters={**shared, "alphas": [0.05, 0.1], "powers": [1]},
                         axes={"attack_steps": [10, 12]}))
    first = sweep.run(s, workers=2, execute_notebooks=False)
    # per point: an attacked run, its variants and an unattacked run; the unattacked one is shared
    assert first.computed == 5 and not first.failures
    again = sweep.run(s, workers=2, execute_notebooks=False)
    assert again.computed == 0 and again.stored == 6
    assert all(row["runs stored"] == row["runs"] == 3 for row in sweep.status(s))


def test_a_failing_run_is_named_the_others_finish_and_the_exit_status_says_so(tmp_path, scratch_results, monkeypatch):
    s = sweep.load(write(tmp_path, parameters=TINY, axes={"powers": [[1], [3]]}))
    real = synthetic.compute_entry

    def fail_p3(kind, run, store=None):
        if getattr(run, "run", run).p == 3.0:
            raise RuntimeError("made to fail")
        return real(kind, run, store)

    monkeypatch.setattr(synthetic, "compute_entry", fail_p3)
    report = sweep.run(s, executor="inline", execute_notebooks=False)  # in this process: sees the patch
    assert report.computed == 2 and len(report.failures) == 2  # a run and its attack variants per point
    assert all("p=3" in what and "made to fail" in why for what, why in report.failures)
    status = sweep.status(s)
    assert [row["runs stored"] for row in status] == [2, 0]


def test_the_tidy_table_has_a_row_per_run_and_radius_with_every_setting(tmp_path, scratch_results):
    s = sweep.load(write(tmp_path, parameters=TINY, axes={"powers": [[1], [3]]}))
    sweep.run(s, workers=2, execute_notebooks=False)
    out = tmp_path / "demo.csv"
    assert sweep.aggregate(s, out) == 8  # 2 points x (a run, its variants) x 2 radii
    rows = [row for row in csv.DictReader(out.open()) if row["kind"] == "synthetic-run"]
    assert {row["p"] for row in rows} == {"1.0", "3.0"} and {row["eps"] for row in rows} == {"0.0", "0.5"}
    assert {"robust_reference", "robust_strong", "distance", "dim", "width", "point"} <= set(rows[0])


def test_a_sweep_runs_end_to_end_on_a_local_dask_cluster_and_executes_its_pages(tmp_path, scratch_results, capsys):
    s = write(tmp_path, parameters=TINY, axes={"powers": [[1], [3]]})
    out = tmp_path / "pages"
    assert cli.main(["sweep", "run", str(s), "--executor", "dask", "--workers", "2", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.ipynb")) == ["000.ipynb", "001.ipynb"]
    printed = capsys.readouterr().out
    assert "[sweep 4/4] " in printed and "point 2/2" in printed and "computed for this page" not in printed
    assert cli.main(["sweep", "status", str(s), "--out", str(out)]) == 0
    assert "runs 2/2, page executed" in capsys.readouterr().out
    spawned = [child for child in psutil.Process().children(recursive=True) if "spawn_main" in " ".join(child.cmdline())]
    assert not psutil.wait_procs(spawned, timeout=10)[1], "the cluster's worker processes outlived the sweep"


def test_the_command_refuses_a_bad_sweep_in_one_line(tmp_path, capsys):
    assert cli.main(["sweep", "run", str(write(tmp_path, parameters=TINY, axes={"epoch": [1]}))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'epoch'" in err and len(err.splitlines()) == 1


def test_a_quick_grid_on_the_command_line_is_the_same_sweep(tmp_path):
    file = sweep.load(write(tmp_path, parameters={"profile": "ci", "n_positive": 2},
                            axes={"powers": [[1], [3]], "n_clusters": [4, 6]}))
    quick = sweep.from_arguments("notebooks/synthetic_gmm.py", {"profile": "ci", "n_positive": "2"},
                                 ["powers=[1],[3]", "n_clusters=4,6"])
    assert quick.points() == file.points() and quick.name == "synthetic_gmm-powers-n_clusters"
    assert sweep.from_arguments("notebooks/synthetic_gmm.py", {}, ["loss=exp,logistic"]).axes == {"loss": ["exp", "logistic"]}
    with pytest.raises(ParameterError, match="NAME=VALUE1,VALUE2"):
        sweep.from_arguments("notebooks/synthetic_gmm.py", {}, ["powers"])


def test_compute_fills_a_store_with_one_page_s_runs_and_commit_names_the_committed_one(scratch_results, capsys):
    tiny = [arg for name, value in TINY.items() if name != "profile"
            for arg in ("-p", name, str(value))] + ["-p", "powers", "[1]"]
    assert cli.main(["compute", "synthetic", "--profile", "ci", *tiny, "--executor", "inline"]) == 0
    assert "2 runs computed, 0 already stored" in capsys.readouterr().out  # a run and its attack variants
    assert cli.main(["compute", "synthetic", "--profile", "ci", *tiny, "--commit", "--executor", "inline"]) == 0
    assert "2 runs computed" in capsys.readouterr().out and any((scratch_results / "paper").rglob("arrays.npz"))
    assert cli.main(["compute", "synthetics"]) == 2
    assert "experiment='synthetics'" in capsys.readouterr().err


def test_ctrl_c_starts_no_new_run_stores_the_running_ones_and_the_same_command_resumes(tmp_path, scratch_results):
    from prelu_robust.store import entries, verify

    s = write(tmp_path, parameters={**TINY, "attack_steps": 300},
              axes={"powers": [[1], [1.5], [2], [2.5], [3], [3.5], [4], [5]]})
    # Ctrl-C as a terminal delivers it, even when the tests run in a background job (whose shell sets
    # SIGINT to ignored, and a child inherits that: the sweep would never see the signal)
    command = subprocess.Popen([sys.executable, "-m", "prelu_robust", "sweep", "run", str(s), "--workers", "1",
                                "--no-pages"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, paths.RESULTS_ENV: str(scratch_results)},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not list(scratch_results.glob("*/*/*/meta.json")) and time.time() < deadline:
        time.sleep(0.2)
    command.send_signal(signal.SIGINT)
    out, err = command.communicate(timeout=120)
    assert command.returncode == cli.INTERRUPTED, err[-2000:]
    assert "interrupted:" in out and "resumes" in err and "Traceback" not in err
    stored = list(entries(scratch_results / "ci"))
    assert 1 <= len(stored) < 16 and not [verify(entry) for entry in stored if verify(entry)]
    again = sweep.run(sweep.load(s), executor="inline", execute_notebooks=False)
    assert again.stored == len(stored) and again.computed == 16 - len(stored) and not again.interrupted


def test_a_worker_ends_with_the_sweep_that_started_it_even_when_that_one_is_killed():
    script = ("import os, time\n"
              "from prelu_robust.workers import process_pool\n"
              "pool = process_pool(1)\n"
              "print(pool.submit(os.getpid).result(), flush=True)\n"
              "pool.submit(time.sleep, 600)\n"
              "time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    worker = psutil.Process(int(parent.stdout.readline()))
    assert worker.ppid() == parent.pid and worker.status() != psutil.STATUS_ZOMBIE
    parent.kill()  # SIGKILL: nothing of the sweep runs, its pool's shutdown included
    parent.wait()
    deadline = time.monotonic() + 10 * workers.PARENT_POLL_S
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _running(worker):
        worker.kill()
        pytest.fail("the worker outlived its sweep")


def _running(process: psutil.Process) -> bool:
    """Not ended (a zombie has ended, whether or not its new parent reaps it)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
