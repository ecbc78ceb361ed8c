"""The output bias every run starts from: each tag's prior log-odds (mlc.logit_prior)."""

import keras
import numpy as np
import pytest

from mlc import export, logit_prior, models
from mlc.config import RunConfig
from mlc.loss_params import UNKNOWN
from mlc.training import train


def test_prior_logits_are_the_log_odds_of_each_tags_share():
    y = np.zeros((100, 3), np.float32)
    y[:5, 0] = 1  # 5 %
    y[:50, 1] = 1  # 50 %
    y[:, 2] = 0.8  # soft targets: the mean
    z = logit_prior.prior_logits(y)
    assert z.dtype == np.float32 and z.shape == (3,)
    np.testing.assert_allclose(z, np.log([0.05 / 0.95, 1.0, 0.8 / 0.2]), rtol=1e-5, atol=1e-6)


def test_unknown_targets_are_left_out_and_extremes_are_clipped():
    y = np.array([[1, UNKNOWN, 0, 1], [0, UNKNOWN, 0, 1], [UNKNOWN, UNKNOWN, 0, 1]], np.float32)
    z = logit_prior.prior_logits(y)
    clip = logit_prior.PRIOR_CLIP
    np.testing.assert_allclose(z, [0.0, 0.0, np.log(clip / (1 - clip)), np.log((1 - clip) / clip)], atol=1e-5)


def test_targets_must_be_a_matrix():
    with pytest.raises(ValueError, match=r"targets must be a 2-d array \(samples, tags\), got shape \(4,\)"):
        logit_prior.prior_logits(np.zeros(4))


@pytest.mark.parametrize("name", sorted(n for n in models.MODELS if n != "mobilenet_v3_small"))
def test_an_untrained_model_on_a_blank_image_predicts_each_tags_prevalence(name):
    y = (np.random.default_rng(0).random((400, 5)) < [0.05, 0.2, 0.4, 0.6, 0.9]).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = models.build(name, 5, 16)
    assert logit_prior.set_prior_bias(model, y)
    np.testing.assert_allclose(model.get_layer("logits").bias.numpy(), logit_prior.prior_logits(y), rtol=1e-6)
    if name == "linear":  # no hidden features: a blank image's logits are the bias alone
        p = 1 / (1 + np.exp(-np.asarray(model(np.zeros((1, 16, 16, 3), np.float32)))[0]))
        np.testing.assert_allclose(p, y.mean(axis=0), atol=1e-5)


def test_zero_bias_keeps_keras_default_and_models_without_the_layer_are_left_alone():
    model = models.build("linear", 2, 16)
    with logit_prior.zero_bias():
        assert not logit_prior.set_prior_bias(model, [[1.0, 0.0]])
    assert not model.get_layer("logits").bias.numpy().any()
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="head")])
    assert not logit_prior.set_prior_bias(other, [[1.0, 0.0]])
    assert not logit_prior.set_prior_bias(model, [[1.0, 0.0, 1.0]])  # three tags for a two-tag model


class _BiasAtStart(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.bias = self.model.get_layer("logits").bias.numpy().copy()


def test_a_run_starts_from_its_training_splits_prior():
    config = RunConfig(model="linear", train_size=64, val_size=32, epochs=1, batch_size=32, image_size=16)
    from mlc.training import make_data

    splits = make_data(config)
    seen = _BiasAtStart()
    run = train(config, splits=splits, callbacks=[seen])
    assert str(run.status) == "finished"
    np.testing.assert_allclose(seen.bias, logit_prior.prior_logits(splits[0][1]), rtol=1e-6)


def test_the_exported_script_starts_from_the_same_prior():
    script = export.keras_script(RunConfig())
    assert 'model.get_layer("logits").bias.assign(prior_logits(y_train))' in script
    namespace: dict = {}
    exec(compile(script, "train_multilabel.py", "exec"), namespace)
    y = np.array([[1, 0], [0, 0], [0, 1], [UNKNOWN, 1]], np.float32)
    np.testing.assert_array_equal(namespace["prior_logits"](y), logit_prior.prior_logits(y))
