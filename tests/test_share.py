"""Share links: round trips, partial links, and fuzzed query strings that must never raise."""

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlc import losses, share
from mlc.config import RunConfig

CONFIGS = [
    RunConfig(),
    RunConfig(loss="weighted_bce", weights=(1.0, 19.0, 1.5, 1.0, 0.7), weighting="positive"),
    RunConfig(loss="focal", loss_params={"gamma": 1.5, "alpha": 0.25}, epochs=3, learning_rate=1e-3),
    RunConfig(loss="asl", loss_params={"gamma_neg": 2.0}, model="seed_cnn", batch_size=32, lr_schedule="constant"),
    RunConfig(loss="mse", soft_labels=True, label_noise=0.1, seed=42, train_size=500, val_size=100),
    RunConfig(classes=("boat", "sun, moon", 'it\'s "x"', "é ☃"), prevalence=(0.5, 0.0, 1.0, 0.25)),
    RunConfig(classes=("only",), prevalence=(0.4,), weights=(2.0,), loss="weighted_bce", image_size=32),
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("thresholds", [None, 0.35])
def test_round_trip(config, thresholds):
    query = share.to_query(config, thresholds)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
    shared = share.from_query(query)
    assert shared.config == config and shared.notes == [] and shared.thresholds == thresholds


def test_per_tag_thresholds_round_trip_and_bad_ones_are_noted():
    config = RunConfig()
    shared = share.from_query(share.to_query(config, [0.1, 0.2, 0.3, 0.4, 0.5]))
    assert shared.thresholds == [0.1, 0.2, 0.3, 0.4, 0.5]
    for raw in ("[0.1,0.2]", "1.5", "nan", "[true,0,0,0,0]", "x"):
        shared = share.from_query({"thr": raw})
        assert shared.thresholds is None and len(shared.notes) == 1 and shared.notes[0].startswith("ignored thr=")


def test_defaults_are_not_written():
    assert share.to_query(RunConfig()) == {}
    assert share.from_query({}).config == RunConfig()


@pytest.mark.parametrize(
    "query, kept, note",
    [
        ({"epochs": "0", "lr": "0.01"}, {"learning_rate": 0.01}, "epochs must be a whole number from 1 to 500"),
        ({"loss": "hinge", "epochs": "3"}, {"epochs": 3}, "loss must be one of: bce"),
        ({"w": "[1,2]", "loss": "weighted_bce"}, {"loss": "weighted_bce"}, "ignored w="),
        ({"tags": "not json", "seed": "7"}, {"seed": 7}, "classes must be a JSON list"),
        ({"soft": "maybe"}, {}, "soft_labels must be 1 or 0"),
        ({"p.gamma": "-3", "loss": "focal"}, {"loss": "focal"}, "ignored p.gamma='-3'"),
        ({"p.gamma": "2", "loss": "bce"}, {"loss": "bce"}, "ignored p.gamma='2'"),
        ({"hack": "<script>", "batch": "16"}, {"batch_size": 16}, "ignored unknown parameter 'hack'"),
        ({"train": "9" * 5000}, {}, "characters long"),
        ({"noise": "inf"}, {}, "finite"),
        ({"device": "gpu:99"}, {}, "this server offers cpu"),
        ({"device": "mirrored"}, {}, "this server offers cpu"),
    ],
)
def test_tampered_fields_fall_back_one_by_one(query, kept, note):
    shared = share.from_query(query, devices=["cpu"])
    assert any(note in n for n in shared.notes), shared.notes
    expected = RunConfig().replace(**kept) if kept else RunConfig()
    assert shared.config == expected


def test_too_many_keys_are_cut():
    shared = share.from_query({f"k{i}": "1" for i in range(500)})
    assert shared.config == RunConfig() and shared.notes[0].startswith("the link has 500 parameters")


def test_list_values_from_repeated_keys_use_the_last():
    assert share.from_query({"epochs": ["2", "3"]}).config.epochs == 3


_keys = st.sampled_from(sorted(share.KEYS) + ["thr", "p.gamma", "p.alpha", "p.clip", "p.weighting", "zzz", ""])
_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "0",
            "1",
            "-1",
            "1e309",
            "nan",
            "inf",
            "[]",
            "[1]",
            '["a","a"]',
            "null",
            "{}",
            "true",
            "[0.5,0.5,0.5,0.5,0.5]",
            "focal",
            "weighted_bce",
            "mirrored",
            "gpu:0",
        ]
    ),
    st.text(alphabet=string.digits + ".-e", max_size=12),
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=8))
def test_fuzzed_query_strings_never_raise(query):
    shared = share.from_query(query)
    assert isinstance(shared.config, RunConfig)
    RunConfig.from_dict(shared.config.to_dict())  # the result is valid
    assert all("\n" not in n for n in shared.notes)
    # and it survives its own round trip
    assert share.from_query(share.to_query(shared.config, shared.thresholds)).config == shared.config


@pytest.mark.parametrize("config", CONFIGS)
def test_form_settings_show_the_config_field_by_field(config):
    settings = share.form_settings(config)
    assert set(settings.fields) == set(share.FORM_FIELDS)
    assert all(settings.fields[name] == getattr(config, name) for name in share.FORM_FIELDS)
    params = {k: v for k, v in settings.loss_params.items() if v is not None}
    rebuilt = RunConfig(**{**settings.fields, "loss_params": params}).replace(
        classes=config.classes, prevalence=config.prevalence, weights=config.weights, image_size=config.image_size
    )
    # nothing the form shows is lost (it spells out the declared defaults a config may leave implicit)
    assert rebuilt.make_loss().get_config() == config.make_loss().get_config()
    assert rebuilt.replace(loss_params=config.loss_params) == config


@pytest.mark.parametrize("loss", list(losses.LOSSES))
def test_form_settings_cover_every_loss_parameter_outside_the_tags_table(loss):
    settings = share.form_settings(RunConfig(loss=loss))
    expected = {k: s.default for k, s in losses.params(loss).items() if k not in ("weights", "weighting")}
    assert settings.loss_params == expected


@pytest.mark.parametrize("thresholds", [0.4, 1, [0.5, 0.25], (0.1, 0.2, 0.3)])
def test_threshold_text_is_what_links_carry(thresholds):
    text = share.threshold_text(thresholds)
    assert share.to_query(RunConfig(), thresholds)[share.THRESHOLD_KEY] == text
    one = isinstance(thresholds, (int, float))
    value, notes = share.thresholds_from_query({share.THRESHOLD_KEY: text}, 1 if one else len(thresholds))
    assert notes == [] and value == (float(thresholds) if one else list(thresholds))


# ---------------------------------------------------------------- data sets
def test_a_built_in_data_set_travels_by_name():
    digits = RunConfig(dataset="digits", epochs=3)
    assert share.to_query(digits) == {"data": "digits", "epochs": "3"}  # its default tags need no mention
    assert share.from_query(share.to_query(digits)).config == digits
    chosen = RunConfig(dataset="digits", classes=("3", "7"), prevalence=(0.1, 0.4), test_size=300)
    query = share.to_query(chosen)
    assert query["data"] == "digits" and query["tags"] == '["3","7"]' and query["test"] == "300"
    back = share.from_query(query)
    assert back.config == chosen and back.notes == []
    assert share.link_note(chosen) is None
    assert share.has_config({"data": "digits"})


def test_digit_tags_on_scenes_or_an_unknown_data_set_are_noted():
    noted = share.from_query({"data": "photos", "epochs": "2"})
    assert noted.config == RunConfig(epochs=2)
    assert len(noted.notes) == 1 and "data='photos'" in noted.notes[0]


def test_an_own_data_link_keeps_everything_but_the_data_and_says_so():
    own = RunConfig(
        dataset="own", classes=("cat", "dog"), prevalence=(0.3, 0.6), train_size=80, val_size=10, test_size=10,
        data_name="pets.zip", data_fingerprint="abc", loss="focal", epochs=7, image_size=96, seed=3,
    )  # fmt: skip
    query = share.to_query(own)
    assert query["data"] == "own"
    assert not set(query) & {"tags", "prev", "w", "train", "val", "test"}  # they describe the images
    assert "pets.zip" not in "".join(query.values()) and "abc" not in query.values()
    back = share.from_query(query)
    assert back.config.dataset == "scenes" and back.config.classes == RunConfig().classes
    assert (back.config.loss, back.config.epochs, back.config.image_size, back.config.seed) == ("focal", 7, 96, 3)
    assert back.notes == [share.OWN_DATA_NOTE] and "data set is not included" in back.notes[0]
    assert "pets.zip" in share.link_note(own)


# ---------------------------------------------------------------- the Predict page's threshold strategy
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("top_k", {"k": 2}),
        ("uncertain_band", {"lo": 0.25, "hi": 0.8}),
        ("mcut", {}),
        ("fixed_precision", {"precision": 0.95}),
    ],
)
def test_a_strategy_and_its_parameters_round_trip(name, params):
    query = share.strategy_query(name, params)
    assert query["strat"] == name and all(k == "strat" or k.startswith("sp.") for k in query)
    assert share.strategy_from_query(query, 5) == (name, params, [])


def test_a_per_tag_strategy_parameter_travels_as_a_json_list():
    query = share.strategy_query("manual_per_tag", {"t": [0.1, 0.2]})
    assert query == {"strat": "manual_per_tag", "sp.t": "[0.1,0.2]"}
    assert share.strategy_from_query(query, 2) == ("manual_per_tag", {"t": [0.1, 0.2]}, [])
    name, params, notes = share.strategy_from_query(query, 3)  # a link for another run's tags
    assert params == {} and notes == ["ignored sp.t=[0.1,0.2]: t must have one value per tag (3), got 2"]


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ({"strat": "oracle"}, "ignored strat='oracle': the strategy must be one of fixed_global, "),
        ({"strat": "top_k", "sp.k": "two"}, "ignored sp.k=two: not a number or a JSON list"),
        ({"strat": "top_k", "sp.k": "1.5"}, "ignored sp.k=1.5: k must be a whole number"),
        ({"strat": "top_k", "sp.gamma": "1"}, "ignored sp.gamma=1: unknown parameter 'gamma' for strategy 'top_k'"),
        ({"strat": "uncertain_band", "sp.lo": "-1"}, "ignored sp.lo=-1: lo must be"),
        ({"strat": "mcut", "sp.k": "2"}, "ignored sp.k=2: unknown parameter 'k' for strategy 'mcut'; it accepts: no"),
    ],
)
def test_a_tampered_strategy_link_falls_back_with_a_note(query, note):
    name, params, notes = share.strategy_from_query(query, 5)
    assert params == {} and len(notes) == 1 and notes[0].startswith(note), notes


def test_no_strategy_in_the_link_means_nothing_and_thr_keeps_working():
    assert share.strategy_from_query({"thr": "0.4"}, 5) == (None, {}, [])
    assert share.thresholds_from_query({"thr": "0.4", "strat": "top_k"}, 5) == (0.4, [])


def test_strategy_keys_are_not_unknown_parameters_on_a_config_link():
    shared = share.from_query({"epochs": "3", "strat": "top_k", "sp.k": "2"})
    assert shared.config == RunConfig(epochs=3) and shared.notes == []
    assert not share.has_config({"strat": "top_k", "sp.k": "2"})
