# Two entry points on a fresh machine (Python 3.11, make, npm):
#   make book   set up, execute every notebook with papermill, build the HTML book strictly
#   make test   set up, run the test suite (unit tests, notebooks at the ci profile, strict build)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MATHJAX_VERSION := 3.2.2
MATHJAX := _vendor/mathjax/tex-chtml.js
PLOTLY_JS := _vendor/plotly/plotly.min.js
# Pages executed side by side by `make book`, and test processes of `make test` (pytest-xdist;
# a test file stays in one process, so the book's end-to-end test runs beside the others).
JOBS ?= 2

# Progress bars update at most every 30 s: readable CI logs, still alive.
export TQDM_MININTERVAL ?= 30
export PYTHONUNBUFFERED := 1

.PHONY: book test notebooks html setup mathjax plotly clean benchmark

book: setup mathjax plotly notebooks html
	@echo "Book built: _build/html/index.html"

test: setup mathjax plotly
	$(BIN)/python -m pytest --numprocesses $(JOBS) --dist loadfile --no-loadscope-reorder

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

mathjax: $(MATHJAX)

# MathJax 3 from the npm registry, vendored so the book renders math offline.
$(MATHJAX):
	rm -rf _vendor/mathjax .mathjax-tmp && mkdir -p .mathjax-tmp _vendor
	cd .mathjax-tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && tar xzf mathjax-$(MATHJAX_VERSION).tgz
	mv .mathjax-tmp/package/es5 _vendor/mathjax && rm -rf .mathjax-tmp

plotly: $(PLOTLY_JS)

# plotly.js from the pinned plotly package, vendored so the sweep pages' figures render offline.
$(PLOTLY_JS): $(VENV)/.installed
	mkdir -p $(dir $@)
	$(BIN)/python -c "import shutil, sys; from prelu_robust.interactive import plotly_js_source; shutil.copy(plotly_js_source(), sys.argv[1])" $@

# Pages come from the registry notebooks/pages.yml (which also writes _toc.yml); each notebook picks its profile (paper if stored, else ci).
notebooks: setup
	$(BIN)/python -m prelu_robust.run_notebook all --out executed --jobs $(JOBS)

html: setup mathjax plotly
	$(BIN)/python -m prelu_robust.pages
	$(BIN)/jupyter-book build . --warningiserror --keep-going

# Several CPU-hours: the rerun scripts recompute runs of every kind from scratch.
benchmark: setup
	$(BIN)/python benchmarks/bench/bench_synthetic.py
	$(BIN)/python benchmarks/bench/bench_mnist.py
	$(BIN)/python benchmarks/reruns/figure_cost.py
	$(BIN)/python benchmarks/reruns/figure_rerun.py 10
	$(BIN)/python benchmarks/reruns/figure_rerun.py 20
	$(BIN)/python benchmarks/reruns/mnist_rerun.py 2
	$(BIN)/python benchmarks/reruns/mnist_rerun.py 10
	$(BIN)/python benchmarks/reruns/alignment_rerun.py
	$(BIN)/python benchmarks/bench/mnist_floor.py

clean:
	rm -rf _build executed
