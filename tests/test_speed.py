"""mlc.speed: the server's whole-run rates and the estimate texts built from them."""

import threading
from types import SimpleNamespace

import pytest

from mlc import speed
from mlc.config import RunConfig
from mlc.states import SpeedBasis


def finished_run(model="compact", samples=40_000, seconds=20.0, image_size=64, status="finished"):
    config = RunConfig(model=model, image_size=image_size)
    return SimpleNamespace(config=config, status=status, samples_seen=samples, wall_seconds=seconds)


def test_no_time_is_promised_before_anything_is_measured_here():
    book = speed.SpeedBook(typical={"compact": 1000.0})
    cfg = RunConfig(model="compact", epochs=5, train_size=6000)
    assert book.basis("compact") is SpeedBasis.NONE
    assert book.estimate_text(cfg) is None


def test_the_typical_rate_scales_with_this_servers_measured_compute():
    book = speed.SpeedBook(typical={"compact": 1000.0})
    cfg = RunConfig(model="compact", epochs=5, train_size=6000)
    book.record_gflops(speed.REFERENCE_GFLOPS / 3)  # a third of the reference machine: three times as long
    assert book.basis("compact") is SpeedBasis.COMPUTE
    assert book.estimate_seconds(cfg) == pytest.approx(90.0)
    assert book.estimate_text(cfg) == "about 1.5 min on this server (from its measured compute speed)"
    for nonsense in (0.0, -1.0, float("nan"), float("inf")):
        book.record_gflops(nonsense)  # ignored
    assert book.estimate_seconds(cfg) == pytest.approx(90.0)


def test_measured_compute_until_a_run_finishes_then_the_runs_rate():
    book = speed.SpeedBook(typical={"compact": 1000.0})
    cfg = RunConfig(model="compact", epochs=5, train_size=6000)
    book.record_gflops(speed.REFERENCE_GFLOPS)
    assert book.estimate_seconds(cfg) == pytest.approx(30.0)
    assert book.estimate_text(cfg) == "about 30 s on this server (from its measured compute speed)"
    assert book.record(finished_run(samples=30_000, seconds=10.0))  # 3,000 samples/s here
    assert book.estimate_seconds(cfg) == pytest.approx(10.0)
    assert book.estimate_text(cfg) == "about 10 s on this server"


def test_rates_are_per_model():
    book = speed.SpeedBook(typical={"compact": 1000.0, "linear": 4000.0})
    book.record(finished_run(model="linear", samples=40_000, seconds=4.0))
    assert book.rate("linear") == (10_000.0, True)
    assert book.rate("compact") == (1000.0, False)
    assert book.rate("seed_cnn") == (speed.FALLBACK_RATE, False)


def test_image_size_scales_by_pixels():
    book = speed.SpeedBook()
    book.record(finished_run(samples=8000, seconds=4.0, image_size=32))  # 2,000/s at 32 px = 500/s at 64 px
    assert book.rate("compact") == (500.0, True)
    big = RunConfig(model="compact", epochs=1, train_size=1000, image_size=128)
    assert book.estimate_seconds(big) == pytest.approx(8.0)


@pytest.mark.parametrize(
    "run",
    [
        finished_run(status="stopped"),
        finished_run(status="failed"),
        finished_run(samples=speed.MIN_SAMPLES - 1),
        finished_run(seconds=0.0),
        finished_run(seconds=float("nan")),
    ],
)
def test_runs_that_say_nothing_about_speed_are_ignored(run):
    book = speed.SpeedBook(typical={"compact": 1000.0})
    assert not book.record(run)
    assert book.rate("compact") == (1000.0, False)


def test_the_estimate_is_the_median_of_the_last_runs():
    book = speed.SpeedBook()
    for rate in (100.0, 5000.0, 1000.0, 1200.0, 900.0, 1100.0):  # the first falls out of the window
        book.record_rate("compact", 64, rate)
    assert book.rate("compact") == (1100.0, True)
    book.record_rate("compact", 64, float("inf"))  # nonsense is not remembered
    assert book.rate("compact") == (1100.0, True)


def test_recording_from_many_threads_loses_nothing():
    book = speed.SpeedBook()
    threads = [threading.Thread(target=lambda: [book.record_rate("m", 64, 7.0) for _ in range(200)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert book.rate("m") == (7.0, True)
    assert len(book._rates["m"]) == speed.KEEP


def test_every_registered_model_has_a_typical_rate():
    from mlc.models import MODELS

    assert set(MODELS) <= set(speed.TYPICAL_RATES)


def test_the_module_book_serves_the_server():
    cfg = RunConfig(model="linear", epochs=1, train_size=3000)
    before = speed.BOOK.rate("linear")
    try:
        speed.record(finished_run(model="linear", samples=30_000, seconds=1.0))
        assert speed.estimate_text(cfg) == "about 5 s on this server"
    finally:
        speed.BOOK._rates.pop("linear", None)
    assert speed.BOOK.rate("linear") == before


def test_speed_stays_free_of_tensorflow():
    import subprocess
    import sys

    code = "import sys, mlc.speed; print('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
