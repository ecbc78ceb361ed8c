"""mlc.hosting: settings from environment and secrets, limits enforced where work is accepted."""

import pytest

from mlc import hosting
from mlc.config import RunConfig
from mlc.jobs import SessionJobs


def test_defaults_and_sources():
    assert hosting.settings_from({}) == hosting.HostSettings()
    s = hosting.settings_from(
        {"MLC_MAX_EPOCHS": "5"}, secrets={"max_epochs": 7, "max_images": 3, "workshop_mode": True}
    )
    assert (s.max_epochs, s.max_images, s.workshop_mode) == (5, 3, True)  # the environment wins over secrets
    assert hosting.settings_from({"MLC_RUN_DIR": " /tmp/runs "}).run_dir == "/tmp/runs"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"MLC_MAX_EPOCHS": "0"}, "MLC_MAX_EPOCHS must be a whole number from 1 to 500, got 0"),
        ({"MLC_MAX_TRAIN_SIZE": "lots"}, "MLC_MAX_TRAIN_SIZE must be a whole number"),
        ({"MLC_WORKSHOP_MODE": "maybe"}, "MLC_WORKSHOP_MODE must be 1/true or 0/false"),
    ],
)
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(ValueError, match=message):
        hosting.settings_from(env)


def test_config_problems_name_field_limit_and_variable():
    s = hosting.HostSettings(max_train_size=1000, max_val_size=100, max_epochs=4, max_samples=3000)
    problems = hosting.config_problems(RunConfig(train_size=2000, val_size=200, epochs=5), s)
    assert problems == [
        "train_size is 2,000; this server allows at most 1,000 (MLC_MAX_TRAIN_SIZE)",
        "val_size is 200; this server allows at most 100 (MLC_MAX_VAL_SIZE)",
        "epochs is 5; this server allows at most 4 (MLC_MAX_EPOCHS)",
        "train_size x epochs is 10,000 samples; this server allows at most 3,000 per run "
        "(MLC_MAX_SAMPLES): fewer epochs or scenes",
    ]
    assert hosting.config_problems(RunConfig(train_size=500, val_size=100, epochs=4), s) == []


def test_limits_are_enforced_server_side_not_only_in_widgets():
    jobs = SessionJobs(settings=hosting.HostSettings(max_epochs=2))
    with pytest.raises(ValueError, match="epochs is 3; this server allows at most 2"):
        jobs.start(RunConfig(epochs=3, train_size=64, val_size=32))
    assert jobs.job is None
    job = jobs.start(RunConfig(epochs=1, train_size=64, val_size=32, batch_size=32))
    assert job.join(60) and job.run.status == "finished"


def test_every_setting_is_read_in_one_place():
    """HostSettings holds every MLC_* setting, the concurrent-training limit and the run directory included."""
    env = {
        "MLC_MAX_CONCURRENT_TRAININGS": "3",
        "MLC_RUN_DIR": "/tmp/runs",
        "MLC_TENSORBOARD": "yes",
        "MLC_MAX_RUNS": "4",
    }
    s, problems = hosting.read_settings(env)
    assert problems == []
    assert (s.max_concurrent_trainings, s.run_dir, s.tensorboard, s.max_runs) == (3, "/tmp/runs", True, 4)
    assert hosting.ENV["max_concurrent_trainings"] == "MLC_MAX_CONCURRENT_TRAININGS"
    assert hosting.HostSettings().max_concurrent_trainings == 2
    assert hosting.read_settings({}) == (hosting.HostSettings(), [])


def test_a_bad_setting_falls_back_alone_with_one_line_each():
    env = {"MLC_MAX_CONCURRENT_TRAININGS": "65", "MLC_MAX_EPOCHS": "zero", "MLC_MAX_IMAGES": "9"}
    s, problems = hosting.read_settings(env, secrets={"workshop_mode": "maybe"})
    defaults = hosting.HostSettings()
    assert (s.max_concurrent_trainings, s.max_epochs, s.workshop_mode) == (
        defaults.max_concurrent_trainings,
        defaults.max_epochs,
        defaults.workshop_mode,
    )
    assert s.max_images == 9  # the good setting still applies
    assert problems == [
        "MLC_MAX_EPOCHS must be a whole number from 1 to 500, got 'zero'; using the default, 50",
        "MLC_MAX_CONCURRENT_TRAININGS must be a whole number from 1 to 64, got 65; using the default, 2",
        "workshop_mode in the [mlc] secrets must be 1/true or 0/false, got 'maybe'; using the default, off",
    ]


def test_the_environment_wins_over_secrets_even_over_a_bad_secret():
    s, problems = hosting.read_settings({"MLC_MAX_RUNS": "5"}, secrets={"max_runs": "lots", "max_images": 3})
    assert (s.max_runs, s.max_images, problems) == (5, 3, [])
    s, problems = hosting.read_settings({"MLC_MAX_RUNS": "  "}, secrets={"max_runs": 6})
    assert (s.max_runs, problems) == (6, [])  # an empty variable counts as not set


@pytest.mark.parametrize("name", sorted(hosting.RANGES))
def test_each_whole_number_setting_refuses_its_bounds_and_accepts_them(name):
    lo, hi = hosting.RANGES[name]
    variable = hosting.ENV[name]
    for good in (lo, hi):
        assert getattr(hosting.settings_from({variable: str(good)}), name) == good
    for bad in (lo - 1, hi + 1, "2.5", "true"):
        with pytest.raises(ValueError, match=rf"^{variable} must be a whole number from {lo} to {hi}, got "):
            hosting.settings_from({variable: str(bad)})
        s, problems = hosting.read_settings({variable: str(bad)})
        assert getattr(s, name) == getattr(hosting.HostSettings(), name) and len(problems) == 1
