# ruff: noqa: E501 (the recorded table is kept line for line as mlc bench prints it)
"""Tests for :mod:`mlc.bench` (the suite behind ``mlc bench``): the table, the runner, the probes.

Each part's real measurement runs once in ``-m slow`` (CI); the quick loop checks
the cheap pieces and that the table is unchanged for the recorded run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mlc import bench
from mlc.bench import live, memory

ROOT = Path(__file__).resolve().parents[1]
LAST_RUN = ROOT / "benchmarks" / "last-run.json"

# format_table(benchmarks/last-run.json) as it printed before the suite moved from
# benchmarks/core.py into mlc/bench (the README quotes this table).
RECORDED_TABLE = [
    "| measurement | reference / baseline | mlc | ratio / target |",
    "|---|---|---|---|",
    "| scene generation 64×64, images/s (hard labels) | — | 28,977 | target ≥ 10,000 |",
    "| scene generation 64×64, images/s (soft labels) | — | 27,085 | target ≥ 5,000 |",
    "| training samples/s, seed_cnn, batch 32 | 663 | 807 | 1.22× (target ≥ 1.2×) |",
    "| achieved GFLOP/s (123 MFLOP/sample) | 81.3 | 98.9 | matmul ceiling 420 GFLOP/s |",
    "| time to macro mAP ≥ 0.95 (training s, 1,000 val) | not reached in 240 s (best mAP 0.887; 0/3 runs reached) | 10.8 s | > 22.3x (recipe did not reach mAP 0.95 in 240s) (target ≥ 4×, ≤ 30 s) |",
    "| time to mAP ≥ 0.95, 2026-12-01 default (compact, 8 × 8,000, batch 64) | 21.3 s at 304 GFLOP/s matmul (5/5 reached) | 6,493 GFLOP-eq; whole run 55.4 s, final mAP 0.978 | — |",
    "| time to mAP ≥ 0.95, default (lean, 6 × 8,000, batch 64) | 11.4 s at 321 GFLOP/s matmul (4/5 reached) | 3,722 GFLOP-eq; whole run 22.2 s, final mAP 0.966 | — |",
    "| time to mAP ≥ 0.95 in GFLOP-eq, new / old default (median of seed pairs) | — | — | 0.59× (target ≤ 0.5×); whole run 0.39× |",
    "| training samples/s: headless engine vs Train page job + 1 s chart ticks | 1,895 | 1,706 | cost 10.0 % of medians, 10.6 % median of pairs (target ≤ 10 %) |",
    "| step rate within one run: 3 s windows with vs without page ticks (tick 191 ms) | — | — | cost -1.3 % median of 10 adjacent pairs (target ≤ 10 %) |",
    "| prediction latency, seed_cnn, scene PNG 64×64 (decode + model), ms | 42.9 (model.predict) | 5.9 | 7.3× faster; target ≤ 50 ms |",
    "| prediction latency, seed_cnn, photo JPEG 1600×1200 (decode + model), ms | 48.7 (model.predict) | 12.4 | 3.9× faster; target ≤ 50 ms |",
    "| prediction latency, seed_cnn, 24 generated scenes in one call, per image (model only), ms |  | 1.8 | target ≤ 50 ms |",
    "| prediction latency, compact, scene PNG 64×64 (decode + model), ms | 42.5 (model.predict) | 6.3 | 6.8× faster; target ≤ 50 ms |",
    "| prediction latency, compact, photo JPEG 1600×1200 (decode + model), ms | 47.9 (model.predict) | 13.0 | 3.7× faster; target ≤ 50 ms |",
    "| prediction latency, compact, 24 generated scenes in one call, per image (model only), ms |  | 0.5 | target ≤ 50 ms |",
    "| peak RSS of `python -m mlc train --json` (default run) | importing TensorFlow + mlc alone: 662 MiB | 1,285 MiB | run's own share ≈ 622 MiB |",
    "| rare tag `cat` (205 val positives), bce | recall@0.5 0.654 | precision 0.985, AP 0.851 | mAP 0.969 |",
    "| rare tag `cat` (205 val positives), weighted_bce tag (inverse frequency) | recall@0.5 0.741 | precision 0.981, AP 0.923 | mAP 0.983 |",
    "| rare tag `cat` (205 val positives), weighted_bce positive ((1-p)/p) | recall@0.5 0.824 | precision 0.923, AP 0.907 | mAP 0.980 |",
    "| own-images import: 1,000 JPEGs of 1600 px (202.7 MB zip), decode + resize to 64 px | 54 images/s (plain Pillow loop) | 312 images/s (mlc.imagesets) | 5.81× faster |",
    "| digits: time to test mAP ≥ 0.9, lean | 21.6 s at 255 GFLOP/s matmul (3/3 reached) | 5,458 GFLOP-eq; final test mAP 0.946 | — |",
    "| digits: time to test mAP ≥ 0.9, compact | 24.3 s at 275 GFLOP/s matmul (3/3 reached) | 6,663 GFLOP-eq; final test mAP 0.963 | — |",
    "| peak memory, `mlc train --data` on 5,000 own images (7.4 MB zip), 1 epoch | 1152 MiB (scenes, same split sizes) | 1208 MiB | 1.05× |",
    "| gradient microscope's cost, training samples/s (4,000 images × 2 epochs, 5 runs each, alternating) | off: 1,093; whole run 7.8 s | on: 1,196; whole run 7.2 s | -9.4 % (negative: faster with it, i.e. no cost beyond noise) (target ≤ 5 %) |",
]


# ---------------------------------------------------------------- the table
def test_the_recorded_run_prints_the_same_table():
    results = json.loads(LAST_RUN.read_text())
    assert bench.format_table(results).splitlines() == RECORDED_TABLE


def test_a_table_shows_only_the_parts_measured():
    results = json.loads(LAST_RUN.read_text())
    only_memory = {"memory": results["memory"]}
    lines = bench.format_table(only_memory).splitlines()
    assert len(lines) == 3 and lines[2].startswith("| peak RSS of `python -m mlc train --json`")


def test_time_to_quality_not_reached_says_so_with_the_best_map():
    side = {"seconds_median": None, "budget": 5.0, "best_map_median": 0.5, "reached": 0, "runs": 1}
    q = {"recipe": side, "mlc": side | {"seconds_median": 4.0, "reached": 1}, "speedup_text": "> 1.2x"}
    (row,) = bench.format_table({"time_to_quality": q}).splitlines()[2:]
    assert "not reached in 5 s (best mAP 0.500; 0/1 runs reached)" in row and "| 4.0 s |" in row


# ---------------------------------------------------------------- the runner
def test_run_measures_the_named_parts_in_order(monkeypatch):
    calls = []
    monkeypatch.setitem(bench.PARTS, "data", lambda quick, repeats: calls.append((quick, repeats)) or {"x": 1})
    seen = []
    results = bench.run(["data"], quick=True, on_part=seen.append)
    assert calls == [(True, 1)] and seen == ["data"]
    assert list(results) == ["quick", "repeats", "machine", "data"]
    assert results["quick"] is True and results["repeats"] == 1 and results["data"] == {"x": 1}


@pytest.mark.parametrize(("quick", "repeats", "expected"), [(False, None, 3), (True, None, 1), (True, 4, 4)])
def test_run_repeats_default_to_three_or_one_when_quick(monkeypatch, quick, repeats, expected):
    monkeypatch.setitem(bench.PARTS, "data", lambda quick, repeats: {"repeats": repeats})
    assert bench.run(["data"], quick=quick, repeats=repeats)["data"] == {"repeats": expected}


def test_run_refuses_an_unknown_part_and_names_the_parts():
    with pytest.raises(ValueError, match="unknown benchmark part.*nope.*choose from data, throughput"):
        bench.run(["nope"])


def test_the_results_are_json():
    results = bench.run(["data"], quick=True)
    again = json.loads(json.dumps(results, default=float))
    assert again["data"]["hard"]["images_per_s"] > 0 and len(again["data"]["soft"]["all"]) == 1


# ---------------------------------------------------------------- the probes
def test_peak_rss_sees_a_child_allocation():
    # 200 MiB touched by the child; the interpreter alone is far less
    script = "import time; b = bytearray(200 * 2**20); time.sleep(0.5)"
    assert memory.peak_rss_mib([sys.executable, "-c", script], {}) > 200


def test_peak_rss_of_a_failing_command_raises():
    with pytest.raises(RuntimeError, match="exited 3"):
        memory.peak_rss_mib([sys.executable, "-c", "raise SystemExit(3)"], {})


@pytest.mark.parametrize(("text", "expected"), [("[runner]\npostScriptGC = false\n", False), ("[server]\n", True)])
def test_post_script_gc_reads_the_app_config(tmp_path, text, expected):
    config = tmp_path / "config.toml"
    config.write_text(text)
    assert live.post_script_gc(config) is expected


def test_post_script_gc_is_the_checkouts_setting_by_default():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert live.post_script_gc() is config.get("runner", {}).get("postScriptGC", True)


def test_flops_of_the_reference_model_are_three_forward_passes():
    model = bench.reference_model(5, 64)
    assert bench.training_flops_per_sample(model) == pytest.approx(
        json.loads(LAST_RUN.read_text())["throughput"]["flops_per_sample"]
    )


# ---------------------------------------------------------------- every part, for real (CI)
@pytest.mark.slow
@pytest.mark.parametrize("part", list(bench.PARTS))
def test_every_part_measures_quick_and_fills_its_rows(part):
    results = bench.run([part], quick=True)
    assert part in results
    json.dumps(results, default=float)
    rows = bench.format_table(results).splitlines()[2:]
    assert rows, f"{part} printed no row"


def test_importing_the_suite_does_not_start_tensorflow():
    """Parts import TensorFlow when they run, so ``import mlc.bench`` (and its table) stays cheap."""
    import subprocess

    script = "import sys, mlc.bench; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.split() == ["False", "False"]


def test_the_microscope_row_reads_a_negative_cost_as_no_cost():
    m = {"train_size": 4000, "epochs": 2, "runs_each": 5, "cost": -0.05}
    m |= {"samples_per_s": {"on": 1050.0, "off": 1000.0}, "wall_seconds": {"on": 7.0, "off": 7.5}}
    (row,) = bench.format_table({"microscope": m}).splitlines()[2:]
    assert "off: 1,000; whole run 7.5 s | on: 1,050; whole run 7.0 s" in row
    assert "-5.0 % (negative: faster with it" in row
    m["cost"] = 0.03
    (row,) = bench.format_table({"microscope": m}).splitlines()[2:]
    assert "+3.0 % (target ≤ 5 %)" in row and "negative" not in row
