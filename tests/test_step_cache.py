"""Traced training steps reused across runs of one process (mlc.step_cache, through mlc.training.train)."""

import threading

import numpy as np
import pytest

from mlc import step_cache
from mlc.config import RunConfig
from mlc.training import make_data, train


def _config(**kw):
    base = dict(model="lean", train_size=96, val_size=48, epochs=2, batch_size=32, image_size=16)
    return RunConfig(**(base | kw))


@pytest.fixture
def cache():
    step_cache.CACHE.clear()
    yield step_cache.CACHE
    step_cache.CACHE.clear()


def _losses(run):
    return [row["loss"] for row in run.batch_history]


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_a_reused_step_trains_exactly_as_a_fresh_one(cache, schedule):
    config = _config(lr_schedule=schedule, seed=3)
    splits = make_data(config)
    with step_cache.fresh_steps():
        fresh = train(config, splits=splits)
    other = train(config.replace(seed=4), splits=make_data(config.replace(seed=4)))  # traces and keeps the step
    hits = cache.hits
    reused = train(config, splits=splits)
    assert cache.hits == hits + 1
    assert str(reused.status) == str(fresh.status) == "finished"
    np.testing.assert_allclose(_losses(reused), _losses(fresh), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reused.val_probabilities, fresh.val_probabilities, rtol=1e-4, atol=1e-5)
    assert reused.report["map"] == pytest.approx(fresh.report["map"], abs=1e-6)
    assert other.model is not reused.model


def test_each_caller_keeps_its_own_trained_model(cache):
    config = _config()
    first = train(config, splits=make_data(config))
    kept = [w.copy() for w in first.model.get_weights()]
    second = train(config.replace(seed=1), splits=make_data(config.replace(seed=1)))
    assert second.model is not first.model
    for a, b in zip(kept, first.model.get_weights()):
        np.testing.assert_array_equal(a, b)  # the next run trained another model
    x_val = make_data(config)[1][0]
    from mlc.training import predict_probabilities

    np.testing.assert_allclose(predict_probabilities(first.model, x_val), first.val_probabilities, atol=1e-5)


def test_a_changed_setting_is_another_step(cache):
    config = _config()
    train(config, splits=make_data(config))
    hits = cache.hits
    changed = config.replace(learning_rate=1e-3)
    train(changed, splits=make_data(changed))
    assert cache.hits == hits
    assert step_cache.step_key(config, True) != step_cache.step_key(changed, True)


def test_fresh_steps_neither_takes_nor_keeps(cache):
    config = _config()
    with step_cache.fresh_steps():
        train(config, splits=make_data(config))
    assert len(cache) == 0 and cache.hits == 0 and cache.misses == 0


class _Model:
    pass


def test_the_cache_lends_one_model_at_a_time_and_keeps_the_newest_keys():
    cache = step_cache.StepCache(max_keys=2)
    built = []

    def build():
        built.append(step_cache.WorkingModel(_Model()))
        return built[-1]

    a = cache.take("a", build)
    b = cache.take("a", build)  # "a" is lent out: a second run of it gets its own
    assert a is not b and len(built) == 2
    cache.give_back("a", a)
    assert cache.take("a", build) is a
    for key in ("a", "b", "c"):
        cache.give_back(key, build())
    assert len(cache) == 2 and cache.take("a", build) is built[-1]  # "a" was the oldest: dropped, built anew


def test_the_cache_is_safe_to_share_between_threads():
    cache = step_cache.StepCache()
    lent = []

    def borrow():
        for _ in range(200):
            w = cache.take("k", lambda: step_cache.WorkingModel(_Model()))
            lent.append(w)
            cache.give_back("k", w)

    threads = [threading.Thread(target=borrow) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 1 and cache.hits + cache.misses == 800
