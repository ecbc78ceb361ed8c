"""mlc.ui_saliency's table: an undefined "× random" ratio shows a dash, never None."""

from mlc import saliency_scores, ui_saliency

ROWS = [
    {"tag": "sky", "images": 4, "pointing_game": 0.0, "mass_inside": 0.1, "baseline_pointing_game": 0.0,
     "baseline_mass_inside": 0.05, "lift": None},
    {"tag": "cat", "images": 3, "pointing_game": 0.9, "mass_inside": 0.5, "baseline_pointing_game": 0.3,
     "baseline_mass_inside": 0.2, "lift": 3.0},
]  # fmt: skip


def test_an_undefined_ratio_is_a_dash_and_the_others_keep_two_decimals():
    frame = ui_saliency.scores_frame(ROWS)
    assert list(frame["× random"]) == [saliency_scores.NO_LIFT, "3.00"]
    assert "None" not in frame.astype(str).to_numpy().ravel().tolist()
    assert list(frame.columns) == list(ui_saliency.COLUMNS.values())
    long = ui_saliency.scores_frame([{"run": "#1", **r} for r in ROWS], ("run", *ui_saliency.COLUMNS))
    assert list(long["run"]) == ["#1", "#1"] and list(long["× random"]) == [saliency_scores.NO_LIFT, "3.00"]
