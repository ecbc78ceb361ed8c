"""Label problems as data knobs: missing positives, single positive label, applied to training only."""

import numpy as np
import pytest

from mlc import cli, data_summary, datasets, label_problems, losses, share
from mlc.config import RunConfig
from mlc.imagesets import read_image_set, training_problems
from tests.test_imagesets import make_zip, png

SMALL = dict(train_size=400, val_size=60, test_size=60, image_size=16)


def clean_y(n=4000, c=5, seed=3):
    return (np.random.default_rng(seed).random((n, c)) < 0.4).astype(np.float32)


@pytest.mark.parametrize("rate", [0.2, 0.6])
@pytest.mark.parametrize("missing_as, value", [("negative", 0.0), ("unknown", -1.0)])
def test_missing_positives_hide_that_share_of_positives_and_nothing_else(rate, missing_as, value):
    y = clean_y()
    hurt = label_problems.damage(y, missing_positives=rate, missing_as=missing_as, seed=1)
    positive = y == 1
    hidden = positive & (hurt != 1)
    assert hidden.sum() / positive.sum() == pytest.approx(rate, abs=0.02)
    assert np.all(hurt[hidden] == value)
    np.testing.assert_array_equal(hurt[~positive], y[~positive])  # negatives untouched
    assert y.sum() == (clean_y() == 1).sum()  # the input is not changed


def test_damage_is_deterministic_per_seed():
    y = clean_y()
    a = label_problems.damage(y, missing_positives=0.3, missing_as="unknown", seed=5)
    b = label_problems.damage(y, missing_positives=0.3, missing_as="unknown", seed=5)
    c = label_problems.damage(y, missing_positives=0.3, missing_as="unknown", seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_single_positive_keeps_exactly_one_true_positive_per_image_and_the_rest_unknown():
    y = clean_y()
    hurt = label_problems.damage(y, single_positive=True, seed=2)
    has = y.sum(axis=1) > 0
    assert np.all((hurt[has] == 1).sum(axis=1) == 1)
    assert np.all(y[hurt == 1] == 1)  # the kept one is a true positive
    assert np.all(hurt[hurt != 1] == -1)  # every other target is unobserved
    assert np.all(hurt[~has] == -1)
    # the pick is uniform among an image's positives: each tag kept about in proportion
    kept = (hurt == 1).sum(axis=0) / has.sum()
    expected = (y[has] / y[has].sum(axis=1, keepdims=True)).mean(axis=0)
    np.testing.assert_allclose(kept, expected, atol=0.03)


@pytest.mark.parametrize("dataset", ["scenes", "digits"])
def test_make_splits_damages_training_only(dataset):
    base = RunConfig(dataset=dataset, seed=4, **SMALL)
    hurt = RunConfig(dataset=dataset, seed=4, missing_positives=0.5, missing_as="unknown", **SMALL)
    clean, damaged = datasets.make_splits(base), datasets.make_splits(hurt)
    for name in ("val", "test"):
        np.testing.assert_array_equal(clean.split(name)[1], damaged.split(name)[1])
        np.testing.assert_array_equal(clean.split(name)[0], damaged.split(name)[0])
    np.testing.assert_array_equal(clean.train[0], damaged.train[0])  # same images
    y, h = clean.train[1], damaged.train[1]
    assert (h == -1).sum() / (y >= 0.5).sum() == pytest.approx(0.5, abs=0.06)
    single = datasets.make_splits(base.replace(single_positive=True))
    has = (y >= 0.5).any(axis=1)
    assert np.all((single.train[1][has] == 1).sum(axis=1) == 1)


def test_scene_label_noise_leaves_validation_and_test_clean():
    clean = datasets.make_splits(RunConfig(seed=2, **SMALL))
    noisy = datasets.make_splits(RunConfig(seed=2, label_noise=0.3, **SMALL))
    assert not np.array_equal(clean.train[1], noisy.train[1])
    np.testing.assert_array_equal(clean.val[1], noisy.val[1])
    np.testing.assert_array_equal(clean.test[1], noisy.test[1])


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_unknown_losses_match_what_each_loss_accepts(name):
    assert (name in label_problems.UNKNOWN_LOSSES) == bool(losses.LOSSES[name].accepts_unknown)


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_a_loss_that_refuses_unknowns_is_refused_at_the_config_with_the_fix(name):
    for knobs in (dict(single_positive=True), dict(missing_positives=0.2, missing_as="unknown")):
        if name in label_problems.UNKNOWN_LOSSES:
            assert RunConfig(loss=name, **knobs).loss == name
        else:
            with pytest.raises(ValueError, match=rf"loss '{name}' cannot train on unknown targets.*choose bce"):
                RunConfig(loss=name, **knobs)
    # hidden as negatives: any loss trains
    assert RunConfig(loss=name, missing_positives=0.2, missing_as="negative").missing_positives == 0.2


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("missing_positives", 1.0, "missing_positives must be a number from 0 to 0.99"),
        ("missing_positives", -0.1, "missing_positives must be a number from 0 to 0.99"),
        ("missing_positives", "0.2", "missing_positives must be a number from 0 to 0.99"),
        ("missing_as", "zero", "missing_as must be one of: negative, unknown; got 'zero'"),
        ("single_positive", 1, "single_positive must be true or false, got 1"),
    ],
)
def test_config_validation_names_field_range_and_value(field, value, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**{field: value})


def test_config_json_and_share_link_carry_the_knobs():
    cfg = RunConfig(missing_positives=0.25, missing_as="unknown", single_positive=True)
    assert RunConfig.from_json(cfg.to_json()) == cfg
    query = share.to_query(cfg)
    assert query == {"missing": "0.25", "missing_as": "unknown", "single": "1"}
    assert share.from_query(query).config == cfg


def test_cli_flags_reach_the_config():
    args = cli.build_parser().parse_args(
        ["train", "--missing-positives", "0.3", "--missing-as", "unknown", "--single-positive"]
    )
    cfg = cli.config_from_args(args)
    assert (cfg.missing_positives, cfg.missing_as, cfg.single_positive) == (0.3, "unknown", True)
    assert cli.config_from_args(cli.build_parser().parse_args(["train"])).single_positive is False


def test_cli_refuses_an_unknown_making_knob_with_a_refusing_loss(capsys):
    code = cli.main(["train", "--loss", "focal", "--single-positive"])
    assert code == 2
    assert "loss 'focal' cannot train on unknown targets" in capsys.readouterr().err


def test_csv_blank_and_question_mark_cells_are_unknown():
    csv = "path,cat,dog\na.png,1,?\nb.png,,1\nc.png,0, ? \nd.png,1,0\n"
    s = read_image_set(make_zip({"labels.csv": csv, **{f"{c}.png": png() for c in "abcd"}}))
    assert s.labels.tolist() == [[1, -1], [-1, 1], [0, -1], [1, 0]]
    assert s.prevalence() == (0.5, 0.25)  # an unknown counts as absent


def test_a_tags_column_has_no_unknowns():
    s = read_image_set(make_zip({"labels.csv": "path,tags\na.png,cat\nb.png,\n", "a.png": png(), "b.png": png()}))
    assert (s.labels >= 0).all()


def test_own_unknown_cells_refuse_a_loss_without_the_mask():
    rows = "".join(f"i{k}.png,{k % 2},{'?' if k % 3 == 0 else 1}\n" for k in range(40))
    s = read_image_set(make_zip({"labels.csv": "path,cat,dog\n" + rows, **{f"i{k}.png": png() for k in range(40)}}))
    assert training_problems(s, loss="bce") == []
    lines = training_problems(s, loss="focal")
    assert len(lines) == 1 and "loss 'focal' cannot train on unknown targets" in lines[0] and "dog" in lines[0]
    assert "cat" not in lines[0].split("cells of")[1]


def test_the_data_summary_counts_unknowns():
    cfg = RunConfig(missing_positives=0.5, missing_as="unknown", **SMALL)
    rows = data_summary.summarise(cfg, sample=400, grid=0).rows
    clean = data_summary.summarise(cfg.replace(missing_positives=0.0), sample=400, grid=0).rows
    for hurt, full in zip(rows, clean):
        assert hurt["val"] == full["val"] and hurt["prevalence"] == full["prevalence"]
        assert hurt["unknown"] + hurt["train"] == pytest.approx(full["train"], abs=2)
        assert full["unknown"] == 0
    assert sum(r["unknown"] for r in rows) > 0
    assert data_summary.data_key(cfg) != data_summary.data_key(cfg.replace(missing_positives=0.0))


# ---------------------------------------------------------------- label noise on every data set
def flipped_share(clean: np.ndarray, noisy: np.ndarray) -> float:
    known = clean >= 0
    return float((clean[known] != noisy[known]).mean())


def own_set(n=300, seed=0):
    rng = np.random.default_rng(seed)
    cells = rng.choice(["0", "1", "?"], size=(n, 3), p=[0.5, 0.4, 0.1])
    rows = "".join(f"i{k}.png,{','.join(cells[k])}\n" for k in range(n))
    pictures = {f"i{k}.png": png((k % 256, k * 7 % 256, 90)) for k in range(n)}
    return read_image_set(make_zip({"labels.csv": "path,cat,dog,owl\n" + rows, **pictures}))


def own_config(image_set, **fields):
    return image_set.config_for(RunConfig(dataset="own", classes=image_set.tags, image_size=16, **fields))


@pytest.mark.parametrize("dataset", ["digits", "own"])
def test_label_noise_flips_that_share_of_training_targets_on_digits_and_own_images(dataset):
    image_set = own_set() if dataset == "own" else None

    def make(noise):
        if image_set is not None:
            return datasets.make_splits(own_config(image_set, seed=3, label_noise=noise), image_set)
        return datasets.make_splits(RunConfig(dataset="digits", seed=3, label_noise=noise, **SMALL))

    clean, noisy = make(0.0), make(0.2)
    np.testing.assert_array_equal(clean.train[0], noisy.train[0])  # same images
    y, h = clean.train[1], noisy.train[1]
    assert flipped_share(y, h) == pytest.approx(0.2, abs=0.03)
    assert set(np.unique(h[y >= 0])) <= {0.0, 1.0}  # a flip is 0 <-> 1
    np.testing.assert_array_equal(h[y < 0], y[y < 0])  # unknown cells stay unknown
    for name in ("val", "test"):  # scored against the full, clean labels
        np.testing.assert_array_equal(clean.split(name)[0], noisy.split(name)[0])
        np.testing.assert_array_equal(clean.split(name)[1], noisy.split(name)[1])
    again = make(0.2)
    np.testing.assert_array_equal(again.train[1], h)  # seeded


def test_own_label_noise_leaves_unknown_cells_alone_and_counts_them():
    image_set = own_set()
    assert (image_set.labels < 0).any()
    cfg = own_config(image_set, seed=1, label_noise=0.3)
    y = datasets.make_splits(cfg.replace(label_noise=0.0), image_set).train[1]
    h = datasets.make_splits(cfg, image_set).train[1]
    np.testing.assert_array_equal(h < 0, y < 0)


def test_scene_label_noise_is_the_generators_and_not_applied_twice():
    from mlc.data import make_dataset

    cfg = RunConfig(seed=2, label_noise=0.2, **SMALL)
    made = datasets.make_splits(cfg).train[1]
    direct = make_dataset(
        cfg.train_size,
        classes=cfg.classes,
        prevalence=cfg.prevalence,
        soft_labels=cfg.soft_labels,
        image_size=cfg.image_size,
        label_noise=0.2,
        seed=cfg.seed,
        dtype="uint8",
    )[1]
    np.testing.assert_array_equal(made, direct)  # exactly the generator's noise
    clean = datasets.make_splits(cfg.replace(label_noise=0.0)).train[1]
    assert flipped_share(clean, made) == pytest.approx(0.2, abs=0.03)  # twice would be 2p(1-p) = 0.32


def test_label_noise_and_missing_positives_combine_with_independent_draws():
    base = RunConfig(dataset="digits", seed=5, **SMALL)
    noisy = datasets.make_splits(base.replace(label_noise=0.1)).train[1]
    both = datasets.make_splits(base.replace(label_noise=0.1, missing_positives=0.5, missing_as="unknown")).train[1]
    np.testing.assert_array_equal(both[both >= 0], noisy[both >= 0])  # only positives were hidden
    assert np.all(noisy[both < 0] == 1)
    expected = label_problems.damage(noisy, missing_positives=0.5, missing_as="unknown", seed=5)
    np.testing.assert_array_equal(both, expected)  # noise first, then the knobs, each from its own generator


def test_add_noise_checks_its_rate():
    with pytest.raises(ValueError, match="label_noise must be a number from 0 to 1, got 1.5"):
        label_problems.add_noise(np.zeros((2, 2)), 1.5)


def test_cli_and_share_link_carry_label_noise_for_digits():
    args = cli.build_parser().parse_args(["train", "--dataset", "digits", "--label-noise", "0.2"])
    cfg = cli.config_from_args(args)
    assert (cfg.dataset, cfg.label_noise) == ("digits", 0.2)
    assert share.from_query(share.to_query(cfg)).config == cfg


@pytest.mark.parametrize("dataset", ["digits", "own"])
def test_the_exported_script_flips_training_targets_of_digits_and_own_images(tmp_path, dataset):
    from types import SimpleNamespace

    from mlc import export
    from tests.test_export import namespace, own_config, write_own

    write_own(tmp_path / "pets", "tags", n=40)
    base = own_config() if dataset == "own" else RunConfig(dataset="digits", train_size=300, val_size=50, image_size=16)

    def load(noise):
        return namespace(export.keras_script(base.replace(label_noise=noise)))["load_data"](
            SimpleNamespace(data=str(tmp_path / "pets"))
        )

    (x0, y0), (vx0, vy0) = load(0.0)
    (x1, y1), (vx1, vy1) = load(0.25)
    np.testing.assert_array_equal(x0, x1)
    np.testing.assert_array_equal(vy0, vy1)  # validation clean
    assert flipped_share(y0, y1) == pytest.approx(0.25, abs=0.05 if dataset == "digits" else 0.15)


def test_cli_label_noise_reaches_an_own_images_config():
    image_set = own_set(n=40)
    args = cli.build_parser().parse_args(["train", "--label-noise", "0.15"])
    assert cli.config_from_args(args, image_set).label_noise == 0.15
