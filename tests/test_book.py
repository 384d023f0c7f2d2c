"""End to end: every page executes at the ci profile from scratch, and the book
builds strictly from the executed notebooks. Minutes, not seconds."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prelu_robust import pages
from prelu_robust.store import committed_store

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def driver(*args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "prelu_robust.run_notebook", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    book = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, book / name)
    shutil.copytree(ROOT / "book", book / "book")
    for folder in ("_ext", "_vendor"):
        shutil.copytree(ROOT / folder, book / folder)
    # from scratch, but for the shipped sweeps' committed results, which their pages read
    shutil.copytree(committed_store("sweep").root, book / "results" / "sweep")
    env = {**os.environ, "PRELU_ROBUST_RESULTS": str(book / "results")}
    # two pages at a time, as `make book` executes them
    run = driver("all", "--out", str(book / "executed"), "--profile", "ci", "--jobs", "2", env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (book / "driver.log").write_text(run.stderr)
    build = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(book),
                            "--warningiserror", "--keep-going"], capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-5000:] + build.stderr[-3000:]
    return book / "_build" / "html"


def test_every_page_of_the_registry_is_built(built_book):
    assert (built_book / "index.html").is_file()
    for page in pages.load().files:
        assert (built_book / f"{page}.html").is_file(), page


def test_the_driver_records_each_page_profile_from_its_results(built_book):
    stats = json.loads((built_book.parents[1] / "executed" / "execution.json").read_text())
    assert set(stats) == set(pages.load().notebook_pages())
    for name in ("synthetic_gmm", "synthetic_gmm_k20", "mnist_parity", "mnist_digits"):
        assert stats[name]["profile"] == "ci" and stats[name]["side_by_side"] == 2, name
    assert stats["reproducibility"]["side_by_side"] == 1  # after the others: it reports their times


def test_the_terminal_shows_one_line_per_run_and_the_pages_no_progress_bars(built_book):
    log = (built_book.parents[1] / "driver.log").read_text().splitlines()
    synthetic = [line for line in log if line.startswith("[synthetic-run ")]
    assert synthetic and all(": computed in " in line or line.endswith(": loaded") for line in synthetic)
    assert any(line.startswith("[mnist-run ") for line in log) and any(line.startswith("[alignment ") for line in log)
    assert "[synthetic-run 1/" in log[log.index(synthetic[0])] and "p=" in synthetic[0]
    for page in pages.load().notebook_pages():
        saved = (built_book.parents[1] / "executed" / f"{page}.ipynb").read_text()
        assert "it/s]" not in saved and "s/it]" not in saved and "IProgress" not in saved, page


def test_figure_pages_state_their_profile_and_show_the_figure(built_book):
    for page, title, marker in (("synthetic_gmm", "Synthetic data", "MV25"), ("synthetic_gmm_k20", "K = 20", "MV25"),
                                ("mnist_parity", "MNIST parity", "stable rank"),
                                ("mnist_digits", "ten classes", "Table 1")):
        html = (built_book / "executed" / f"{page}.html").read_text()
        assert "Produced with the <strong>ci</strong> profile" in html
        assert title in html and "<img" in html and marker in html


def test_alignment_page_shows_snapshots_phases_and_animation(built_book):
    html = (built_book / "executed" / "neuron_alignment.html").read_text()
    assert html.count("<img") >= 2 and "animation" in html.lower() and "max angle" in html


def test_reproducibility_page_reports_execution_times(built_book):
    html = (built_book / "executed" / "reproducibility.html").read_text()
    assert "synthetic_gmm_k20" in html and "torch" in html


def test_math_is_rendered_offline_in_a_real_browser(built_book):
    assert (ROOT / "_vendor" / "mathjax" / "tex-chtml.js").is_file(), \
        "the vendored MathJax is missing: run `make mathjax` (make test does it first)"
    dom = headless_dom(built_book / "book" / "theory.html", "--host-resolver-rules=MAP * ~NOTFOUND")
    assert "mjx-container" in dom  # MathJax typeset the equations from the vendored copy


def headless_dom(page: Path, *flags: str) -> str:
    """The DOM of ``page`` after its scripts ran in headless chromium (skips without one)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium here; .ci/run installs it")
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--no-first-run", "--virtual-time-budget=15000", *flags,
                           "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout


def test_the_sweep_pages_draw_their_interactive_figures_offline_and_offer_their_table(built_book):
    assert (ROOT / "_vendor" / "plotly" / "plotly.min.js").is_file(), \
        "the vendored plotly.js is missing: run `make plotly` (make test does it first)"
    for name in ("sweep_p_knob", "sweep_n_clusters", "sweep_init_scale"):
        page = built_book / "executed" / f"{name}.html"
        html = page.read_text()
        assert html.count("<img") >= 2 and "breaking radius" in html
        # every script and stylesheet is the book's own: nothing is fetched from the network
        assert "cdn.plot.ly" not in html and 'src="http' not in html and "plotly/plotly.min.js" in html
        csv_link = next(line for line in html.splitlines() if ".csv" in line and "download" in line)
        target = csv_link.split('href="', 1)[1].split('"', 1)[0]
        assert (page.parent / target).is_file() and (page.parent / target).read_text().startswith("point,kind,")
        # with every host unresolvable, plotly.js still draws both figures and their sliders
        dom = headless_dom(page, "--host-resolver-rules=MAP * ~NOTFOUND")
        assert dom.count('class="main-svg"') >= 2 and dom.count("slider-container") >= 2, name


def test_a_page_loads_one_mathjax_and_plotly_js_only_where_it_draws_with_it(built_book):
    scripts = lambda page: [line for line in (built_book / page).read_text().split("<script")[1:] if 'src="' in line]
    for page in ("book/theory.html", "executed/synthetic_gmm.html", "executed/sweep_p_knob.html"):
        assert sum("_static/mathjax/" in s for s in scripts(page)) == 1, page
    assert not any("plotly" in s for s in scripts("executed/synthetic_gmm.html"))
    assert sum("_static/plotly/plotly.min.js" in s for s in scripts("executed/sweep_p_knob.html")) == 1


def test_an_unknown_notebook_parameter_is_refused_with_the_known_ones(tmp_path):
    run = driver("one", "notebooks/synthetic_gmm.py", str(tmp_path / "out.ipynb"), "-p", "epoch", "3")
    assert run.returncode == 2
    assert "'epoch'" in run.stderr and "epochs" in run.stderr


def test_a_failing_notebook_fails_the_run_and_keeps_the_previous_page(tmp_path):
    """Parameters that pass the checks but fail in the kernel (an unreadable record of
    execution times): one message naming the cell and the error, the previous page untouched."""
    (tmp_path / "execution.json").write_text("{not json")
    (tmp_path / "out.ipynb").write_text("the previous good page")
    run = driver("one", "book/reproducibility.py", str(tmp_path / "out.ipynb"), "-p", "executed_dir", str(tmp_path))
    assert run.returncode == 1
    assert "reproducibility.py failed in cell" in run.stderr and "JSONDecodeError" in run.stderr, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert (tmp_path / "out.ipynb").read_text() == "the previous good page"


def test_a_page_removed_from_the_list_leaves_nothing_behind(tmp_path):
    """Its executed notebook would fail the strict build (outside the table of contents)
    and its time would still be reported on the reproducibility page."""
    from prelu_robust.run_notebook import execute_all

    out = tmp_path / "executed"
    out.mkdir()
    (out / "removed_page.ipynb").write_text("{}")
    (out / "execution.json").write_text('{"removed_page": {"seconds": 1}}')
    registry = tmp_path / "pages.yml"
    registry.write_text("root: book/intro\nparts:\n  - caption: Reproduction\n    pages:\n"
                        "      - name: reproducibility\n        notebook: book/reproducibility.py\n")
    (out / "someone_elses.ipynb").write_text("{}")  # not written by the driver: kept
    stats = execute_all(out, pages_file=registry)
    assert list(stats) == ["reproducibility"]
    assert sorted(p.name for p in out.glob("*.ipynb")) == ["reproducibility.ipynb", "someone_elses.ipynb"]
