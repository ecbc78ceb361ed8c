"""AppTest of the Evaluate page's "Where it looks" tab: per-tag pointing game and mass inside next to the
random baseline (numbers equal mlc.saliency_scores on the same run), computed once per run and only when
the tab is open; runs of the same data side by side; own images say they have no masks."""

import pandas as pd
import pytest

from mlc import saliency_scores, ui_saliency

TAB = "Where it looks"


@pytest.fixture
def page(session, open_page):
    def open_(runs, tab=TAB):
        session(runs)
        at = open_page("pages/evaluate.py")
        if tab:
            at.session_state["eval_tab"] = tab
            at.run()
            assert not at.exception, [e.value for e in at.exception]
        return at

    return open_


@pytest.fixture
def counted(monkeypatch):
    """Calls of score_run by run id (the page's cache is emptied first)."""
    ui_saliency.cached_scores.clear()
    calls = []
    real = saliency_scores.score_run

    def count(run, *args, **kwargs):
        calls.append(run.id)
        return real(run, *args, **kwargs)

    monkeypatch.setattr(saliency_scores, "score_run", count)
    yield calls
    ui_saliency.cached_scores.clear()


def tables(at, first_column):
    return [d.value for d in at.dataframe if list(d.value.columns)[:1] == [first_column] and "pointing game" in d.value]


@pytest.mark.slow
def test_the_table_equals_the_library_scores_and_runs_compare(page, two_runs, counted):
    runs = list(two_runs)
    at = page(runs, tab=None)
    assert counted == [] and any("Open this tab" in c.value for c in at.caption)  # nothing until it is opened
    at.session_state["eval_tab"] = TAB
    at.run()
    scored = list(counted)
    assert sorted(scored) == sorted(r.id for r in runs)  # once per run: the table's run is reused below
    expected = ui_saliency.scores_frame(saliency_scores.score_run(runs[1])["rows"])  # newest run first
    (one,) = tables(at, "tag")
    pd.testing.assert_frame_equal(one, expected, check_dtype=False)
    assert any("of 5 tags" in m.value and "random map" in m.value for m in at.markdown)
    (compared,) = tables(at, "run")
    assert sorted(set(compared["run"])) == sorted(r.label for r in runs) and len(compared) == 10
    del counted[:]
    at.selectbox(key="sal_run").set_value(runs[0].number).run()
    at.multiselect(key="sal_compare").set_value([runs[0].number]).run()
    assert not at.exception and counted == []  # no run scored twice
    (compared,) = tables(at, "run")
    assert set(compared["run"]) == {runs[0].label}


def test_own_images_say_there_are_no_masks(page, own_data_run, counted):
    at = page([own_data_run()])
    assert any("no object masks" in i.value for i in at.info)
    assert counted == [] and not tables(at, "tag")


def test_a_digits_run_is_scored_against_the_digits_ink(page, counted):
    from mlc.config import RunConfig
    from mlc.training import train

    run = train(
        RunConfig(dataset="digits", classes=("3", "7"), prevalence=(0.5, 0.5), image_size=32, epochs=1,
                  train_size=64, val_size=32, test_size=40, batch_size=32)
    )  # fmt: skip
    at = page([run])
    assert counted == [run.id] and not any("no object masks" in i.value for i in at.info)
    (one,) = tables(at, "tag")
    assert list(one["tag"]) == ["3", "7"] and (one["images with the tag"] > 0).all()
