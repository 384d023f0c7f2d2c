"""The driver refuses bad parameters with one clear line, before a kernel starts."""

import os

import pytest

from prelu_robust import paths, run_notebook


@pytest.fixture
def no_kernel(monkeypatch):
    """Fail the test if papermill is asked to execute anything."""
    import papermill

    def refuse(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)


@pytest.mark.parametrize("parameters, message", [
    ([("lr", "[0.1]")], "invalid lr=[0.1]: expected a number."),
    ([("powers", "'three'")], "invalid powers='three': expected a list of numbers."),
    ([("width", "2.5")], "invalid width=2.5: expected an integer."),
    ([("force", "maybe")], "invalid force='maybe': expected true or false."),
    ([("device", "gpu")], "unknown device='gpu': choose 'auto', 'cpu' or 'cuda[:i]'."),
    ([("profile", "fast")], "unknown profile='fast': choose one of 'auto', 'paper', 'ci', 'sweep'."),
    ([("profile", "ci"), ("n_positive", "10")], "invalid n_positive=10"),
    ([("loss", "hinge")], "unknown loss='hinge'"),
    ([("epoch", "3")], "unknown notebook synthetic_gmm.py parameter(s) ['epoch']"),
])
def test_a_bad_parameter_is_one_line_naming_it(parameters, message, tmp_path, capsys, no_kernel):
    argv = ["one", "notebooks/synthetic_gmm.py", str(tmp_path / "out.ipynb")]
    for name, value in parameters:
        argv += ["-p", name, value]
    assert run_notebook.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out.ipynb").exists()


def test_an_unknown_notebook_lists_the_notebooks(tmp_path, capsys, no_kernel):
    assert run_notebook.main(["one", "notebooks/synthetic.py", str(tmp_path / "out.ipynb")]) == 2
    err = capsys.readouterr().err
    assert "no notebook at notebooks/synthetic.py" in err and "notebooks/synthetic_gmm.py" in err


def test_a_lone_value_stands_for_a_list_and_booleans_take_any_case():
    nb = run_notebook.read_notebook(run_notebook.ROOT / "notebooks/synthetic_gmm.py")
    given = {"powers": 3, "force": run_notebook.parse_value("FALSE"), "alphas": [0.01, 0.02]}
    checked = run_notebook.checked_parameters(run_notebook.ROOT / "notebooks/synthetic_gmm.py", nb, given)
    assert checked == {"powers": [3], "force": False, "alphas": [0.01, 0.02]}


def test_verbose_shows_the_traceback(tmp_path, no_kernel):
    from prelu_robust import ParameterError

    with pytest.raises(ParameterError, match="lr"):
        run_notebook.main(["one", "notebooks/synthetic_gmm.py", str(tmp_path / "o.ipynb"), "-p", "lr", "x", "--verbose"])


def test_store_names_the_results_root_the_kernels_inherit(tmp_path, monkeypatch, no_kernel):
    monkeypatch.setenv(paths.RESULTS_ENV, "restored after the test")
    run_notebook.main(["one", "notebooks/synthetic_gmm.py", str(tmp_path / "o.ipynb"), "--store", str(tmp_path / "mine"),
                       "-p", "lr", "x"])
    assert os.environ[paths.RESULTS_ENV] == str(tmp_path / "mine")


PROBE = '''# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Probe

# %% tags=["parameters"]
label = "a"  # which probe
fail = False  # raise instead of finishing

# %%
import json, os, time
start = time.time()
time.sleep(2)
assert not fail, "asked to fail"
print(json.dumps({"label": label, "start": start, "end": time.time(),
                  "threads": os.environ.get("PRELU_ROBUST_THREADS")}))
'''


def _probe_registry(tmp_path, pages_lines, last=()):
    (tmp_path / "probe.py").write_text(PROBE)
    registry = tmp_path / "pages.yml"
    registry.write_text("root: book/intro\nparts:\n  - caption: Probes\n    pages:\n" + "".join(
        f"      - name: {name}\n        notebook: {tmp_path / 'probe.py'}\n        parameters: {parameters}\n"
        f"        last: {str(name in last).lower()}\n" for name, parameters in pages_lines))
    return registry


def _probe_output(notebook):
    import json

    cells = json.loads(notebook.read_text())["cells"]
    text = "".join("".join(out.get("text", "")) for cell in cells for out in cell.get("outputs", []))
    return json.loads(text.strip().splitlines()[-1])


@pytest.mark.slow
def test_pages_run_side_by_side_each_kernel_on_its_share_of_the_cores(tmp_path, monkeypatch):
    monkeypatch.delenv("PRELU_ROBUST_THREADS", raising=False)
    registry = _probe_registry(tmp_path, [("report", "{label: c}"), ("first", "{label: a}"), ("second", "{label: b}")],
                               last=("report",))
    stats = run_notebook.execute_all(tmp_path / "out", pages_file=registry, jobs=2)
    assert [stats[name]["side_by_side"] for name in ("first", "second", "report")] == [2, 2, 1]
    a, b, c = (_probe_output(tmp_path / "out" / f"{name}.ipynb") for name in ("first", "second", "report"))
    assert a["start"] < b["end"] and b["start"] < a["end"]  # they overlapped
    assert c["start"] > max(a["end"], b["end"])  # the last page after both, though listed first
    assert a["threads"] == b["threads"] == str(max(1, os.cpu_count() // 2))
    assert "PRELU_ROBUST_THREADS" not in os.environ  # set in the workers only


@pytest.mark.slow
def test_a_failing_page_side_by_side_fails_the_run_and_the_running_page_finishes(tmp_path):
    registry = _probe_registry(tmp_path, [("fails", "{fail: true}"), ("finishes", "{label: b}")])
    with pytest.raises(run_notebook.NotebookFailed, match="asked to fail"):
        run_notebook.execute_all(tmp_path / "out", pages_file=registry, jobs=2)
    assert _probe_output(tmp_path / "out" / "finishes.ipynb")["label"] == "b"
    assert not (tmp_path / "out" / "fails.ipynb").exists()


def test_every_page_is_checked_before_the_first_kernel_starts(tmp_path, no_kernel):
    registry = _probe_registry(tmp_path, [("good", "{label: a}"), ("bad", "{lable: b}")])
    with pytest.raises(run_notebook.ParameterError, match="lable"):
        run_notebook.execute_all(tmp_path / "out", pages_file=registry, jobs=2)
    with pytest.raises(run_notebook.ParameterError, match="jobs=0"):
        run_notebook.execute_all(tmp_path / "out", pages_file=registry, jobs=0)
