"""Shared pytest setup: quiet TensorFlow before it is imported anywhere, and the quick loop.

The quick loop is ``python -m pytest -m "not slow"`` (under 2 minutes on the 2-core CI
machine). ``slow`` tests still run in CI and in ``scripts/test.sh``; they are the ones that
take several seconds each on their own: a fresh Python process that imports TensorFlow, a
real training beyond one tiny run (several runs, edge configs, queues and threads waiting
on each other), the live pitfall demos on the Learn page, and the browser journeys
(marked in tests/browser/conftest.py). A test file marks its own with ``@pytest.mark.slow``;
doctests cannot carry a marker, and a few tests measured slow are listed here by node id
(without parameters: all of them; with parameters: that case), each with why it is slow.
"""

import os
import warnings

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# nothing is downloaded at test time: pretrained backbones build with random weights
os.environ.setdefault("MLC_BACKBONE_WEIGHTS", "none")

# Measured one file at a time on the 2-core machine (seconds per test in brackets).
SLOW = {
    # doctests
    "mlc/training.py::mlc.training": "the module doctest trains a real model [2]",
    "mlc/pitfalls.py::mlc.pitfalls": "the module doctest runs a live pitfall demo [1]",
    # a fresh Python process that imports TensorFlow (and trains)
    "tests/test_cli.py::test_subprocess_json_run_prints_exactly_one_json_object": "a python -m mlc train process [6]",
    "tests/test_cli.py::test_subprocess_config_is_defaults_except_the_given_flags": "shares that process",
    "tests/test_cli.py::test_subprocess_out_dir_has_model_and_run_json": "shares that process",
    "tests/test_cli.py::test_subprocess_non_tty_has_no_carriage_return_progress": "shares that process",
    "tests/test_cli.py::test_subprocess_bad_argument_exits_2_without_traceback": "a python -m mlc process [5]",
    "tests/test_cli.py::test_subprocess_multiworker_without_tf_config_exits_2_without_traceback": "a process [7]",
    "tests/test_devices.py::test_mirrored_training_over_two_logical_cpus": "a process training mirrored [12]",
    "tests/test_devices.py::test_multiworker_strategy_after_tensorflow_started_explains_the_order": "a process [6]",
    "tests/test_runs.py::test_the_probe_sees_tensorflow_when_it_is_imported": "a process importing Keras [5]",
    # real training beyond one tiny run
    "tests/test_multiworker.py::test_the_loop_trains_like_fit_on_one_replica": "two trainings compared [9]",
    "tests/test_training.py::test_valid_extremes_train_or_fail_with_a_message": "seven edge-config runs [2-5 each]",
    "tests/test_training.py::test_same_seed_same_losses_different_seed_different": "three runs [5]",
    "tests/test_training.py::test_first_batch_loss_matches_an_independent_computation": "a run plus a reference [4]",
    "tests/test_training.py::test_eval_every_records_evaluations": "two epochs scored every 3 batches [4]",
    "tests/test_training.py::test_extra_callbacks_run_after_the_engine_and_see_validation_scores": "two epochs [2]",
    "tests/test_training.py::test_stop_event_from_another_thread_stops_after_that_batch": "a longer run, stopped [2]",
    "tests/test_training.py::test_stop_event_from_a_watcher_thread_ends_within_one_batch": "a longer run, stopped [2]",
    # a run per architecture (linear stays in the quick loop; tests/test_models.py builds each one)
    "tests/test_training.py::test_every_model_trains[compact]": "a run [1.5]",
    "tests/test_training.py::test_every_model_trains[lean]": "a run [1.5]",
    "tests/test_training.py::test_every_model_trains[seed_cnn]": "a run [1.5]",
    # each loss in a real run; bce stays in the quick loop, tests/test_losses.py checks every loss's values
    "tests/test_training.py::test_every_loss_trains[asl]": "a run [2]",
    "tests/test_training.py::test_every_loss_trains[focal]": "a run [2]",
    "tests/test_training.py::test_every_loss_trains[mse]": "a run [2]",
    "tests/test_training.py::test_every_loss_trains[weighted_bce]": "a run [2]",
    "tests/test_inference.py::test_cache_is_bounded_and_keyed_by_run": "trains a second run [2.5]",
    "tests/test_jobs.py::test_session_jobs_collects_bounded_runs_and_refuses_a_second_job": "four jobs [10]",
    "tests/test_jobs.py::test_a_failing_run_does_not_affect_another": "two jobs [2.5]",
    "tests/test_jobs.py::test_session_close_stops_the_job_and_drops_runs": "a long job, closed [2.5]",
    "tests/test_jobs.py::test_two_sessions_do_not_see_or_stop_each_other": "two jobs at once [4]",
    "tests/test_jobs.py::test_a_closed_session_lets_its_models_and_data_be_freed": "a job plus full collections [4]",
    "tests/test_jobs.py::test_queued_job_waits_for_a_slot_then_runs": "two jobs in line [2.5]",
    "tests/test_jobs.py::test_job_stop_ends_within_a_batch_and_keeps_the_partial_run": "a long job, stopped [2.5]",
    "tests/app/test_predict.py::test_quick_model_button_trains_and_the_predictor_appears": "trains on the page [6]",
    "tests/app/test_predict.py::test_an_mse_run_shows_predicted_strength_not_probability": "trains its own run [3]",
    "tests/app/test_predict.py::test_a_run_that_finished_elsewhere_joins_the_list": "a background job [3]",
    "tests/app/test_train.py::test_a_queued_run_waits_visibly_then_trains": "two jobs in line on the page [6]",
    "tests/app/test_train.py::test_tiny_real_training_completes_with_history": "trains on the page [5]",
    "tests/app/test_evaluate.py::test_soft_label_run_shows_strength_scatter_and_mae": "trains its own run [4]",
    "tests/app/test_runs.py::test_the_run_directory_keeps_runs_across_sessions": "trains, saves, reloads [7]",
    # one more tiny run each, where a sibling test in the quick loop covers the same path with a run
    "tests/test_cli.py::test_in_process_text_run_prints_the_table": "a run (the JSON run stays) [1.5]",
    "tests/test_cli.py::test_failed_run_exits_1_and_still_reports_json": "a run, failing [1.5]",
    "tests/test_cli.py::test_out_dir_that_cannot_be_written_exits_1": "a run, then the save error [1.5]",
    "tests/test_training.py::test_given_splits_are_used": "a run on given splits [2]",
    "tests/test_training.py::test_a_failing_extra_callback_fails_the_run_only": "a run, failing [2]",
    "tests/test_jobs.py::test_nan_run_fails_with_message": "a job, failing (the plain job stays) [1.5]",
    "tests/test_hosting.py::test_limits_are_enforced_server_side_not_only_in_widgets": "a job within limits [2]",
    "tests/test_runfiles.py::test_tensorboard_event_files_are_written": "TensorBoard and a run [2]",
    "tests/test_runfiles.py::test_reference_article_model_loads_through_the_logits_wrapper": "fits a model [1.5]",
    "tests/test_data.py::test_every_default_tag_is_visible_in_colour_statistics": "4,000 scenes and a probe [2.5]",
    # live pitfall demos through the Learn page (tests/test_pitfalls.py runs each demo directly)
    "tests/app/test_learn.py::test_each_pitfall_runs_live[closure_loss_save_load]": "trains, saves, loads [5.5]",
    "tests/app/test_learn.py::test_each_pitfall_runs_live[softmax_bce]": "trains two models [4]",
    "tests/app/test_learn.py::test_each_pitfall_runs_live[class_weight_multihot]": "trains two models [3.5]",
    "tests/app/test_learn.py::test_each_pitfall_runs_live[accuracy_is_argmax]": "trains a model [2.5]",
    "tests/app/test_learn.py::test_each_pitfall_runs_live[labels_shape]": "builds and fits models [2.5]",
}


def pytest_collection_modifyitems(config, items):
    # Runs before -m deselects (conftest hooks run before the built-in one), so the marks count.
    marked = set()
    for item in items:
        for key in (item.nodeid, item.nodeid.split("[")[0]):
            if key in SLOW:
                item.add_marker(pytest.mark.slow)
                marked.add(key)
    # A renamed test silently leaves the quick loop slower: say so on a whole-suite run.
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS and not config.option.keyword:
        stale = sorted(set(SLOW) - marked)
        if stale:
            warnings.warn(
                pytest.PytestWarning(f"tests/conftest.py SLOW names tests that no longer exist: {', '.join(stale)}"),
                stacklevel=1,
            )


@pytest.fixture(scope="session")
def shapes_zip(tmp_path_factory):
    """``shapes_zip(n)``: bytes of a learnable own-image zip (tags circle, square, bar; a 0/1-column labels.csv),
    made with Pillow by :func:`mlc.bench.realdata.own_images_zip` and cached per size."""
    from mlc.bench.realdata import own_images_zip

    made: dict[int, bytes] = {}

    def make(n: int = 120) -> bytes:
        if n not in made:
            path = tmp_path_factory.mktemp("own") / f"shapes-{n}.zip"
            own_images_zip(path, n)
            made[n] = path.read_bytes()
        return made[n]

    return make


@pytest.fixture
def own_data_run():
    """``own_data_run()``: a finished run trained on own images, made by hand (a real untrained model, a report)."""
    from mlc.config import RunConfig

    def make():
        import numpy as np

        from mlc import metrics, models
        from mlc.runs import Run

        config = RunConfig(
            dataset="own", classes=("cat", "dog", "car"), image_size=32, model="linear", epochs=1,
            train_size=20, val_size=6, test_size=6, data_name="pets.zip", data_fingerprint="abc123",
        )  # fmt: skip
        y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
        p = np.clip(y * 0.6 + 0.2, 0, 1)
        run = Run(config, status="finished", number=3, train_seconds=1.0)
        run.model = models.build("linear", 3, 32)
        run.val_labels, run.val_probabilities = y, p
        run.test_labels, run.test_probabilities = y, p
        run.report = metrics.report(y, p, classes=config.classes)
        run.test_report = metrics.report(y, p * 0.9, classes=config.classes)
        return run

    return make
