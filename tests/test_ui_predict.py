"""mlc.ui_predict's pure part: the session state that makes the threshold controls show a setting."""

from mlc import decisions, ui_predict
from mlc.inference import ThresholdSetting


def test_one_threshold_for_every_tag():
    state = ui_predict.threshold_state(ThresholdSetting("all", value=0.3))
    assert state == {"strategy": "fixed_global", "thr_all": 0.3} and state["strategy"] in decisions.MANUAL


def test_one_threshold_per_tag_goes_to_each_tag_slider():
    setting = ThresholdSetting("per_tag", per_tag={"dog": 0.2, "sky": 0.9})
    state = ui_predict.threshold_state(setting)
    assert state["strategy"] == "manual_per_tag" and state["strategy"] in decisions.MANUAL
    assert {ui_predict.threshold_key(t): v for t, v in setting.per_tag.items()}.items() <= state.items()
    assert len(state) == 3


def test_each_fitted_strategys_parameter_has_its_own_widget_key():
    assert ui_predict.param_key("uncertain_band", "lo") != ui_predict.param_key("uncertain_band", "hi")
