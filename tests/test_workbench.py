"""mlc.workbench: strategies fitted on validation and scored on test, calibration frames, error bars."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mlc import calibration, metrics, workbench
from mlc.config import RunConfig
from mlc.runs import Run
from mlc.threshold_strategies import STRATEGIES, score_rule


def made_run(seed=0, *, test=True, sharp=1.0, n=300, config=None, number=1, label_seed=0):
    config = config or RunConfig()
    c = config.num_classes
    labels = np.random.default_rng(label_seed)
    noise = np.random.default_rng(100 + seed)
    prevalence = np.array(config.prevalence)

    def split():
        y = (labels.random((n, c)) < prevalence).astype(np.float32)
        z = (2 * y - 1) + noise.normal(0, 1, (n, c))
        return y, 1 / (1 + np.exp(-sharp * z))

    run = Run(config, status="finished", number=number)
    run.val_labels, run.val_probabilities = split()
    if test:
        run.test_labels, run.test_probabilities = split()
    run.report = {}
    return run


def test_fit_and_score_uses_validation_then_test():
    run = made_run()
    split = workbench.fit_and_score(run)
    assert split.name == "test"
    assert split.p_val is run.val_probabilities or np.array_equal(split.p_val, run.val_probabilities)
    assert np.array_equal(split.p_test, run.test_probabilities)


def test_fit_and_score_without_test_cuts_validation_in_two_disjoint_halves():
    run = made_run(test=False, n=11)
    split = workbench.fit_and_score(run)
    assert split.name == "validation halves"
    assert len(split.y_val) + len(split.y_test) == 11
    rows = {tuple(r) for r in np.concatenate([split.p_val, split.p_test])}
    assert rows == {tuple(r) for r in run.val_probabilities}


def test_fit_and_score_needs_validation():
    run = made_run()
    run.val_labels = None
    with pytest.raises(ValueError, match="no validation predictions"):
        workbench.fit_and_score(run)


def test_strategy_params_fill_defaults_and_check_ranges():
    assert workbench.strategy_params("manual_per_tag", 3) == {"t": [0.5, 0.5, 0.5]}
    with pytest.raises(ValueError, match="t must be a finite number in \\[0, 1\\], got 1.5"):
        workbench.strategy_params("fixed_global", 2, {"t": 1.5})


def test_strategy_summary_is_every_strategy_fitted_on_validation_scored_on_test():
    run = made_run()
    summary = workbench.strategy_summary(run, {"fixed_global": {"t": 0.7}})
    assert list(summary["strategy"]) == list(STRATEGIES)
    for name in ("fixed_global", "per_tag_f1", "uncertain_band"):
        params = {"t": 0.7} if name == "fixed_global" else {}
        rule = STRATEGIES[name].fit(run.val_labels, run.val_probabilities, **params)
        expected = score_rule(run.test_labels, rule, run.test_probabilities)
        row = summary.set_index("strategy").loc[name]
        assert row["micro_f1"] == expected["micro_f1"] and row["coverage"] == expected["coverage"]
    assert summary.set_index("strategy").loc["fixed_global", "coverage"] == 1.0
    assert summary.set_index("strategy").loc["uncertain_band", "unsure"] > 0


def test_strategy_per_tag_has_a_row_per_strategy_and_tag():
    run = made_run()
    table = workbench.strategy_per_tag(workbench.strategy_results(run))
    assert len(table) == len(STRATEGIES) * run.config.num_classes
    assert table.query("strategy == 'top_k'")["threshold"].isna().all()


def test_tuned_gap_is_validation_minus_test_and_shows_a_rare_tag_overfitting():
    # tag 1 is rare: 3 positives on validation, perfectly separated there, but not on test
    y_val = np.zeros((40, 2))
    y_val[:20, 0] = 1
    y_val[:3, 1] = 1
    p_val = np.where(y_val > 0, 0.7, 0.3)
    p_val[:3, 1] = [0.91, 0.92, 0.93]
    y_test = y_val.copy()
    p_test = p_val.copy()
    p_test[:3, 1] = [0.5, 0.6, 0.95]
    run = Run(RunConfig(classes=("a", "b"), prevalence=(0.5, 0.1)), val_labels=y_val, val_probabilities=p_val,
              test_labels=y_test, test_probabilities=p_test)  # fmt: skip
    result = workbench.strategy_results(run)["per_tag_f1"]
    gap = workbench.tuned_gap(result, workbench.positives_per_tag(y_val))
    assert list(gap["validation_positives"]) == [20, 3]
    assert list(gap["gap"]) == pytest.approx(list(gap["validation_f1"] - gap["test_f1"]))
    assert gap.loc[0, "gap"] == 0 and gap.loc[1, "validation_f1"] == 1.0 and gap.loc[1, "gap"] > 0.4


def test_calibrated_run_scales_test_and_validation_and_leaves_the_run_alone():
    run = made_run(sharp=3.0)
    before = run.test_probabilities.copy()
    cal = workbench.calibrated_run(run)
    temps = calibration.fit_temperature(run.val_labels, run.val_probabilities)
    assert np.allclose(cal.test_probabilities, calibration.apply_temperature(before, temps))
    assert np.allclose(cal.val_probabilities, calibration.apply_temperature(run.val_probabilities, temps))
    assert np.array_equal(run.test_probabilities, before) and cal.id != run.id
    assert (
        calibration.log_loss(cal.test_labels, cal.test_probabilities).mean()
        < calibration.log_loss(run.test_labels, before).mean()
    )


def test_calibrated_run_without_test_keeps_only_the_scored_half():
    run = made_run(test=False, n=10)
    cal = workbench.calibrated_run(run)
    assert len(cal.val_labels) == 5 and cal.test_labels is None


def test_calibration_table_before_after_and_platt():
    run = made_run(sharp=3.0)
    table = workbench.calibration_table(run, bins=10, platt=True)
    temps = calibration.fit_temperature(run.val_labels, run.val_probabilities)
    assert list(table["temperature"]) == pytest.approx(temps.round(3).tolist())
    assert list(table["ece"]) == calibration.ece(run.test_labels, run.test_probabilities, 10).per_tag.tolist()
    # over-confident: the temperature (fitted on validation) lowers the test log loss; Platt (with a bias) the ECE
    assert (table["log_loss_temperature"] < table["log_loss"]).all()
    assert table["ece_platt"].mean() < table["ece"].mean()
    assert {"ece_platt", "brier_platt", "log_loss_platt"} <= set(table.columns)


def test_reliability_frame_counts_every_test_image_once_per_series():
    run = made_run()
    frame = workbench.reliability_frame(run, bins=5)
    counts = frame.groupby(["tag", "scores"])["count"].sum()
    assert (counts == len(run.test_labels)).all() and len(counts) == 2 * run.config.num_classes
    assert (frame["count"] > 0).all() and (frame["bin_high"] - frame["bin_low"]).round(6).eq(0.2).all()


def test_threshold_shift_matches_lipton_rows_before_and_after():
    run = made_run()
    shift = workbench.threshold_shift(run)
    raw = calibration.f1_threshold_vs_half_best_f1(run.test_labels, run.test_probabilities, run.config.classes)
    assert list(shift["threshold"]) == [r["threshold"] for r in raw]
    assert list(shift["difference"]) == [r["difference"] for r in raw]
    assert "threshold_calibrated" in shift


def test_loss_calibration_one_row_per_run_and_same_data_runs():
    a, b = made_run(0), made_run(1, config=RunConfig(loss="focal"), number=2)
    other = made_run(2, config=RunConfig(dataset="digits", model="linear"), number=3)
    peers = workbench.same_data_runs([a, b, other], b)
    assert peers == [b, a]
    table = workbench.loss_calibration(peers)
    assert list(table["loss"]) == ["focal", "bce"]
    per_tag = table[[c for c in table.columns if c.startswith("ece ")]]
    assert list(table["mean_ece"]) == pytest.approx(per_tag.mean(axis=1).round(4).tolist(), abs=1e-4)


def test_interval_helpers():
    run = made_run()
    ci = workbench.intervals(run.test_labels, run.test_probabilities, 0.5, run.config.classes, n=200)
    assert ci["n"] == 200
    table = workbench.per_tag_intervals(ci)
    assert list(table.columns) == ["tag"] + [f"{m}_{e}" for m in ("precision", "recall", "ap") for e in ("low", "high")]
    assert workbench.interval_text({"value": 0.5, "low": 0.4, "high": 0.6}) == "0.500 [0.400, 0.600]"
    text = workbench.per_tag_interval_text(ci)
    assert list(text.columns) == ["tag", "precision 95 %", "recall 95 %", "AP 95 %"]
    r = ci["per_tag"][0]["recall"]
    assert text.loc[0, "recall 95 %"] == f"[{r['low']:.3f}, {r['high']:.3f}]"


def test_paired_rows_say_a_run_against_itself_is_within_noise():
    a = made_run()
    twin = dataclasses.replace(a, number=2)
    rows = workbench.paired_rows([a, twin], [0.5, 0.5])
    assert set(rows["verdict"]) == {"within noise"} and (rows["difference"] == 0).all()
    assert list(rows["metric"])[:3] == ["mAP", "macro F1", "micro F1"]
    assert sum("(rarest tag)" in m for m in rows["metric"]) == 3


def test_paired_rows_see_a_real_difference_and_refuse_other_images():
    a = made_run(sharp=1.0)
    better = dataclasses.replace(a, number=2, test_probabilities=np.clip(a.test_labels * 0.8 + 0.1, 0, 1))
    rows = workbench.paired_rows([a, better], [0.5, 0.5]).set_index("metric")
    assert rows.loc["macro F1", "verdict"] == "beyond noise" and rows.loc["macro F1", "difference"] > 0
    other = made_run(3, label_seed=9, number=3)
    assert list(workbench.paired_rows([a, other], [0.5, 0.5])["verdict"]) == ["not paired: different test images"]


def test_seed_groups_and_their_mean_and_sd():
    runs = [made_run(s, config=RunConfig(seed=s), number=s + 1) for s in range(3)]
    runs.append(made_run(9, config=RunConfig(loss="focal"), number=4))
    assert [len(g) for g in workbench.seed_groups(runs)] == [3]
    table = workbench.seed_table(runs, [0.5] * 4)
    maps = [metrics.report(r.test_labels, r.test_probabilities, 0.5)["map"] for r in runs[:3]]
    row = table.set_index("metric").loc["mAP"]
    assert row["mean ± sd across seeds"] == f"{np.mean(maps):.3f} ± {np.std(maps, ddof=1):.3f}"
    assert row["seeds"] == "0, 1, 2" and row["bootstrap 95 % (first run)"].startswith(f"{maps[0]:.3f} [")
    assert workbench.seed_table(runs[3:], [0.5]).empty and isinstance(table, pd.DataFrame)
