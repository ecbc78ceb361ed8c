"""The Learn page's "Paper cards" tab: pick a card, run it through the session's jobs, see both tables.

The runs go through :class:`mlc.jobs.SessionJobs` like the Train page's (a series: one
config after another, in this session's training slot); each finished run is scored
here (:func:`mlc.papers.result_row`) and kept in the session, so the card's table
survives the session's run list dropping old runs.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from mlc import papers
from mlc.jobs import SessionJobs
from mlc.ui import job_progress

#: Seconds between two looks at a running card.
POLL_SECONDS = 1.0
#: What a card may take on this machine (the issue's budget), shown next to its wall time.
CARD_BUDGET_SECONDS = 180


def _store() -> dict:
    """``{card: {"results": [...], "started": t, "done": t | None, "planned": n}}`` in the session."""
    return st.session_state.setdefault("paper_cards", {})


def papers_tab(jobs: SessionJobs) -> None:
    """Card picker, its claim and source, the Run button, progress, and the two tables."""
    st.caption(
        "A paper's comparison in miniature: every contender trains on small seeded scenes, once per seed, through "
        "this session's training. The table puts **here (miniature)** next to **paper (full scale)**; the line "
        "below it is computed from the runs: does the paper's ordering hold here?"
    )
    name = st.selectbox(
        "paper card", list(papers.PAPERS), format_func=lambda n: papers.PAPERS[n].title, key="paper_card"
    )
    card = papers.PAPERS[name]
    st.markdown(f"**{card.citation}.** {card.claim}")
    seeds = st.number_input("seeds per contender", 1, papers.MAX_SEEDS, papers.DEFAULT_SEEDS, key="paper_seeds")
    plan = card.configs(int(seeds))
    busy = jobs.job is not None and jobs.job.alive
    st.caption(
        f"{len(plan)} runs: "
        + ", ".join(card.contenders)
        + f" × {int(seeds)} seed{'s' if int(seeds) != 1 else ''}: {papers.estimate_text(len(plan))}. "
        + ("A training is running in this session; wait for it or stop it on Train." if busy else "")
    )
    if st.button("Run the card", key="paper_run", icon=":material/play_arrow:", disabled=busy):
        try:
            jobs.start_series([config for _, config in plan])
        except (ValueError, RuntimeError) as exc:
            st.error(f"The card cannot start: {exc}", icon=":material/error:")
        else:
            _store()[name] = {"results": [], "started": time.monotonic(), "done": None, "planned": len(plan)}
            st.rerun()
    entry = _store().get(name)
    running = entry is not None and entry["done"] is None
    st.fragment(run_every=POLL_SECONDS if running else None)(_card_body)(jobs, card)


def _card_body(jobs: SessionJobs, card: papers.PaperCard) -> None:
    entry = _store().get(card.name)
    if entry is not None and entry["done"] is None:
        _follow(jobs, card, entry)
    results = entry["results"] if entry else []
    rows = papers.result_rows(card, results)
    st.dataframe(pd.DataFrame(papers.table_cells(card, rows)), hide_index=True, width="stretch")
    for line in papers.ordering_lines(card, rows):
        sentence = papers.ordering_sentence(line)
        if line["holds"] is None:
            st.info(sentence, icon=":material/pending:")
        elif line["holds"]:
            st.success(sentence, icon=":material/check_circle:")
        else:
            st.warning(sentence, icon=":material/compare_arrows:")
    st.caption(f"Paper's numbers: {card.source_text()}")
    if entry and entry["done"] is not None:
        wall = entry["done"] - entry["started"]
        st.caption(
            f"Wall time here: **{wall:.0f} s** for {len(results)} of {entry['planned']} runs "
            f"(budget {CARD_BUDGET_SECONDS} s on 2 CPU cores)."
        )


def _follow(jobs: SessionJobs, card: papers.PaperCard, entry: dict) -> None:
    """Collect the series' finished runs into the card's results; mark it done when the series ends."""
    run = jobs.collect()
    if run is not None and card.contender_of(run.config) is not None and run.test_report is not None:
        entry["results"].append(papers.result_row(card, run))
    current = jobs.job
    if current is not None and current.alive:
        n, of = jobs.series or (len(entry["results"]) + 1, entry["planned"])
        st.progress(min(1.0, (n - 1) / max(of, 1)), text=f"Run {n} of {of}")
        job_progress(current.snapshot())
        return
    if jobs.series is None and (current is None or not current.alive):
        entry["done"] = time.monotonic()
        st.rerun()  # stop polling
