"""What the Caltech-256 page's offline stand-in costs, from what its computation recorded
in the committed store: the features (once; the CPU seconds the extraction took) and the
20 probes (CPU seconds per run, with each run's training and attack wall time). Writes
benchmarks/reports/RESULTS_CALTECH_COST.md.

    python benchmarks/bench/caltech_cost.py

Nothing is recomputed: the numbers are those of the machine that computed the committed
entries (its CPU is recorded with them).
"""

from __future__ import annotations

from prelu_robust import paths
from prelu_robust.device import cpu_description
from prelu_robust.experiments import caltech
from prelu_robust.store import committed_store, git_revision

STANDIN = dict(dataset="digits_garments", backbone="efficientnet_lite2")


def main() -> None:
    store = committed_store()
    profile, config = caltech.resolve_profile("paper", store, **STANDIN)
    summary = store.load(caltech.FEATURES_KIND, caltech.FeatureSummary(config).settings())
    feature_cpu, described = (float(summary["features_cpu_s"]), str(summary["images"])) if summary else (float("nan"), "?")
    n = config.n_images
    rows, total_cpu = [], 0.0
    for one in config.runs():
        if not store.has(caltech.KIND, one.settings()):
            rows.append(f"| {one.p:g} | {one.repeat} | not stored | | |")
            continue
        meta, arrays = store.meta(caltech.KIND, one.settings()), store.load(caltech.KIND, one.settings())
        total_cpu += float(meta["cpu_s"])
        rows.append(f"| {one.p:g} | {one.repeat} | {meta['cpu_s']:.0f} | {float(arrays['train_seconds']):.0f} | "
                    f"{float(arrays['attack_seconds']):.0f} |")
    lines = [
        "# The Caltech-256 page's stand-in: what it costs",
        "",
        f"Profile {profile}: {described}; backbone {config.backbone}; {len(config.runs())} runs "
        f"(p in {list(config.powers)} x {config.repeats} repeats), {config.epochs} epochs, width {config.width}, "
        f"first-layer products in {config.product_dtype}.",
        f"Entries computed on: {store.meta(caltech.KIND, config.runs()[0].settings()).get('cpu', '?')} "
        f"(one torch thread per worker); this report written on {cpu_description()}, revision {git_revision()}.",
        "",
        f"- Features, once: {feature_cpu:.0f} CPU-s for {n} images ({feature_cpu / n:.3f} CPU-s an image, "
        f"224 x 224, float32).",
        f"- The runs: {total_cpu:.0f} CPU-s in all ({total_cpu / 3600:.2f} CPU-h), "
        f"{total_cpu / max(1, len(config.runs())):.0f} CPU-s a run.",
        "",
        "| p | repeat | CPU-s | training, wall s | attacks, wall s |",
        "|---|---|---|---|---|",
        *rows,
    ]
    out = paths.REPORTS / "RESULTS_CALTECH_COST.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
