"""mlc.ui_train's pure part: the session state that makes the Train form show a config."""

import pytest

from mlc import losses, share, ui, ui_train
from mlc.config import RunConfig

CONFIGS = [
    RunConfig(),
    RunConfig(loss="focal", loss_params={"gamma": 1.5, "alpha": 0.25}, epochs=3, learning_rate=1e-3),
    RunConfig(loss="focal", loss_params={"alpha": None}),
    RunConfig(loss="asl", loss_params={"gamma_neg": 2.0}, model="seed_cnn", batch_size=32, lr_schedule="constant"),
    RunConfig(loss="weighted_bce", weighting="positive", seed=4, device="cpu"),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_every_form_field_has_a_widget_holding_the_config_value(config):
    state = ui_train.widget_state(config)
    assert set(ui_train.FIELD_KEYS) == set(share.FORM_FIELDS)
    for name, key in ui_train.FIELD_KEYS.items():
        assert state[key] == getattr(config, name)


@pytest.mark.parametrize("config", CONFIGS)
def test_loss_parameters_go_to_the_inputs_loss_param_inputs_draws(config):
    state = ui_train.widget_state(config)
    for name, value in share.form_settings(config).loss_params.items():
        key = ui.loss_param_key(config.loss, name)
        spec = losses.params(config.loss)[name]
        if value is None:
            assert state[f"{key}_on"] is False and key not in state
        else:
            assert state[key] == value and (not spec.optional or state[f"{key}_on"] is True)


def test_the_keys_are_the_pages_keys():
    # the Train page's tests and share links drive these keys: renaming one is a visible change
    state = ui_train.widget_state(RunConfig(loss="focal"))
    assert {"loss", "epochs", "device", "loss_param_focal_gamma", "loss_param_focal_alpha_on"} <= set(state)
