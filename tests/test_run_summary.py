"""mlc.run_summary: what the pages say about a run, from a run built without training."""

import numpy as np
import pytest

from mlc import metrics, run_summary
from mlc.config import RunConfig
from mlc.training import Run


def scored_run(config: RunConfig, **fields) -> Run:
    rng = np.random.default_rng(0)
    y = (rng.random((200, config.num_classes)) < 0.4).astype(np.float32)
    p = np.clip(y * 0.7 + rng.random(y.shape) * 0.3, 0, 1).astype(np.float32)
    report = metrics.report(y, p, classes=config.classes)
    defaults = dict(status="finished", device="CPU", epoch_history=[{}] * 3, train_seconds=2.5, samples_seen=5000)
    return Run(config, report=report, **{**defaults, **fields})


@pytest.mark.parametrize("prevalence, rare", [((0.3, 0.05, 0.4), 1), ((0.1, 0.1), 0), ((0.5,), 0)])
def test_rarest_is_the_lowest_prevalence_first_on_ties(prevalence, rare):
    assert run_summary.rarest(prevalence) == rare


def test_rarest_needs_tags():
    with pytest.raises(ValueError, match="one value per tag"):
        run_summary.rarest(())


def test_headlines_are_six_numbers_in_order_from_the_report():
    run = scored_run(RunConfig())
    rep = run.report
    got = run_summary.headlines(run)
    assert [h.label for h in got] == ["mAP", "macro F1", "cat recall", "micro F1", "training time", "samples/s"]
    assert got[0].value == f"{rep['map']:.3f}" and got[1].value == f"{rep['macro_f1']:.3f}"
    assert got[2].value == f"{rep['per_tag'][1]['recall']:.3f}" and got[2].help  # cat is the rarest by default
    assert got[4].value == "2.5 s" and got[5].value == "2,000"
    assert [h.help for h in got[3:]] == [None] * 3


def test_a_soft_label_run_shows_mae_instead_of_micro_f1():
    config = RunConfig(loss="mse", soft_labels=True, classes=("sun", "moon"), prevalence=(0.5, 0.2))
    got = run_summary.headlines(scored_run(config))
    assert got[2].label == "moon recall" and got[3].label == "MAE"


def test_outcome_labels_and_file_names():
    run = scored_run(RunConfig(loss="focal", model="seed_cnn"), number=3)
    assert run_summary.outcome(run) == "Run finished: 3 epochs on CPU."
    assert run_summary.option_label(run) == f"#3 focal · seed_cnn · mAP {run.report['map']:.3f}"
    assert run_summary.file_stem(run) == "run3-focal-seed_cnn"


def test_per_tag_frame_has_one_row_per_tag_and_the_score_columns():
    run = scored_run(RunConfig())
    frame = run_summary.per_tag_frame(run.report)
    assert list(frame.columns) == list(run_summary.PER_TAG_COLUMNS)
    assert list(frame["tag"]) == list(run.config.classes)
    assert set(run_summary.PER_TAG_SCORES) < set(frame.columns)
