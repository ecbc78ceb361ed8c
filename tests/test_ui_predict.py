"""mlc.ui_predict's pure part: the session state that makes the threshold controls show a setting."""

from mlc import ui_predict
from mlc.inference import THRESHOLD_CHOICES, ThresholdSetting


def test_one_threshold_for_every_tag():
    state = ui_predict.threshold_state(ThresholdSetting("all", value=0.3))
    assert state == {"thr_mode": "all", "thr_all": 0.3} and state["thr_mode"] in THRESHOLD_CHOICES


def test_one_threshold_per_tag_goes_to_each_tag_slider():
    setting = ThresholdSetting("per_tag", per_tag={"dog": 0.2, "sky": 0.9})
    state = ui_predict.threshold_state(setting)
    assert state["thr_mode"] == "per_tag" and state["thr_mode"] in THRESHOLD_CHOICES
    assert {ui_predict.threshold_key(t): v for t, v in setting.per_tag.items()}.items() <= state.items()
    assert len(state) == 3
