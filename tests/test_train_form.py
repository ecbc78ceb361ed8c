"""mlc.train_form: the Train page's form values become one validated RunConfig; polling and soft labels."""

import pytest

from mlc import losses, share, train_form
from mlc.config import RunConfig, tag_rows

ROWS = tag_rows(RunConfig())


def form_of(config: RunConfig) -> tuple[dict, dict]:
    settings = share.form_settings(config)
    return settings.fields, settings.loss_params


@pytest.mark.parametrize(
    "config",
    [
        RunConfig(),
        RunConfig(loss="focal", loss_params={"gamma": 1.5, "alpha": 0.25}, epochs=3, device="cpu"),
        RunConfig(loss="weighted_bce", weighting="positive", batch_size=32, seed=9, label_noise=0.1),
    ],
)
def test_the_form_of_a_config_makes_that_config(config):
    fields, params = form_of(config)
    params = {k: v for k, v in params.items() if v is not None}
    made = train_form.config_from_form(fields, params, ROWS)
    assert made.make_loss().get_config() == config.make_loss().get_config()
    assert made.replace(loss_params=config.loss_params) == config


def test_widget_numbers_become_whole_numbers_and_floats():
    fields = {"epochs": 3.0, "batch_size": 32.0, "train_size": 640.0, "val_size": 64.0, "seed": 1.0}
    made = train_form.config_from_form({**fields, "learning_rate": 1, "label_noise": 0}, {}, ROWS)
    assert (made.epochs, made.batch_size, made.train_size, made.val_size, made.seed) == (3, 32, 640, 64, 1)
    assert type(made.learning_rate) is float and type(made.label_noise) is float


def test_the_tags_table_gives_the_tags():
    rows = [{"tag": " boat ", "prevalence": 0.5, "weight": 2.0}, {"tag": "sun", "prevalence": 0.1, "weight": 1.0}]
    made = train_form.config_from_form({}, {}, rows)
    assert made.classes == ("boat", "sun") and made.prevalence == (0.5, 0.1) and made.weights == (2.0, 1.0)


@pytest.mark.parametrize(
    "fields, rows, message",
    [
        ({"epochs": 0}, ROWS, "epochs"),
        ({"loss": "hinge"}, ROWS, "loss"),
        ({}, [], "the tags table is empty"),
        ({}, [{"tag": "", "prevalence": 0.1, "weight": 1.0}], "the tag name is empty"),
    ],
)
def test_an_invalid_form_raises_saying_why(fields, rows, message):
    with pytest.raises(ValueError, match=message):
        train_form.config_from_form(fields, {}, rows)


@pytest.mark.parametrize("loss", list(losses.LOSSES))
def test_soft_labels_are_forced_only_for_soft_label_losses(loss):
    forced = loss in train_form.SOFT_LABEL_LOSSES
    assert train_form.forces_soft_labels(loss) is forced
    assert train_form.soft_labels(loss, False) is forced and train_form.soft_labels(loss, True) is True
    assert train_form.config_from_form({"loss": loss, "soft_labels": False}, {}, ROWS).soft_labels is forced


@pytest.mark.parametrize("loss", list(losses.LOSSES))
def test_uses_weights_follows_the_loss_parameters(loss):
    assert train_form.uses_weights(loss) is ("weights" in losses.params(loss))


@pytest.mark.parametrize(
    "config, batches", [(RunConfig(train_size=64, batch_size=32), 2), (RunConfig(train_size=65, batch_size=32), 3)]
)
def test_batches_per_epoch_rounds_up(config, batches):
    assert train_form.batches_per_epoch(config) == batches


@pytest.mark.parametrize(
    "alive, state, seconds",
    [
        (True, "queued", train_form.POLL_SECONDS_IN_LINE),
        (True, "waiting", train_form.POLL_SECONDS_IN_LINE),
        (True, "running", train_form.POLL_SECONDS),
        (True, "finished", train_form.POLL_SECONDS),  # the worker is still finishing: keep looking
        (True, None, train_form.POLL_SECONDS),
        (False, "running", None),
        (False, None, None),
    ],
)
def test_poll_seconds(alive, state, seconds):
    assert train_form.poll_seconds(alive, state) == seconds


def test_poll_seconds_refuses_an_unknown_state():
    with pytest.raises(ValueError):
        train_form.poll_seconds(True, "sleeping")


# ---------------------------------------------------------------- data sets
class FakeImages:
    """An own-image set as the form uses it: tags and config_for (sizes, measured prevalence, name)."""

    name, fingerprint, tags = "pets.zip", "f1", ("cat", "dog", "fish")

    def config_for(self, base):
        return base.replace(
            dataset="own",
            classes=self.tags,
            prevalence=(0.5, 0.25, 0.1),
            train_size=70,
            val_size=15,
            test_size=15,
            data_name=self.name,
            data_fingerprint=self.fingerprint,
        )


def test_picking_a_data_set_brings_its_tags_and_keeps_the_training_settings():
    from mlc.train_form import config_for_dataset

    start = RunConfig(loss="focal", epochs=3, weights=(1, 9, 1, 1, 1))
    digits = config_for_dataset("digits", start)
    assert digits.classes == tuple("0123456789") and digits.weights == (1.0,) * 10
    assert (digits.loss, digits.epochs) == ("focal", 3)
    back = config_for_dataset("scenes", digits)
    assert back.classes == RunConfig().classes and back.prevalence == RunConfig().prevalence
    own = config_for_dataset("own", start.replace(soft_labels=True), FakeImages())
    assert own.classes == FakeImages.tags and own.train_size == 70 and not own.soft_labels
    assert config_for_dataset("scenes", own).train_size == RunConfig().train_size  # generated sizes again
    with pytest.raises(ValueError, match="upload a .zip first"):
        config_for_dataset("own", start)


def test_own_config_takes_sizes_and_prevalence_from_the_images(shapes_zip):
    from mlc.imagesets import read_image_set
    from mlc.train_form import own_config

    images = read_image_set(shapes_zip(120), name="shapes.zip", image_size=32)
    measured = dict(zip(images.tags, images.prevalence()))
    rows = [{"tag": "square", "prevalence": 0.9, "weight": 2.0}, {"tag": "circle", "prevalence": 0.0, "weight": 1.0}]
    config = own_config({"loss": "weighted_bce", "train_size": 5, "image_size": 32}, {}, rows, images)
    assert config.classes == ("square", "circle")
    assert config.prevalence == pytest.approx((measured["square"], measured["circle"]))  # measured, table order
    assert config.weights == (2.0, 1.0) and config.data_fingerprint == images.fingerprint
    assert config.train_size + config.val_size + config.test_size == 120 and config.train_size != 5
    with pytest.raises(ValueError, match="tag 'bird' is not in your images; their tags are: circle, square, bar"):
        own_config({}, {}, [{"tag": "bird", "prevalence": 0.1, "weight": 1}], images)


def test_a_weighted_loss_with_every_weight_1_is_named_as_plain_bce():
    from mlc.train_form import unweighted_note

    note = unweighted_note("weighted_bce", [1, 1.0, 1])
    assert "trains exactly as bce does" in note and "(1−p)/p" in note
    assert "--auto-weights ratio|inverse|balanced" in unweighted_note("weighted_bce", [1, 1], cli=True)
    assert unweighted_note("weighted_bce", [1, 2]) is None and unweighted_note("focal", [1, 1]) is None
