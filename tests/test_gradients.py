"""mlc.gradients: the split of each tag's |dL/dz| sums to the full gradient of the training loss."""

import math

import numpy as np
import pytest
import tensorflow as tf

from mlc import gradients, losses

C = 4
CLASSES = ("a", "b", "c", "d")

# every registered loss with its defaults, plus the variants the issue names
CASES = [(name, losses.defaults(name, n_tags=C), False) for name in losses.LOSSES]
CASES += [
    ("weighted_bce", {"weights": [1.0, 3.0, 0.5, 9.0], "weighting": "positive"}, False),
    ("weighted_bce", {"weights": [1.0, 3.0, 0.5, 9.0], "weighting": "tag"}, False),
    ("bce", {"smoothing": 0.1}, False),
    ("bce", {"unknown": "ignore"}, True),
    ("bce", {"unknown": "negative"}, True),
    ("zlpr", {}, True),
    ("two_way", {}, True),
    ("focal", {"gamma": 2.0, "alpha": 0.25}, False),
]


def _batch(unknown: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random((16, C)) < 0.3).astype(np.float32)
    if unknown:
        y[rng.random((16, C)) < 0.25] = -1.0
    z = rng.normal(0, 3, (16, C)).astype(np.float32)
    return y, z


def test_every_registered_loss_is_covered():
    assert {name for name, _, _ in CASES} == set(losses.LOSSES)


@pytest.mark.parametrize(("name", "params", "unknown"), CASES, ids=lambda v: str(v)[:40])
def test_split_sums_to_the_tape_gradient_of_the_training_loss(name, params, unknown):
    loss = losses.get(name, **params)
    y, z = _batch(unknown)
    logits = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        value = loss(tf.constant(y), logits)  # the scalar training reduces to (mean over batch)
    full = np.abs(tape.gradient(value, logits).numpy()) * len(z)  # (B, C), one image's gradient
    rows = gradients.split(loss, y, z, CLASSES)
    assert [r.tag for r in rows] == list(CLASSES)
    for c, row in enumerate(rows):
        assert row.positive + row.negative + row.unknown == pytest.approx(row.total, rel=1e-5, abs=1e-9)
        assert row.total == pytest.approx(full[:, c].mean(), rel=1e-4, abs=1e-9)
        assert row.positive == pytest.approx(full[y[:, c] >= 0.5, c].sum() / len(z), rel=1e-4, abs=1e-9)
        assert row.unknown == pytest.approx(full[y[:, c] == -1, c].sum() / len(z), rel=1e-4, abs=1e-9)
    assert sum(r.total for r in rows) > 0


def test_ignored_unknowns_give_no_gradient_and_assumed_negatives_do():
    y, z = _batch(True)
    ignore = gradients.split(losses.get("bce", unknown="ignore"), y, z, CLASSES)
    negative = gradients.split(losses.get("bce", unknown="negative"), y, z, CLASSES)
    assert all(r.unknown == 0 for r in ignore)
    assert all(r.unknown > 0 for r in negative)


def test_shares_and_reading_describe_the_rare_tag():
    y = np.zeros((10, 2), np.float32)
    y[0, 0] = 1.0  # tag "rare" is positive once in ten
    y[:5, 1] = 1.0
    rows = gradients.split(losses.get("bce"), y, np.zeros_like(y), ("rare", "common"))
    share = gradients.shares(rows)[0]
    assert share["negative"] == pytest.approx(0.9) and share["positive"] == pytest.approx(0.1)
    assert gradients.reading(rows[0]) == "rare: negatives give 90 % of its gradient"
    assert gradients.reading(rows[1]).startswith("common: ")


def test_history_rows_round_trip_through_table_and_latest():
    rows = gradients.split(losses.get("bce"), *_batch(False), CLASSES)
    history = gradients.history_rows(1, "train", rows) + gradients.history_rows(2, "probe", rows)
    readable = gradients.table(history, CLASSES)
    assert {r["source"] for r in readable} == {"train", "probe"}
    assert all(math.isclose(r["positive_share"] + r["negative_share"] + r["unknown_share"], 1.0) for r in readable)
    assert [r.tag for r in gradients.latest(history, CLASSES)] == list(CLASSES)
    with pytest.raises(ValueError, match="source must be one of"):
        gradients.history_rows(1, "test", rows)


def test_metric_accumulates_the_same_split_over_batches():
    loss = losses.get("focal")
    metric = gradients.GradientSplit(loss, C)
    y, z = _batch(False)
    metric.update_state(y[:8], z[:8])
    metric.update_state(y[8:], z[8:])
    got = metric.rows(CLASSES)
    want = gradients.split(loss, y, z, CLASSES)
    for a, b in zip(got, want):
        assert a.positive == pytest.approx(b.positive, rel=1e-5) and a.negative == pytest.approx(b.negative, rel=1e-5)
    metric.reset_state()
    assert metric.rows(CLASSES) == []


@pytest.fixture(scope="module")
def tiny_run():
    from mlc.config import RunConfig
    from mlc.training import train

    return train(RunConfig(epochs=2, train_size=128, val_size=64, batch_size=64, image_size=32))


def test_training_records_train_and_probe_rows_every_epoch(tiny_run):
    assert tiny_run.status == "finished", tiny_run.message
    readable = gradients.table(tiny_run.gradients, tiny_run.config.classes)
    keys = {(r["epoch"], r["source"], r["tag"]) for r in readable}
    assert keys == {(e, s, t) for e in (1, 2) for s in ("train", "probe") for t in tiny_run.config.classes}
    for r in readable:
        assert r["total"] > 0 and r["positive"] + r["negative"] + r["unknown"] == pytest.approx(r["total"])


def test_the_probe_row_is_the_split_of_the_last_validation(tiny_run):
    from mlc.training import predict_logits

    n = min(gradients.PROBE_SIZE, len(tiny_run.val_labels))
    logits = predict_logits(tiny_run.model, _val_images(tiny_run)[:n])
    want = gradients.split(tiny_run.config.make_loss(), tiny_run.val_labels[:n], logits, tiny_run.config.classes)
    got = gradients.latest(tiny_run.gradients, tiny_run.config.classes, "probe")
    assert [g.negative for g in got] == pytest.approx([w.negative for w in want], rel=1e-3, abs=1e-6)


def _val_images(run):
    from mlc import datasets

    return datasets.make_splits(run.config).val[0]


def test_the_rows_survive_json_and_the_worker_payload_and_old_records_load(tiny_run):
    from mlc.job_wire import run_from_payload, run_payload
    from mlc.runs import Run

    assert Run.from_json(tiny_run.to_json()).gradients == tiny_run.gradients
    payload = run_payload(tiny_run)
    payload["model"] = None  # the record is what matters here
    assert run_from_payload(payload).gradients == tiny_run.gradients
    old = tiny_run.to_dict()
    del old["gradients"]
    assert Run.from_dict(old).gradients == []


@pytest.mark.slow
def test_positive_weighting_rebalances_the_rare_tags_gradient():
    """The lesson: weighted_bce (positive, weights (1-p)/p from the auto fill) gives the rare tag's positives
    a larger share of its gradient than bce does; and with the output bias at 0 (p = 0.5 for every cell, the
    textbook start) bce's gradient on a rare tag comes mostly from its many negatives. Tiny real runs, same
    seed; the default start (each tag's prior log-odds, mlc.logit_prior) balances the two pulls at step 0."""
    from mlc.config import RunConfig, derive_weights
    from mlc.logit_prior import zero_bias
    from mlc.training import train

    base = RunConfig(epochs=1, train_size=256, val_size=128, batch_size=32, image_size=32, seed=0)
    rare = int(np.argmin(base.prevalence))
    weights = tuple(derive_weights("ratio", base.prevalence, base.train_size))
    weighted = base.replace(loss="weighted_bce", weighting="positive", weights=weights)

    def negative_share(cfg):
        run = train(cfg)
        assert run.status == "finished", run.message
        return gradients.latest(run.gradients, cfg.classes, "probe")[rare].share("negative")

    share = {"bce": negative_share(base), "weighted_bce": negative_share(weighted)}
    with zero_bias():
        share["bce, bias 0"] = negative_share(base)
    assert share["bce"] > share["weighted_bce"] + 0.1, share
    assert share["bce, bias 0"] > 0.5, share
