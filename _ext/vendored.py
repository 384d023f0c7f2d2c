"""A Sphinx extension of this book: serve the vendored scripts (``_vendor/``: MathJax and
plotly.js, fetched by ``make mathjax`` and ``make plotly``) under ``_static/``, and load
plotly.js on the pages that draw a plotly figure only.

Jupyter Book adds every ``.js`` file of its ``_static`` folder to every page; the vendored
MathJax alone has 70 of them. Added here, after Jupyter Book read its configuration, they
are copied into the build but loaded only where asked for (``mathjax_path``; plotly.js
where a page calls ``Plotly.newPlot``).
"""

from pathlib import Path

#: The vendored scripts' folder, relative to the book's root.
VENDOR = "_vendor"
#: plotly.js, relative to the vendored folder (what ``make plotly`` writes).
PLOTLY_JS = "plotly/plotly.min.js"


def _serve_vendored(app) -> None:
    app.config.html_static_path.append(str(Path(app.srcdir) / VENDOR))


def _plotly_where_drawn(app, pagename, templatename, context, doctree) -> None:
    if doctree is not None and "Plotly.newPlot" in doctree.astext():
        app.add_js_file(PLOTLY_JS)


def setup(app):
    app.connect("builder-inited", _serve_vendored)
    app.connect("html-page-context", _plotly_where_drawn)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
