"""mlc.charts_calibration: the reliability diagram carries each bin's count and both score series."""

import numpy as np

from mlc import workbench
from mlc.charts_calibration import SCORE_COLOURS, reliability_chart
from mlc.config import RunConfig
from mlc.runs import Run


def _frame():
    rng = np.random.default_rng(0)
    y = (rng.random((200, 2)) < 0.3).astype(float)
    p = np.clip(y * 0.6 + rng.random((200, 2)) * 0.4, 0, 1)
    run = Run(RunConfig(classes=("a", "b"), prevalence=(0.3, 0.3)), val_labels=y, val_probabilities=p,
              test_labels=y, test_probabilities=p)  # fmt: skip
    return workbench.reliability_frame(run, bins=10)


def test_reliability_chart_has_the_diagram_and_the_count_bars():
    frame = _frame()
    spec = reliability_chart(frame, "b", {"raw": 0.1, "scaled": 0.05}).to_dict()
    top, bottom = spec["vconcat"]
    assert top["title"]["text"] == "b: reliability on test"
    assert top["title"]["subtitle"] == "ECE raw 0.100, scaled 0.050"
    assert [layer["mark"]["type"] for layer in top["layer"]] == ["line", "line", "circle"]
    assert top["layer"][2]["encoding"]["size"]["field"] == "count"
    assert bottom["mark"]["type"] == "bar" and bottom["encoding"]["y"]["field"] == "count"
    assert top["layer"][1]["encoding"]["color"]["scale"]["domain"] == list(SCORE_COLOURS)


def test_reliability_chart_draws_only_its_tag():
    frame = _frame()
    spec = reliability_chart(frame, "a").to_dict()
    rows = [r for d in spec["datasets"].values() for r in d if "tag" in r]
    assert rows and {r["tag"] for r in rows} == {"a"}
    assert spec["vconcat"][0]["title"]["text"] == "a: reliability on test"
