"""What the paper-profile synthetic figures cost from scratch, read from the results
store (each entry records its CPU time and machine). Writes benchmarks/reports/RESULTS_FIGURE.md.

    python benchmarks/reruns/figure_cost.py
"""

from __future__ import annotations

import time

from prelu_robust import paths
from prelu_robust.experiments import synthetic

TARGET_CPU_H = 1.0
REFERENCE_CPU_H = 500.0  # the reference code at paper scale on this machine (issue #3, per-unit x count)


def main() -> None:
    out = ["# The whole Section 5.1 figure at the paper's settings: cost from scratch\n",
           f"Read from the store entries' metadata on {time.strftime('%Y-%m-%d %H:%M %Z')} (one torch thread "
           "per run, one process per core). CPU seconds are process time; attacked runs (alpha = 0.01) "
           "include the reference attack, the strong attack and (repeat 0) the ideal classifier's curve. "
           "Other jobs shared the machine at times during the sweeps, so the times are upper bounds; "
           "each kind's fastest run is the best estimate of its uncontended cost.\n"]
    for name, clusters in (("K = 10, K1 = 6", {}), ("K = 20, K1 = 8", {"n_clusters": 20, "n_positive": 8})):
        config = synthetic.resolve_profile("paper", **clusters)[1]  # at the stored precision
        costs = synthetic.stored_costs(config)
        total_runs = len(config.powers) * len(config.alphas) * config.repeats
        stored = sum(len(v) for v in costs.values())
        out.append(f"## {name}: {stored} of {total_runs} runs stored\n")
        out.append("| p | runs | attacked | CPU-s per run (mean, min-max) | CPU-h |\n|---|---|---|---|---|")
        for (p, attacked), values in sorted(costs.items()):
            out.append(f"| {p:g} | {len(values)} | {'yes' if attacked else 'no'} | {sum(values) / len(values):.0f} "
                       f"({min(values):.0f}-{max(values):.0f}) | {sum(values) / 3600:.2f} |")
        cpu_h = sum(sum(v) for v in costs.values()) / 3600
        line = f"\nTotal: **{cpu_h:.3f} CPU-h**"
        if stored == total_runs:
            fastest_h = sum(len(v) * min(v) for v in costs.values()) / 3600
            line += (f" for the whole figure as recorded, {fastest_h:.2f} CPU-h at each kind's fastest run "
                     f"(target {TARGET_CPU_H:g} CPU-h; the reference algorithm ~{REFERENCE_CPU_H:.0f} CPU-h: "
                     f"{REFERENCE_CPU_H / cpu_h:.0f}x as recorded).")
        else:
            line += " so far (the sweep is incomplete)."
        out.append(line + "\n")
    text = "\n".join(out)
    (paths.REPORTS / "RESULTS_FIGURE.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
