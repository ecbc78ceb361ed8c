"""AppTest of the Learn page's "Paper cards" tab: picker, both tables, and a Run that goes through the
session's jobs (with a fake trainer: the real training is tested in tests/test_papers.py)."""

import numpy as np
import pytest

from mlc.runs import Run
from mlc.states import RunStatus


@pytest.fixture
def papers_tab(open_page):
    def make():
        at = open_page("pages/learn.py")
        at.session_state["learn_tab"] = "Paper cards"
        return at.run()

    return make


def test_the_tab_shows_the_card_its_paper_numbers_and_an_unchecked_ordering(papers_tab):
    at = papers_tab()
    assert not at.exception and not at.error
    assert at.selectbox(key="paper_card").value == "asl"
    at.selectbox(key="paper_card").set_value("two_way").run()
    table = at.dataframe[0].value
    assert list(table["contender"]) == ["bce", "two_way"]
    assert list(table["class-wise mAP: paper (full scale)"]) == ["67.71", "74.11"]
    assert list(table["sample-wise mAP: here (miniature)"]) == ["—", "—"]
    assert any("not checked yet" in i.value for i in at.info)


def fake_trainer(config, **kwargs):
    """A finished run whose test scores rank two_way above bce."""
    rng = np.random.default_rng(config.seed)
    y = (rng.random((40, config.num_classes)) < 0.4).astype(np.float32)
    good = 0.9 if config.loss == "two_way" else 0.2  # bce: positives and negatives overlap
    p = np.clip(y * good + rng.random(y.shape) * (1 - good), 0, 1)
    from mlc import metrics

    run = Run(config=config, status=RunStatus.FINISHED, wall_seconds=0.1)
    run.report = run.test_report = metrics.report(y, p)
    run.val_labels, run.val_probabilities, run.test_labels, run.test_probabilities = y, p, y, p
    return run


def test_run_goes_through_the_session_jobs_and_fills_the_table(papers_tab, session):
    jobs = session()
    jobs.trainer = fake_trainer  # what SessionJobs.start trains with
    at = papers_tab()
    at.selectbox(key="paper_card").set_value("two_way").run()
    at.number_input(key="paper_seeds").set_value(1).run()
    at.button(key="paper_run").click().run()
    for _ in range(30):  # each rerun polls the series, as the tab's fragment does every second
        entry = at.session_state["paper_cards"]["two_way"]
        if entry["done"] is not None:
            break
        jobs.job.join(5)
        at.run()
    assert entry["done"] is not None
    assert [r["contender"] for r in entry["results"]] == ["bce", "two_way"]
    assert [r.config.loss for r in jobs.runs] == ["bce", "two_way"]  # the session's own runs
    at.run()
    table = at.dataframe[0].value
    assert "—" not in list(table["class-wise mAP: here (miniature)"])
    assert any("holds here" in s.value for s in at.success), [e.value for e in [*at.warning, *at.info, *at.success]]
    assert any("Wall time here" in c.value for c in at.caption)
    assert not at.exception and not at.error
