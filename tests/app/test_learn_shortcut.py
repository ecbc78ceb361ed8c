"""AppTest of Learn → "Shortcut exercise": the one-click run trains through the session's job queue
and the tab then shows the lesson's numbers and pictures (a tiny scenario stands in for the real one)."""

import pytest

from mlc import shortcut

TAB = "Shortcut exercise"
TINY = shortcut.lesson_config(epochs=1, train_size=256, val_size=64, test_size=200, batch_size=32, image_size=32)


@pytest.fixture
def tiny_lesson(monkeypatch):
    """The tab trains and reads TINY (and its control) instead of the minute-long exercise."""
    monkeypatch.setattr(shortcut, "LESSON", TINY)
    monkeypatch.setattr(shortcut, "CONTROL", shortcut.control_of(TINY))


def _open(open_page):
    at = open_page("pages/learn.py")
    at.session_state["learn_tab"] = TAB
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_tab_explains_and_offers_the_run(open_page, session):
    session()
    at = _open(open_page)
    assert TAB in [t.label for t in at.tabs]
    assert any("shortcut" in m.value for m in at.markdown)
    assert [b.label for b in at.button][:2] == ["Train the shortcut run", "… and a control run without the shortcut"]
    assert not at.metric and not at.error


@pytest.mark.slow
def test_one_click_trains_through_the_queue_then_shows_the_lesson(open_page, session, tiny_lesson):
    jobs = session()
    at = _open(open_page)
    at.button(key="shortcut_train").click().run()
    assert jobs.job is not None and jobs.job.config == shortcut.LESSON
    assert jobs.job.join(120)
    at.run()  # the finished run is collected into the session (Runs and Evaluate list it)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [run.config for run in jobs.runs] == [shortcut.LESSON]
    labels = [m.label for m in at.metric]
    assert labels == [
        "house recall, no tree",
        "house recall, with tree",
        "saliency on the tree",
        "saliency on the house",
    ]
    assert any(m.value.startswith("**House recall") for m in at.markdown)
    captions = [c for image in at.image for c in image.captions]
    assert len(captions) == 4 and sum("with a tree" in c for c in captions) == 2, captions
    assert not at.error


def test_the_train_page_shows_a_linked_scenario_in_its_expander(open_page):
    at = open_page("pages/train.py", query={"shortcut": "house:tree:0.9:0.4"})
    assert "Scenario: a shortcut" in [e.label for e in at.expander]
    assert (at.selectbox(key="cooccur_tag").value, at.selectbox(key="cooccur_with").value) == ("house", "tree")
    assert (at.slider(key="cooccur_train").value, at.slider(key="cooccur_test").value) == (0.9, 0.4)
    config = at.session_state["train_config"]
    assert (config.cooccur_tag, config.cooccur_with, config.cooccur_train, config.cooccur_test) == (
        "house",
        "tree",
        0.9,
        0.4,
    )
    at.selectbox(key="cooccur_tag").set_value("").run()  # off again: the partner alone is refused by name
    assert any("cooccur_with" in e.value for e in at.error)
    assert not at.exception


def test_the_train_button_promises_a_time_only_once_measured(monkeypatch, open_page):
    from mlc import speed

    monkeypatch.setattr(speed, "BOOK", speed.SpeedBook())
    at = open_page("pages/learn.py")
    at.session_state["learn_tab"] = "Shortcut exercise"
    at.run()
    help_text = at.button(key="shortcut_train").help
    assert "None" not in help_text and "about" not in help_text
    speed.BOOK.record_gflops(speed.REFERENCE_GFLOPS)
    at.run()
    help_text = at.button(key="shortcut_train").help
    assert "about about" not in help_text and ": about" in help_text and "on this server" in help_text
