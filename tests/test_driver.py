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
