"""Paper cards: every card's configs are valid contenders, the tables and ordering lines from fake results,
the CLI subcommand, and one real (tiny) run of the smallest card."""

import json

import pytest

from mlc import cli, papers
from mlc.config import RunConfig
from mlc.papers import PAPERS

CARDS = list(PAPERS)


@pytest.mark.parametrize("name", CARDS)
def test_each_card_has_valid_seeded_configs_and_cites_its_numbers(name):
    card = PAPERS[name]
    plan = card.configs(3)
    assert len(plan) == 3 * len(card.contenders)
    for contender, config in plan:
        assert isinstance(config, RunConfig) and RunConfig.from_json(config.to_json()) == config
        assert card.contender_of(config) == contender
        assert config.test_size > 0 and config.train_size <= 4000 and config.epochs <= 6  # a miniature
    assert sorted({c.seed for _, c in plan}) == [0, 1, 2]
    assert set(card.paper) == set(card.contenders)
    for metric in card.metrics:
        assert metric in papers.METRICS
        assert sorted(card.order[metric]) == sorted(card.contenders)
    assert card.citation and card.source
    assert card.contender_of(RunConfig(loss="mse", soft_labels=True)) is None


def _fake(card, values):
    """One result per contender and seed: metric = values[contender] + seed * 0.001."""
    return [
        {"contender": n, "seed": s, "seconds": 1.0, **{m: values[n] + s * 0.001 for m in card.metrics}}
        for n in card.contenders
        for s in range(3)
    ]


@pytest.mark.parametrize("name", CARDS)
def test_table_and_ordering_from_fake_results(name):
    card = PAPERS[name]
    metric = card.metrics[0]
    order = card.order[metric]
    rising = {n: 0.5 + 0.1 * order.index(n) for n in card.contenders}
    rows = papers.result_rows(card, _fake(card, rising))
    assert [r["contender"] for r in rows] == list(card.contenders)
    best = next(r for r in rows if r["contender"] == order[-1])
    assert best["seeds"] == 3
    assert best[f"here {metric}"] == pytest.approx(0.5 + 0.1 * (len(order) - 1) + 0.001)
    assert best[f"here {metric} sd"] == pytest.approx(0.001)
    assert best[f"paper {metric}"] == card.paper[order[-1]][metric]
    line = papers.ordering_lines(card, rows)[0]
    assert line["holds"] is True and "holds here" in papers.ordering_sentence(line)
    # the paper's best is the worst here: the ordering does not hold, and the line says so
    falling = {n: 0.9 - 0.1 * order.index(n) for n in card.contenders}
    line = papers.ordering_lines(card, papers.result_rows(card, _fake(card, falling)))[0]
    assert line["holds"] is False and "does NOT hold" in papers.ordering_sentence(line)
    text = papers.table_text(card, rows)
    assert "here (miniature)" in text and "paper (full scale)" in text


def test_an_unrun_contender_leaves_the_ordering_unchecked():
    card = PAPERS["two_way"]
    rows = papers.result_rows(card, [{"contender": "bce", "seed": 0, "map": 0.5, "sample_map": 0.8}])
    assert rows[1]["here map"] is None and rows[1]["seeds"] == 0
    assert all(line["holds"] is None for line in papers.ordering_lines(card, rows))


def test_only_verified_paper_numbers_are_shown():
    assert PAPERS["two_way"].paper["two_way"] == {"map": 74.11, "sample_map": 86.66}
    assert PAPERS["two_way"].paper["bce"] == {"map": 67.71, "sample_map": 79.65}
    assert PAPERS["asl"].paper["asl"]["map"] == 86.6
    assert PAPERS["asl"].paper["bce"]["map"] is None  # not verified: left empty, never guessed


def test_cli_parses_reproduce():
    args = cli.build_parser().parse_args(["reproduce", "two_way", "--seeds", "2", "--json"])
    assert (args.command, args.name, args.seeds, args.json) == ("reproduce", "two_way", 2, True)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["reproduce", "nope"])


def test_cli_refuses_too_many_seeds_in_one_line(capsys):
    assert cli.main(["reproduce", "two_way", "--seeds", "99"]) == 2
    assert "seeds must be a whole number from 1 to 5" in capsys.readouterr().err


@pytest.mark.slow
def test_the_smallest_card_runs_for_real_at_a_tiny_size(capsys):
    tiny = dict(train_size=128, val_size=32, test_size=64, image_size=16, epochs=1, batch_size=32)
    result = papers.reproduce("two_way", seeds=1, shrink=tiny)
    assert not result.failed and len(result.results) == 2
    for row in result.rows:
        assert row["seeds"] == 1 and 0 <= row["here map"] <= 1 and 0 <= row["here sample_map"] <= 1
    assert [line["metric"] for line in result.lines] == ["map", "sample_map"]
    assert all(isinstance(line["holds"], bool) for line in result.lines)
    assert json.loads(json.dumps(result.to_dict()))["card"] == "two_way"


def test_a_card_lists_only_its_verified_numbers_and_the_rest_is_none():
    card = papers._card(
        "toy",
        lambda: {
            "citation": "c",
            "claim": "c",
            "contenders": {"a": papers.MINIATURE, "b": papers.MINIATURE.replace(loss="focal")},
            "metrics": ("map", "sample_map"),
            "paper": {"b": {"map": 70.0}},
            "source": "somewhere.",
        },
        title="toy",
    )
    assert card.paper == {"a": {"map": None, "sample_map": None}, "b": {"map": 70.0, "sample_map": None}}
    assert card.order == {"map": ("a", "b"), "sample_map": ("a", "b")}  # the contenders' order, worst to best
    assert card.unverified() == ["a", "b"]
    assert card.source_text() == "somewhere. Not verified, so left empty rather than guessed: a, b."
    assert PAPERS["two_way"].source_text() == PAPERS["two_way"].source  # every number verified


@pytest.mark.parametrize("name", CARDS)
def test_the_page_and_the_cli_show_the_same_table(name):
    card = PAPERS[name]
    rows = papers.result_rows(card, _fake(card, {n: 0.6 for n in card.contenders}))
    cells = papers.table_cells(card, rows)
    lines = papers.table_text(card, rows).splitlines()
    assert lines[0].split(" | ") == list(cells[0])
    assert [line.split(" | ") for line in lines[1:]] == [[str(v) for v in c.values()] for c in cells]
    for contender, row in zip(card.contenders, cells):
        for metric in card.metrics:
            paper = card.paper[contender][metric]
            shown = row[f"{papers.METRICS[metric]}: paper (full scale)"]
            assert shown == ("not verified" if paper is None else f"{paper:g}")  # as the paper writes it


def test_the_time_estimate_comes_from_the_measurement():
    assert papers.estimate_text(papers.MEASURED_RUNS).startswith(f"about {papers.MEASURED_SECONDS:.0f} s")
    assert papers.estimate_text(3).startswith("about 14 s")


def test_one_seed_shows_its_score_without_a_spread():
    card = PAPERS["asl"]
    one = papers.table_cells(card, papers.result_rows(card, [{"contender": "bce", "seed": 0, "map": 0.728}]))
    assert one[0]["class-wise mAP: here (miniature)"] == "72.8"  # not "72.8 ± 0.0": one seed has no spread
    assert one[1]["class-wise mAP: here (miniature)"] == "—"
    two = papers.result_rows(card, [{"contender": "bce", "seed": s, "map": 0.7 + s / 100} for s in (0, 1)])
    assert papers.table_cells(card, two)[0]["class-wise mAP: here (miniature)"] == "70.5 ± 0.7"
