"""Tests for :mod:`mlc.registry`, and that losses, models and pitfalls all use it (one behaviour)."""

import pytest

from mlc import datasets, losses, models, pitfalls
from mlc.registry import Registry


def test_register_stores_what_make_builds_and_returns_the_object():
    made = Registry("thing", make=lambda name, obj, colour: (name, obj(), colour))

    @made.register("red_one", colour="red")
    def red():
        return 1

    assert red() == 1  # the decorator hands the object back unchanged
    assert made["red_one"] == ("red_one", 1, "red")
    assert list(made) == ["red_one"]


def test_entries_keep_registration_order():
    order = Registry("thing")
    for name in ("b", "a", "c"):
        order.register(name)(object())
    assert list(order) == ["b", "a", "c"]


def test_a_duplicate_name_is_refused_and_the_first_entry_kept():
    things = Registry("thing")
    first = object()
    things.register("x")(first)
    with pytest.raises(ValueError, match="thing 'x' is already registered; choose another name"):
        things.register("x")(object())
    with pytest.raises(ValueError, match="already registered"):
        things.register("x")(first)  # even the same object: a name is registered once
    assert things["x"] is first


@pytest.mark.parametrize("name", ["two words", "", "1st", None, 3])
def test_names_must_be_identifier_like(name):
    with pytest.raises(ValueError, match="thing name must be an identifier-like string such as 'x'"):
        Registry("thing", example="x").register(name)


def test_make_may_refuse_an_object_and_nothing_is_stored():
    def only_ints(name, obj):
        if not isinstance(obj, int):
            raise TypeError("an int please")
        return obj

    ints = Registry("int", make=only_ints)
    with pytest.raises(TypeError):
        ints.register("a")("text")
    assert "a" not in ints


def test_lookup_names_the_choices():
    things = Registry("thing")
    things.register("a")(1)
    assert things.lookup("a") == 1
    for bad in ("b", None, ["a"]):
        with pytest.raises(ValueError, match="unknown thing .*; choose one of: a"):
            things.lookup(bad)


def test_copy_is_an_independent_registry_with_the_same_rules():
    things = Registry("thing", make=lambda name, obj: obj * 2)
    things.register("a")(1)
    twin = things.copy()
    assert isinstance(twin, Registry) and twin == {"a": 2}
    twin.register("b")(5)
    assert twin["b"] == 10 and "b" not in things
    with pytest.raises(ValueError, match="already registered"):
        twin.register("a")(1)


# ---------------------------------------------------------------- the three registries
REGISTRIES = {
    "losses": (losses.LOSSES, lambda: losses.register("bce")(losses.MSELoss)),
    "models": (models.MODELS, lambda: models.register("compact", "again")(lambda n, s: None)),
    "datasets": (
        datasets.DATASETS,
        lambda: datasets.DATASETS.register(
            "scenes", title="t", summary="s", builtin=True, default_tags=("a",), default_prevalence=lambda c: (0.5,)
        )(lambda config, source=None: None),
    ),
    "pitfalls": (
        pitfalls.PITFALLS,
        lambda: pitfalls.register("labels_shape", title="t", explanation="e", wrong_code="a", fix_code="b")(
            lambda: None
        ),
    ),
}


@pytest.mark.parametrize("kind", list(REGISTRIES))
def test_each_registry_is_one_and_refuses_duplicates(kind):
    registry, register_again = REGISTRIES[kind]
    assert isinstance(registry, Registry) and len(registry) >= 3
    before = dict(registry)
    with pytest.raises(ValueError, match="is already registered"):
        register_again()
    assert dict(registry) == before
