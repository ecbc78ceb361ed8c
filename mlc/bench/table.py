"""The Markdown table of a benchmark run (what ``mlc bench`` prints and the README quotes)."""

from __future__ import annotations

from mlc.bench.pool import pool_rows
from mlc.bench.realdata import realdata_rows
from mlc.bench.saliency import saliency_rows
from mlc.bench.training import TARGET_MAP
from mlc.bench.ttq import ttq_rows


def format_table(results: dict) -> str:
    lines = ["| measurement | reference / baseline | mlc | ratio / target |", "|---|---|---|---|"]
    if "data" in results:
        d = results["data"]
        lines.append(
            f"| scene generation 64×64, images/s (hard labels) | — | {d['hard']['images_per_s']:,.0f} | target ≥ 10,000 |"  # noqa: E501
        )
        lines.append(
            f"| scene generation 64×64, images/s (soft labels) | — | {d['soft']['images_per_s']:,.0f} | target ≥ 5,000 |"  # noqa: E501
        )
    if "throughput" in results:
        t = results["throughput"]
        lines.append(
            f"| training samples/s, seed_cnn, batch 32 | {t['recipe_samples_per_s']:,.0f} | {t['mlc_samples_per_s']:,.0f} "  # noqa: E501
            f"| {t['ratio']:.2f}× (target ≥ 1.2×) |"
        )
        lines.append(
            f"| achieved GFLOP/s ({t['flops_per_sample'] / 1e6:.0f} MFLOP/sample) | {t['recipe_gflops']:.1f} | {t['mlc_gflops']:.1f} "  # noqa: E501
            f"| matmul ceiling {t['matmul_gflops']:.0f} GFLOP/s |"
        )
    if "time_to_quality" in results:
        q = results["time_to_quality"]

        def cell(side):
            s = q[side]
            if s["seconds_median"] is None:
                return f"not reached in {s['budget']:.0f} s (best mAP {s['best_map_median']:.3f}; {s['reached']}/{s['runs']} runs reached)"  # noqa: E501
            return f"{s['seconds_median']:.1f} s"

        lines.append(
            f"| time to macro mAP ≥ {TARGET_MAP} (training s, 1,000 val) | {cell('recipe')} | {cell('mlc')} | {q['speedup_text']} (target ≥ 4×, ≤ 30 s) |"  # noqa: E501
        )
    if "ttq" in results:
        lines += ttq_rows(results["ttq"])
    if "live" in results:
        v = results["live"]
        lines.append(
            f"| training samples/s: headless engine vs Train page job + 1 s chart ticks | {v['headless_samples_per_s']:,.0f} "  # noqa: E501
            f"| {v['live_samples_per_s']:,.0f} | cost {100 * v['cost']:.1f} % of medians, {100 * v['paired_cost_median']:.1f} % "  # noqa: E501
            f"median of pairs (target ≤ 10 %) |"
        )
        w = v.get("windows")
        if w and w["cost_median"] is not None:
            lines.append(
                f"| step rate within one run: {w['window_s']:.0f} s windows with vs without page ticks "
                f"(tick {w['tick_ms_median']:.0f} ms) | — | — | cost {100 * w['cost_median']:.1f} % median of {w['pairs']} "  # noqa: E501
                f"adjacent pairs (target ≤ 10 %) |"
            )
    if "predict" in results:
        for model_name, rows in results["predict"]["models"].items():
            for file_name, r in rows.items():
                keras_ms = r.get("keras_predict_ms")
                ratio = f"{keras_ms / r['app_ms']:.1f}× faster; " if keras_ms else ""
                lines.append(
                    f"| prediction latency, {model_name}, {file_name}{' (decode + model)' if keras_ms else ''}, ms | "
                    f"{'' if keras_ms is None else f'{keras_ms:.1f} (model.predict)'} | {r['app_ms']:.1f} "
                    f"| {ratio}target ≤ 50 ms |"
                )
    if "memory" in results:
        m = results["memory"]
        lines.append(
            f"| peak RSS of `{m['command']}` (default run) | importing TensorFlow + mlc alone: {m['import_rss_mib']:,.0f} MiB "  # noqa: E501
            f"| {m['peak_rss_mib']:,.0f} MiB | run's own share ≈ {m['peak_rss_mib'] - m['import_rss_mib']:,.0f} MiB |"
        )
    if "weighting" in results:
        w = results["weighting"]
        for name, row in w["modes"].items():
            lines.append(
                f"| rare tag `{w['rare_tag']}` ({w['rare_positives']} val positives), {name} | recall@0.5 {row['recall']:.3f} "  # noqa: E501
                f"| precision {row['precision']:.3f}, AP {row['average_precision']:.3f} | mAP {row['map']:.3f} |"
            )
    if "pool" in results:
        lines.extend(pool_rows(results["pool"]))
    lines.extend(realdata_rows(results))
    if "microscope" in results:
        m = results["microscope"]
        cost = m["cost"]
        reading = " (negative: faster with it, i.e. no cost beyond noise)" if cost < 0 else ""
        lines.append(
            f"| gradient microscope's cost, training samples/s ({m['train_size']:,} images × {m['epochs']} epochs, "
            f"{m['runs_each']} runs each, alternating) | off: {m['samples_per_s']['off']:,.0f}; whole run "
            f"{m['wall_seconds']['off']:.1f} s | on: {m['samples_per_s']['on']:,.0f}; whole run "
            f"{m['wall_seconds']['on']:.1f} s | {100 * cost:+.1f} %{reading} (target ≤ 5 %) |"
        )
    lines.extend(saliency_rows(results))
    return "\n".join(lines)
