"""mlc.progress: the Progress record and its plain-dict form."""

import json
import subprocess
import sys

import pytest

from mlc.progress import PHASES, Progress, from_event, to_event


@pytest.mark.parametrize("phase", PHASES)
def test_every_phase_survives_the_round_trip_through_json(phase):
    p = Progress(phase, 2, 3, 4, 5, 6.5, 0.25, {"map": 0.9} if phase == "epoch" else None)
    assert from_event(json.loads(json.dumps(to_event(p)))) == p


def test_fraction_and_eta_follow_the_batches():
    p = Progress("batch", epoch=2, epochs=2, batch=1, batches=2, elapsed=3.0)
    assert p.fraction == 0.75 and p.eta == pytest.approx(1.0)
    assert Progress("data", 0, 2, 0, 2, 0.0).eta is None


@pytest.mark.parametrize("bad", [None, [], {"phase": "warp"}, {}])
def test_a_dict_that_is_not_an_event_is_refused_with_one_line(bad):
    with pytest.raises(ValueError, match="progress event's phase must be one of"):
        from_event(bad)


def test_unknown_keys_of_a_newer_sender_are_ignored():
    event = {**to_event(Progress("batch", 1, 1, 1, 1, 0.1, 0.5)), "extra": 1}
    assert from_event(event).loss == 0.5


def test_reading_progress_imports_no_tensorflow():
    code = "import sys, mlc.progress; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
