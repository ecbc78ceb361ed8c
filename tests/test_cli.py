"""Tests for :mod:`mlc.cli` (``python -m mlc train``): in-process for arguments, one real subprocess."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mlc import cli, losses, training
from mlc.config import RunConfig, derive_weights
from mlc.losses import LOSSES
from mlc.models import MODELS
from mlc.training import Progress, Run

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
HISTORY_KEYS = {"loss", "val_loss", "macro_f1", "map", "mae", "seconds", "samples_per_second"}
TINY = ["--epochs", "1", "--train-size", "64", "--val-size", "32", "--batch-size", "32", "--image-size", "32"]


def strict_json(text: str):
    def bad(token):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=bad)


def parse(*argv: str):
    return cli.build_parser().parse_args(["train", *argv])


def config_of(*argv: str) -> RunConfig:
    return cli.config_from_args(parse(*argv))


def run_cli(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlc", *argv], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout
    )


# ---------------------------------------------------------------- one real run in a subprocess
@pytest.fixture(scope="module")
def json_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli_out")
    proc = run_cli("train", "--epochs", "1", "--train-size", "128", "--val-size", "64", "--json", "--out", str(out))
    return proc, out


def test_subprocess_json_run_prints_exactly_one_json_object(json_run):
    proc, _ = json_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = strict_json(proc.stdout)  # the whole of stdout, nothing else
    assert isinstance(record, dict)
    assert proc.stdout.strip().count("\n") == 0
    assert {"config", "summary", "history", "report"} <= set(record)
    assert "batch_history" not in record
    assert record["summary"]["status"] == "finished"
    assert len(record["history"]) == 1
    row = record["history"][0]
    assert HISTORY_KEYS <= set(row)
    assert all(isinstance(row[k], (int, float)) for k in HISTORY_KEYS)
    assert record["report"]["map"] == record["summary"]["map"]
    assert [r["tag"] for r in record["report"]["per_tag"]] == list(RunConfig().classes)


def test_subprocess_config_is_defaults_except_the_given_flags(json_run):
    proc, _ = json_run
    config = strict_json(proc.stdout)["config"]
    expected = RunConfig(epochs=1, train_size=128, val_size=64).to_dict()
    assert config == expected
    assert RunConfig.from_dict(config) == RunConfig(epochs=1, train_size=128, val_size=64)


def test_subprocess_out_dir_has_model_and_run_json(json_run):
    proc, out = json_run
    assert (out / "model.keras").is_file() and (out / "model.keras").stat().st_size > 0
    saved = strict_json((out / "run.json").read_text())
    printed = strict_json(proc.stdout)
    assert saved["config"] == printed["config"]
    assert saved["report"] == printed["report"]
    assert len(saved["batch_history"]) == 128 // RunConfig().batch_size
    assert "saved" in proc.stderr and "model.keras" in proc.stderr


def test_subprocess_non_tty_has_no_carriage_return_progress(json_run):
    proc, _ = json_run
    assert "\r" not in proc.stderr and "\033[K" not in proc.stderr
    assert "epoch 1/1: loss" in proc.stderr  # the per-epoch line is still there
    assert "Traceback" not in proc.stderr


def test_subprocess_bad_argument_exits_2_without_traceback():
    proc = run_cli("train", "--weights", "1,2", "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "weights" in errors[0]


# ---------------------------------------------------------------- bad arguments in-process
@pytest.mark.parametrize(
    "argv, field",
    [
        (["--weights", "1,2"], "weights"),
        (["--weights", "1,1,1,1,-1"], "weights"),
        (["--lr", "-1"], "learning_rate"),
        (["--lr", "2"], "learning_rate"),
        (["--lr", "nan"], "learning_rate"),
        (["--device", "tpu"], "device"),
        (["--device", "gpu:7"], "gpu:7"),
        (["--epochs", "0"], "epochs"),
        (["--batch-size", "0"], "batch_size"),
        (["--train-size", "0"], "train_size"),
        (["--image-size", "8"], "image_size"),
        (["--label-noise", "0.9"], "label_noise"),
        (["--classes", "a,A"], "unique"),
        (["--prevalence", "0.5,2,0.5,0.5,0.5"], "prevalence"),
        (["--loss", "focal", "--loss-param", "gamma=-1"], "gamma"),
        (["--loss", "focal", "--loss-param", "nope=1"], "nope"),
        (["--loss-param", "weights=1"], "weights"),
        (["--weights", "1,1,1,1,1", "--auto-weights", "ratio"], "--auto-weights"),
        (["--dataset", "own"], "--dataset own needs --data PATH"),
        (["--dataset", "digits", "--data", "x.zip"], "cannot go with --dataset digits"),
        (["--dataset", "digits", "--classes", "3,dog"], "digits 0 to 9, got 'dog'"),
        (["--test-size", "0"], "test_size"),
    ],
)
def test_bad_values_exit_2_with_one_error_line(argv, field, capsys):
    code = cli.main(["train", *argv, "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert field in lines[0]
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    "argv",
    [["--loss", "foo"], ["--model", "foo"], ["--epochs", "two"], ["--weights", "a,b"], ["--loss-param", "gamma"]],
)
def test_unparseable_arguments_are_argparse_errors(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2


# ---------------------------------------------------------------- arguments -> config
def test_no_flags_give_the_app_defaults():
    assert config_of() == RunConfig()


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_registered_loss_is_a_choice(loss):
    weights = ["--weights", "1,2,1,1,1"] if "weights" in losses.params(loss) else []
    assert config_of("--loss", loss, *weights).loss == loss


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_registered_model_is_a_choice(model):
    assert config_of("--model", model).model == model


def test_flags_map_to_fields():
    cfg = config_of(
        "--epochs",
        "3",
        "--train-size",
        "100",
        "--val-size",
        "50",
        "--batch-size",
        "16",
        "--lr",
        "0.01",
        "--classes",
        "boat, sun",
        "--prevalence",
        "0.2,0.6",
        "--soft-labels",
        "--label-noise",
        "0.1",
        "--image-size",
        "32",
        "--seed",
        "9",
        "--model",
        "seed_cnn",
    )
    assert (cfg.epochs, cfg.train_size, cfg.val_size, cfg.batch_size) == (3, 100, 50, 16)
    assert cfg.learning_rate == 0.01
    assert cfg.classes == ("boat", "sun") and cfg.prevalence == (0.2, 0.6)
    assert cfg.soft_labels is True and cfg.label_noise == 0.1
    assert (cfg.image_size, cfg.seed, cfg.model) == (32, 9, "seed_cnn")


def test_loss_param_sets_loss_params():
    cfg = config_of("--loss", "focal", "--loss-param", "gamma=1")
    assert cfg.loss_params == {"gamma": 1.0}
    assert cfg.make_loss().get_config()["gamma"] == 1.0
    cfg = config_of("--loss", "asl", "--loss-param", "gamma_neg=2", "--loss-param", "clip=0.1")
    assert cfg.loss_params == {"gamma_neg": 2.0, "clip": 0.1}


def test_auto_weights_ratio_puts_positive_weights_in_the_config():
    cfg = config_of("--auto-weights", "ratio", "--loss", "weighted_bce", "--weighting", "positive")
    p = RunConfig().prevalence
    assert cfg.weights == pytest.approx(tuple((1 - q) / q for q in p))
    assert cfg.weights[1] == pytest.approx(19.0)  # the rare cat: 0.95 / 0.05
    assert cfg.weighting == "positive" and cfg.loss == "weighted_bce"
    assert cfg.loss_kwargs() == {"weights": list(cfg.weights), "weighting": "positive"}


def test_auto_weights_follow_the_given_prevalence():
    cfg = config_of("--classes", "a,b", "--prevalence", "0.25,0.5", "--auto-weights", "ratio", "--loss", "weighted_bce")
    assert cfg.weights == pytest.approx((3.0, 1.0))


@pytest.mark.parametrize("kind", ["inverse", "balanced", "ratio"])
def test_auto_weights_kinds(kind):
    p = RunConfig().prevalence
    expected = {
        "inverse": losses.inverse_frequency_weights(p),
        "balanced": losses.class_balanced_weights(p, 8000),
        "ratio": losses.positive_weights(p),
    }[kind]
    assert derive_weights(kind, p, 8000) == pytest.approx(expected)
    assert config_of("--auto-weights", kind, "--loss", "weighted_bce").weights == pytest.approx(tuple(expected))
    with pytest.raises(ValueError, match="weight rule must be one of"):
        derive_weights("nope", p, 8000)


# ---------------------------------------------------------------- real runs in-process
def test_in_process_json_run(capsys):
    code = cli.main(["train", *TINY, "--json"])
    captured = capsys.readouterr()
    assert code == 0
    record = strict_json(captured.out)
    assert record["summary"]["status"] == "finished"
    assert record["config"]["image_size"] == 32
    saliency = record["saliency"]  # the run's first 200 test images, scored against their object masks
    assert saliency["method"] == "gradcam" and saliency["images"] == 200
    assert [r["tag"] for r in saliency["rows"]] == list(RunConfig().classes)
    for row in saliency["rows"]:
        assert 0 <= row["pointing_game"] <= 1 and 0 <= row["baseline_mass_inside"] <= 1


def test_a_digits_run_reports_where_each_digit_looks(capsys):
    code = cli.main(["train", *TINY, "--dataset", "digits", "--classes", "3,7", "--prevalence", "0.5,0.5", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    saliency = strict_json(captured.out)["saliency"]  # scored against the digits' ink masks
    assert saliency.get("reason") is None and [r["tag"] for r in saliency["rows"]] == ["3", "7"]
    for row in saliency["rows"]:
        assert row["images"] > 0 and 0 <= row["pointing_game"] <= 1 and 0 < row["baseline_mass_inside"] < 1


def test_in_process_text_run_prints_the_table(capsys):
    code = cli.main(["train", *TINY])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("status: finished")
    for tag in RunConfig().classes:
        assert tag in out
    assert "macro-F1" in out and "mAP" in out


def test_failed_run_exits_1_and_still_reports_json(capsys):
    code = cli.main(["train", *TINY, "--loss", "weighted_bce", "--weights", ",".join(["3e38"] * 5), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    record = strict_json(captured.out)
    assert record["summary"]["status"] == "failed"
    assert "loss became" in record["summary"]["message"]


def test_out_dir_that_cannot_be_written_exits_1(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = cli.main(["train", *TINY, "--out", str(blocker / "sub")])
    captured = capsys.readouterr()
    assert code == 1
    assert "error: could not save" in captured.err


def test_ctrl_c_stops_the_run_and_exits_130(monkeypatch, capsys):
    """SIGINT sets the stop event (the partial run is reported); the old handler comes back."""
    seen = {}

    def fake_train(config, *, on_progress=None, stop_event=None, **kwargs):
        signal.raise_signal(signal.SIGINT)
        seen["stopped"] = stop_event.is_set()
        run = Run(config=config, status="stopped" if stop_event.is_set() else "finished", message="stopped by request")
        return run

    before = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(training, "train", fake_train)
    code = cli.main(["train", *TINY, "--json"])
    assert seen["stopped"] is True
    assert code == 130
    assert strict_json(capsys.readouterr().out)["summary"]["status"] == "stopped"
    assert signal.getsignal(signal.SIGINT) is before


# ---------------------------------------------------------------- the progress bar
class FakeStream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def _feed(bar):
    row = {
        "loss": 0.5,
        "val_loss": 0.6,
        "macro_f1": 0.4,
        "map": 0.7,
        "mae": 0.3,
        "seconds": 1.0,
        "samples_per_second": 64,
    }
    bar(Progress("data", 0, 1, 0, 2, 0.0))
    bar(Progress("batch", 1, 1, 1, 2, 0.5, 0.7))
    bar(Progress("batch", 1, 1, 2, 2, 1.0, 0.6))
    bar(Progress("epoch", 1, 1, 2, 2, 1.0, 0.5, row))
    bar(Progress("done", 1, 1, 2, 2, 1.0))


def test_progress_bar_on_a_terminal_redraws_one_line():
    stream = FakeStream(tty=True)
    _feed(cli._ProgressBar(stream))
    text = stream.getvalue()
    assert "\r" in text and "batch 2/2" in text and "ETA" in text
    assert text.endswith("\n") and "epoch 1/1: loss 0.5000" in text


def test_progress_bar_off_a_terminal_prints_only_epoch_lines():
    stream = FakeStream(tty=False)
    _feed(cli._ProgressBar(stream))
    text = stream.getvalue()
    assert "\r" not in text and "batch" not in text
    assert text.splitlines() == [
        "epoch 1/1: loss 0.5000 val_loss 0.6000 macro-F1 0.400 mAP 0.700 MAE 0.300 (1.0s, 64 samples/s)"
    ]


# ------------------------------------------ --device multiworker (arguments only; real workers: test_multiworker.py)
TWO_WORKERS = json.dumps(
    {"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}, "task": {"type": "worker", "index": 0}}
)


def test_help_documents_multiworker_and_tf_config(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "multiworker" in text and "TF_CONFIG" in text
    assert "global batch" in text and "only task 0 writes" in text


@pytest.mark.parametrize(
    "tf_config, words",
    [(None, "TF_CONFIG"), ("{oops", "not valid JSON"), (TWO_WORKERS.replace('"index": 0', '"index": 5'), "task index")],
)
def test_multiworker_with_a_bad_tf_config_exits_2_with_one_error_line(monkeypatch, capsys, tf_config, words):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    code = cli.main(["train", *TINY, "--device", "multiworker", "--json"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], captured.err


def test_multiworker_batches_that_cannot_be_split_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("TF_CONFIG", TWO_WORKERS)
    code = cli.main(["train", "--device", "multiworker", "--train-size", "65", "--batch-size", "32"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: train_size 65 leaves a last batch of 1 sample")


def test_subprocess_multiworker_without_tf_config_exits_2_without_traceback():
    env = {k: v for k, v in ENV.items() if k != "TF_CONFIG"}
    proc = subprocess.run(
        [sys.executable, "-m", "mlc", "train", "--device", "multiworker", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "TF_CONFIG" in errors[0]


# ---------------------------------------------------------------- bench
def fake_scene_part(quick, repeats):
    """Stands in for the ``data`` part: instant, fixed numbers in the real part's shape."""
    return {"hard": {"images_per_s": 12345.0, "all": [12345.0]}, "soft": {"images_per_s": 6789.0, "all": [6789.0]}}


@pytest.fixture
def fake_data_part(monkeypatch):
    from mlc import bench

    monkeypatch.setitem(bench.PARTS, "data", fake_scene_part)


@pytest.mark.parametrize("part", ["data", "throughput", "time_to_quality", "weighting", "memory", "live", "predict"])
def test_every_benchmark_part_is_an_only_choice(part):
    from mlc import bench

    assert part in bench.PARTS
    assert cli.build_parser().parse_args(["bench", "--only", part]).only == [part]


def test_bench_only_names_are_the_parts(capsys):
    from mlc import bench

    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(["bench", "--only", "nope"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert all(part in err for part in bench.PARTS)


def test_bench_prints_the_table_and_progress_goes_to_stderr(fake_data_part, capsys):
    code = cli.main(["bench", "--quick", "--only", "data"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.splitlines() == [
        "| measurement | reference / baseline | mlc | ratio / target |",
        "|---|---|---|---|",
        "| scene generation 64×64, images/s (hard labels) | — | 12,345 | target ≥ 10,000 |",
        "| scene generation 64×64, images/s (soft labels) | — | 6,789 | target ≥ 5,000 |",
    ]
    assert captured.err.strip() == "[bench] data ..."


def test_bench_json_prints_one_object(fake_data_part, capsys):
    code = cli.main(["bench", "--quick", "--only", "data", "--json"])
    assert code == 0
    record = strict_json(capsys.readouterr().out)
    assert record["quick"] is True and record["repeats"] == 1
    assert record["data"]["hard"]["images_per_s"] == 12345.0


def test_bench_out_writes_the_raw_results_where_asked(fake_data_part, tmp_path, capsys):
    out = tmp_path / "sub" / "last-run.json"
    code = cli.main(["bench", "--quick", "--only", "data", "--repeats", "2", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    assert "scene generation" in captured.out  # the table still prints
    assert f"saved {out}" in captured.err
    record = strict_json(out.read_text())
    assert record["repeats"] == 2 and record["data"]["soft"]["images_per_s"] == 6789.0


def test_bench_without_out_writes_nothing(fake_data_part, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["bench", "--quick", "--only", "data"]) == 0
    assert list(tmp_path.iterdir()) == []


def test_bench_out_that_cannot_be_written_exits_1_after_printing(fake_data_part, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = cli.main(["bench", "--quick", "--only", "data", "--out", str(blocker / "r.json")])
    captured = capsys.readouterr()
    assert code == 1
    assert "scene generation" in captured.out
    assert "error: could not save" in captured.err


def test_bench_measures_for_real(capsys):
    """The real ``data`` part (small sizes): positive rates in the table."""
    assert cli.main(["bench", "--quick", "--only", "data", "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    assert record["data"]["hard"]["images_per_s"] > 0 and record["data"]["soft"]["images_per_s"] > 0


def test_bench_help_names_out(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", "--help"])
    assert exc.value.code == 0
    assert "--out FILE" in capsys.readouterr().out


# ---------------------------------------------------------------- data sets
def test_dataset_flag_picks_the_data_set_and_its_tags():
    digits = config_of("--dataset", "digits")
    assert digits.dataset == "digits" and digits.classes == tuple("0123456789")
    assert digits.prevalence == (0.25,) * 10
    rare = config_of("--dataset", "digits", "--classes", "3,8", "--prevalence", "0.05,0.3")
    assert rare.classes == ("3", "8") and rare.prevalence == (0.05, 0.3)
    assert config_of("--test-size", "300").test_size == 300


def test_json_names_the_data_set_and_has_a_test_report(capsys):
    assert cli.main(["train", *TINY, "--test-size", "32", "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    assert record["dataset"] == "scenes"
    assert set(record["test_report"]) == set(record["report"]) and record["test_report"]["per_tag"]
    assert record["calibration"]["split"] == "test" and len(record["calibration"]["per_tag"]) == 5
    assert {"ece", "brier", "temperature", "ece_calibrated"} <= set(record["calibration"]["per_tag"][0])
    interval = record["confidence_intervals"]["metrics"]["map"]
    assert interval["low"] <= interval["value"] <= interval["high"]


def test_data_path_trains_on_own_images_and_reports_their_tags(tmp_path, shapes_zip, capsys):
    archive = tmp_path / "shapes.zip"
    archive.write_bytes(shapes_zip(120))
    code = cli.main(["train", "--data", str(archive), "--epochs", "1", "--image-size", "32", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    record = strict_json(captured.out)
    assert record["dataset"] == "own" and record["config"]["data_name"].startswith("shapes")
    assert [r["tag"] for r in record["test_report"]["per_tag"]] == ["circle", "square", "bar"]
    sizes = [record["config"][k] for k in ("train_size", "val_size", "test_size")]
    assert sum(sizes) == 120
    assert record["saliency"]["rows"] is None and "no object masks" in record["saliency"]["reason"]


def test_data_path_with_classes_trains_a_subset_and_unknown_tags_are_named(tmp_path, shapes_zip, capsys):
    archive = tmp_path / "shapes.zip"
    archive.write_bytes(shapes_zip(120))
    config = cli.config_from_args(parse("--data", str(archive), "--classes", "bar,circle"), _read(archive))
    assert config.classes == ("bar", "circle") and config.dataset == "own"
    code = cli.main(["train", "--data", str(archive), "--classes", "bird", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "'bird' is not a tag of these images; their tags are: circle, square, bar" in err


def _read(path):
    from mlc.imagesets import read_image_set

    return read_image_set(path)


def test_unusable_data_exits_2_with_its_problems_and_no_traceback(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("path,tags\nmissing.png,cat\n")
    code = cli.main(["train", "--data", str(tmp_path), "--json"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "error:" in captured.err and "missing.png" in captured.err and "Traceback" not in captured.err
    assert cli.main(["train", "--data", str(tmp_path / "nowhere.zip")]) == 2
    assert "nowhere.zip" in capsys.readouterr().err


def test_weighted_bce_with_every_weight_1_says_it_is_plain_bce(capsys):
    assert cli.main(["train", *TINY, "--loss", "weighted_bce", "--weighting", "positive", "--json"]) == 0
    err = capsys.readouterr().err
    assert "note: every tag weight is 1, so weighted_bce trains exactly as bce does" in err
    assert "--auto-weights ratio|inverse|balanced" in err
    assert cli.main(["train", *TINY, "--loss", "weighted_bce", "--auto-weights", "ratio", "--json"]) == 0
    assert "note:" not in capsys.readouterr().err
