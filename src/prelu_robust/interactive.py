"""Interactive figures of the sweep pages: plotly, rendered offline.

The pages embed each figure as HTML that calls ``Plotly.newPlot``; plotly.js itself is
vendored from the installed plotly package into ``_vendor/plotly/`` (``make plotly``) and
loaded by the book on the pages that call it (``_ext/vendored.py``), so no request leaves
the page. A slider steps
through the swept parameter's values.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go
from IPython.display import HTML
from matplotlib.colors import to_rgb
from plotly.subplots import make_subplots

from .plots import color_of
from .experiments.synthetic import VARIANTS_KIND
from .sweep_results import SweepResults

__all__ = ["plotly_js_source", "embed", "robust_slider_figure", "alignment_slider_figure"]

def plotly_js_source() -> Path:
    """The plotly.js bundle of the installed plotly package (what ``make plotly`` vendors)."""
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def embed(fig: go.Figure) -> HTML:
    """The figure as HTML for a page whose plotly.js the book loads (no CDN, no require.js)."""
    return HTML(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True}))


def _rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(255 * c) for c in to_rgb(colour))
    return f"rgba({r},{g},{b},{alpha})"


def _slider(r: SweepResults, steps: list[dict], prefix: str) -> list[dict]:
    return [dict(active=0, currentvalue=dict(prefix=prefix), pad=dict(t=40), steps=steps)]


def robust_slider_figure(r: SweepResults) -> go.Figure:
    """Robust accuracy against the l2 radius at one point of the sweep at a time (the
    slider): per exponent the strongest attack (mean line, min-max band over repeats) and
    the attack as written (dashed), with 1/sqrt(K) and sqrt(2)/2 marked."""
    t = r.table[r.table["kind"] == VARIANTS_KIND]
    fig, owner = go.Figure(), []
    for point in range(len(r.values)):
        runs = t[t["point"] == point]
        for p in sorted(runs["p"].unique()):
            one = runs[runs["p"] == p]
            strong = one.pivot_table(index="repeat", columns="eps", values="robust_strong")
            written = one.pivot_table(index="repeat", columns="eps", values="robust_as_written")
            eps, colour = strong.columns.to_numpy(), _rgba(color_of(p), 1.0)
            fig.add_trace(go.Scatter(x=np.r_[eps, eps[::-1]], y=np.r_[strong.max(axis=0), strong.min(axis=0)[::-1]],
                                     fill="toself", fillcolor=_rgba(color_of(p), 0.2), line=dict(width=0),
                                     hoverinfo="skip", showlegend=False, visible=point == 0))
            fig.add_trace(go.Scatter(x=eps, y=strong.mean(axis=0), mode="lines+markers", line=dict(color=colour),
                                     name=f"p = {p:g}, strong", visible=point == 0))
            fig.add_trace(go.Scatter(x=eps, y=written.mean(axis=0), mode="lines", line=dict(color=colour, dash="dash"),
                                     name=f"p = {p:g}, as written", visible=point == 0))
            owner += [point] * 3
    steps = []
    for point, value in enumerate(r.values):
        k = int(r.clusters[point, 0])
        shapes = [dict(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line=dict(color="black", dash="dot", width=1))
                  for x in (1 / math.sqrt(k), math.sqrt(2) / 2)]
        notes = [dict(x=x, y=0.02, yref="paper", text=text, showarrow=False, xanchor="left")
                 for x, text in ((1 / math.sqrt(k), f" 1/√K (K = {k})"), (math.sqrt(2) / 2, " √2/2"))]
        steps.append(dict(method="update", label=f"{value:g}",
                          args=[{"visible": [o == point for o in owner]}, {"shapes": shapes, "annotations": notes}]))
    fig.update_layout(sliders=_slider(r, steps, f"{r.axis_name} = "), shapes=steps[0]["args"][1]["shapes"],
                      annotations=steps[0]["args"][1]["annotations"], height=480, template="plotly_white",
                      xaxis_title="l2 radius ε", yaxis_title="robust accuracy", yaxis_range=[-0.02, 1.02],
                      title="Robust accuracy at one point of the sweep (slider)", legend=dict(x=1.02, y=1))
    return fig


def alignment_slider_figure(r: SweepResults) -> go.Figure:
    """The cosines of repeat 0's dominant neurons (rows, largest contribution first) with
    mu_+, mu_- and the centres mu_1..mu_K (columns), one heatmap per exponent, at one point
    of the sweep at a time (the slider)."""
    groups = [None] if r.axis == "powers" else r.powers
    fig = make_subplots(1, len(groups), subplot_titles=[("" if p is None else f"p = {p:g}") for p in groups],
                        horizontal_spacing=0.08)
    owner = []
    for point in range(len(r.values)):
        k = int(r.clusters[point, 0])
        columns = ["μ+", "μ-", *[f"μ{j + 1}" for j in range(k)]]
        for col, p in enumerate(groups, 1):
            key = (point, r.values[point] if p is None else p)
            if key not in r.cosines:
                continue
            z = r.cosines[key]
            fig.add_trace(go.Heatmap(z=z, x=columns, y=list(range(1, len(z) + 1)), zmin=-1, zmax=1,
                                     colorscale="RdBu", reversescale=True, showscale=col == len(groups),
                                     colorbar=dict(title="cosine"), visible=point == 0,
                                     hovertemplate="neuron %{y}, %{x}: %{z:.3f}<extra></extra>"), 1, col)
            owner.append(point)
    steps = [dict(method="update", label=f"{value:g}", args=[{"visible": [o == point for o in owner]}])
             for point, value in enumerate(r.values)]
    fig.update_yaxes(autorange="reversed", title_text="dominant neuron (by contribution)", col=1)
    fig.update_layout(sliders=_slider(r, steps, f"{r.axis_name} = "), height=520, template="plotly_white",
                      title="Cosines of the dominant neurons with the class averages and the centres (slider)")
    return fig
