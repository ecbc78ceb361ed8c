"""Paper cards: a paper's comparison reproduced in miniature, next to the paper's own numbers.

Each card of :data:`PAPERS` names its contenders as :class:`~mlc.config.RunConfig` s
(small, seeded: every contender trains once per seed), the metrics it compares,
the paper's numbers (full scale, cited with their source; a card lists only the
numbers this project found in a citable place, every other one is ``None``, "not
verified") and the ordering the paper reports (by default the contenders' order,
worst to best). A card's
runs go through the normal trainer (:func:`mlc.training.train`, or the page's
session jobs); :func:`result_rows` turns the runs' held-out test scores into one
row per contender ("here (miniature)": mean and spread over seeds, "paper (full
scale)") and :func:`ordering_lines` says, computed, whether the paper's ordering
holds here. ``python -m mlc reproduce NAME [--seeds K] [--json]`` runs a card.

Metrics: ``map`` is class-wise mAP (``run.test_report["map"]``), ``sample_map``
the sample-wise mAP of :func:`mlc.metrics.sample_map`, both on the test split.

>>> list(PAPERS)
['asl', 'single_positive', 'two_way']
>>> [name for name, _ in PAPERS["two_way"].configs(seeds=2)]
['bce', 'bce', 'two_way', 'two_way']
>>> rows = result_rows(PAPERS["two_way"], [
...     {"contender": "bce", "seed": 0, "map": 0.60, "sample_map": 0.90},
...     {"contender": "two_way", "seed": 0, "map": 0.64, "sample_map": 0.93}])
>>> rows[1]["here map"], rows[1]["paper map"]
(0.64, 74.11)
>>> ordering_lines(PAPERS["two_way"], rows)[0]
{'metric': 'map', 'paper': 'bce < two_way', 'here': 'bce 60.0 < two_way 64.0', 'holds': True}
>>> PAPERS["asl"].unverified()
['bce', 'focal']
>>> table_cells(PAPERS["two_way"], rows)[1]["class-wise mAP: paper (full scale)"]
'74.11'
>>> estimate_text(9).split(";")[0]
'about 42 s of training on 2 quiet CPU cores (4.7 s a run, measured: the asl card, 9 runs in 42 s)'
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlc import checks
from mlc.config import RunConfig
from mlc.registry import Registry

#: Metric name -> what the tables call it.
METRICS: dict[str, str] = {"map": "class-wise mAP", "sample_map": "sample-wise mAP"}
#: Most seeds a card trains per contender.
MAX_SEEDS = 5
DEFAULT_SEEDS = 3
#: The measurement the time estimate comes from (:func:`estimate_text`): the asl card's 9 runs (3 seeds) took
#: 42 s of training, 50.6 s with Python and TensorFlow start-up, on 2 quiet CPU cores (measured by the lead with
#: ``python -m mlc reproduce asl``); the page shows each card's own wall time when it finishes.
MEASURED_RUNS, MEASURED_SECONDS = 9, 42.0
#: The miniature every card starts from: small scenes, a few epochs (about 5 s a run, see above).
MINIATURE = RunConfig(train_size=2000, val_size=300, test_size=600, image_size=32, epochs=4, seed=0)


@dataclass(frozen=True)
class PaperCard:
    """One paper's comparison: ``contenders`` (name -> config, seed 0), ``metrics`` compared, ``paper``
    (contender -> metric -> the paper's number, ``None`` when not verified), ``order`` (metric -> contender
    names from worst to best, as the paper reports), and where the numbers come from."""

    name: str
    title: str
    citation: str
    claim: str
    contenders: Mapping[str, RunConfig]
    metrics: tuple[str, ...]
    paper: Mapping[str, Mapping[str, float | None]]
    order: Mapping[str, tuple[str, ...]]
    source: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def configs(self, seeds: int = DEFAULT_SEEDS) -> list[tuple[str, RunConfig]]:
        """``(contender, config)`` for every contender and seed 0..seeds-1, contender by contender."""
        seeds = checks.whole(seeds, "seeds", 1, MAX_SEEDS)
        return [(name, cfg.replace(seed=s)) for name, cfg in self.contenders.items() for s in range(seeds)]

    def unverified(self) -> list[str]:
        """The contenders with a paper number this project did not verify (``None``), in order."""
        return [n for n in self.contenders if any(self.paper[n][m] is None for m in self.metrics)]

    def source_text(self) -> str:
        """:attr:`source`, and which contenders' numbers are left empty (computed from :attr:`paper`)."""
        missing = self.unverified()
        if not missing:
            return self.source
        return f"{self.source} Not verified, so left empty rather than guessed: {', '.join(missing)}."

    def contender_of(self, config: RunConfig) -> str | None:
        """Which contender ``config`` is (any seed), or None."""
        for name, cfg in self.contenders.items():
            if cfg.replace(seed=config.seed) == config:
                return name
        return None


def _card(name: str, obj: Callable[[], dict], **meta) -> PaperCard:
    """A card from its registered function's fields: ``paper`` holds only the verified numbers (every other
    contender and metric becomes ``None``), ``order`` defaults to the contenders' order, worst to best."""
    fields = obj()
    names, metrics = tuple(fields["contenders"]), tuple(fields["metrics"])
    known = fields.pop("paper", {})
    fields["paper"] = {n: {m: known.get(n, {}).get(m) for m in metrics} for n in names}
    fields.setdefault("order", {m: names for m in metrics})
    return PaperCard(name=name, **fields, **meta)


#: name -> :class:`PaperCard`, in registration order.
PAPERS: Registry[PaperCard] = Registry("paper card", example="asl", make=_card)


@PAPERS.register("asl", title="Asymmetric loss on an imbalanced set")
def _asl() -> dict:
    return {
        "citation": "Ridnik, Ben-Baruch et al., Asymmetric Loss For Multi-Label Classification, ICCV 2021",
        "claim": "On MS-COCO, ASL beats focal loss, which beats cross-entropy (BCE < focal < ASL).",
        "contenders": {
            "bce": MINIATURE.replace(loss="bce"),
            "focal": MINIATURE.replace(loss="focal"),
            "asl": MINIATURE.replace(loss="asl"),
        },
        "metrics": ("map",),
        "paper": {"asl": {"map": 86.6}},
        "source": "MS-COCO mAP of ASL, TResNet-L at 448 px: 86.6, from the abstract of arXiv 2009.14119 (v1) "
        "and the authors' model zoo (github.com/Alibaba-MIIL/ASL, MODEL_ZOO.md). The paper compares "
        "cross-entropy, focal loss and ASL on MS-COCO in a figure (its Fig. 8, as issue #30 of that repository "
        "calls it); no exact numbers of that comparison were found in text. The ordering BCE < focal < ASL is "
        "the paper's.",
    }


@PAPERS.register("single_positive", title="One positive label per image")
def _single_positive() -> dict:
    # prevalences high enough that almost every image has a positive, as in the paper's data sets
    dense = MINIATURE.replace(prevalence=(0.5, 0.4, 0.4, 0.4, 0.5))
    return {
        "citation": "Cole, Mac Aodha, Lorieul, Perona, Morris, Jojic: Multi-Label Learning from Single Positive "
        "Labels, CVPR 2021",
        "claim": "Full labels are the upper bound; with one positive per image, assuming the unobserved labels "
        "negative trains a usable model, ignoring them leaves only positives (a degenerate objective).",
        "contenders": {
            "ignore_unknown": dense.replace(single_positive=True, loss_params={"unknown": "ignore"}),
            "assume_negative": dense.replace(single_positive=True, loss_params={"unknown": "negative"}),
            "full_labels": dense,
        },
        "metrics": ("map",),
        "source": "The paper's main results table (linear and end-to-end fine-tuned, VOC12 / COCO / NUS / CUB) "
        "compares full labels with single-positive losses; neither the paper's text (arXiv 2106.09708) nor the "
        "authors' repository (github.com/elijahcole/single-positive-multi-label, whose README gives no numbers) "
        "was found with them here. The ordering checked is the setting's: full labels > assume negative > "
        "ignore every unobserved label.",
    }


@PAPERS.register("two_way", title="Two-way loss: class-wise and sample-wise mAP")
def _two_way() -> dict:
    return {
        "citation": "Kobayashi, Two-Way Multi-Label Loss, CVPR 2023",
        "claim": "Class-wise and sample-wise mAP can rank losses differently (softmax: worse class-wise, better "
        "sample-wise than BCE); the two-way loss beats BCE on both.",
        "contenders": {"bce": MINIATURE.replace(loss="bce"), "two_way": MINIATURE.replace(loss="two_way")},
        "metrics": ("map", "sample_map"),
        "paper": {"bce": {"map": 67.71, "sample_map": 79.65}, "two_way": {"map": 74.11, "sample_map": 86.66}},
        "source": "MS-COCO, ResNet-50: mAP@class and mAP@sample from the results table of the authors' "
        "repository (github.com/tk1980/TwowayMultiLabelLoss, README 'Results'); softmax there: 58.00 / 83.60.",
    }


def estimate_text(runs: int) -> str:
    """What ``runs`` runs of the miniature take, from :data:`MEASURED_SECONDS` (every card trains the same
    miniature, so seconds per run carry over; the loss changes them little)."""
    per_run = MEASURED_SECONDS / MEASURED_RUNS
    return (
        f"about {runs * per_run:.0f} s of training on 2 quiet CPU cores ({per_run:.1f} s a run, measured: the asl "
        f"card, {MEASURED_RUNS} runs in {MEASURED_SECONDS:.0f} s); a server's first training and a busy machine "
        "take longer"
    )


# ---------------------------------------------------------------- scoring
def scores(run) -> dict[str, float]:
    """A finished run's card metrics on its held-out test split: ``{"map", "sample_map"}``."""
    from mlc import metrics

    if run.test_report is None or run.test_labels is None:
        raise ValueError(f"run {run.label} has no test scores; a card needs finished runs with a test split")
    return {
        "map": float(run.test_report["map"]),
        "sample_map": metrics.sample_map(run.test_labels, run.test_probabilities),
    }


def result_row(card: PaperCard, run) -> dict[str, Any]:
    """``{"contender", "seed", "seconds", <metric>...}`` of one finished run of ``card``."""
    name = card.contender_of(run.config)
    if name is None:
        raise ValueError(f"run {run.label} is not a contender of the {card.name} card")
    return {"contender": name, "seed": run.config.seed, "seconds": round(run.wall_seconds, 1), **scores(run)}


def result_rows(card: PaperCard, results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per contender: ``seeds``, ``here <metric>`` (mean over seeds), ``here <metric> sd`` (sample
    standard deviation, 0 for one seed) and ``paper <metric>`` (full scale, None if not verified)."""
    rows = []
    for name in card.contenders:
        mine = [r for r in results if r["contender"] == name]
        row: dict[str, Any] = {"contender": name, "seeds": len(mine)}
        for metric in card.metrics:
            values = [float(r[metric]) for r in mine]
            row[f"here {metric}"] = round(statistics.fmean(values), 4) if values else None
            row[f"here {metric} sd"] = round(statistics.stdev(values), 4) if len(values) > 1 else 0.0
            row[f"paper {metric}"] = card.paper[name][metric]
        rows.append(row)
    return rows


def ordering_lines(card: PaperCard, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per metric: the paper's ordering, ours (means), and whether it holds (None: a contender has no runs).

    ``holds`` is True when every step of the paper's ordering (worst to best) is a strict increase here.
    """
    by_name = {r["contender"]: r for r in rows}
    lines = []
    for metric in card.metrics:
        names = card.order[metric]
        values = [by_name[n][f"here {metric}"] for n in names]
        if any(v is None for v in values):
            lines.append({"metric": metric, "paper": " < ".join(names), "here": "not run yet", "holds": None})
            continue
        holds = all(a < b for a, b in zip(values, values[1:]))
        here = " < ".join(f"{n} {100 * v:.1f}" for n, v in zip(names, values)) if holds else _sorted_text(names, values)
        lines.append({"metric": metric, "paper": " < ".join(names), "here": here, "holds": holds})
    return lines


def _sorted_text(names: Sequence[str], values: Sequence[float]) -> str:
    pairs = sorted(zip(values, names))
    return " ≤ ".join(f"{n} {100 * v:.1f}" for v, n in pairs)


def ordering_sentence(line: Mapping[str, Any]) -> str:
    """The line a card shows for one metric's ordering.

    >>> ordering_sentence({"metric": "map", "paper": "a < b", "here": "b 50.0 ≤ a 60.0", "holds": False})
    "class-wise mAP: the paper's ordering a < b does NOT hold here (b 50.0 ≤ a 60.0)"
    """
    what = METRICS[line["metric"]]
    if line["holds"] is None:
        return f"{what}: the paper's ordering {line['paper']} is not checked yet ({line['here']})"
    verdict = "holds" if line["holds"] else "does NOT hold"
    return f"{what}: the paper's ordering {line['paper']} {verdict} here ({line['here']})"


# ---------------------------------------------------------------- running a card
@dataclass
class CardResult:
    """A card's outcome: ``results`` (one row per run), ``rows`` (per contender), ``lines`` (orderings)."""

    card: str
    results: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    wall_seconds: float
    failed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "card": self.card,
            "wall_seconds": round(self.wall_seconds, 1),
            "rows": self.rows,
            "orderings": self.lines,
            "runs": self.results,
            "failed": self.failed,
        }


def reproduce(
    name: str,
    seeds: int = DEFAULT_SEEDS,
    *,
    trainer: Callable[..., Any] | None = None,
    on_run: Callable[[int, int, str, RunConfig], None] | None = None,
    shrink: Mapping[str, Any] | None = None,
) -> CardResult:
    """Train every contender of card ``name`` over ``seeds`` seeds (``trainer``: default
    :func:`mlc.training.train`, in this process) and score them. ``shrink``: config fields to override
    (tests use a tinier miniature). ``on_run(i, n, contender, config)`` before each run."""
    card = PAPERS.lookup(name)
    if trainer is None:
        from mlc.training import train as trainer
    plan = card.configs(seeds)
    if shrink:
        plan = [(n, c.replace(**shrink)) for n, c in plan]
        card = _shrunk(card, shrink)
    start = time.perf_counter()
    results, failed = [], []
    for i, (contender, config) in enumerate(plan):
        if on_run is not None:
            on_run(i + 1, len(plan), contender, config)
        run = trainer(config)
        if run.test_report is None:
            failed.append(f"{contender} seed {config.seed}: {run.status} {getattr(run, 'error', '') or ''}".strip())
            continue
        results.append(result_row(card, run))
    rows = result_rows(card, results)
    return CardResult(card.name, results, rows, ordering_lines(card, rows), time.perf_counter() - start, failed)


def _shrunk(card: PaperCard, shrink: Mapping[str, Any]) -> PaperCard:
    import dataclasses

    return dataclasses.replace(card, contenders={n: c.replace(**shrink) for n, c in card.contenders.items()})


def table_cells(card: PaperCard, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The card's table (the page's and the CLI's), one dict per contender: ``contender``, ``seeds`` (a
    count), and per metric ``"<metric>: here (miniature)"`` (mean ± sd over seeds, the mean alone for one
    seed, "—" before a run) and ``"<metric>: paper (full scale)"`` ("not verified" where
    :attr:`PaperCard.paper` is None), both in % (the papers report mAP in %; a paper's number as it writes
    it: 86.6, 74.11)."""
    out = []
    for row in rows:
        cells = {"contender": card.labels.get(row["contender"], row["contender"]), "seeds": row["seeds"]}
        for metric in card.metrics:
            label = METRICS[metric]
            mean, sd, paper = row[f"here {metric}"], row[f"here {metric} sd"], row[f"paper {metric}"]
            cells[f"{label}: here (miniature)"] = _here_text(mean, sd, row["seeds"])
            cells[f"{label}: paper (full scale)"] = "not verified" if paper is None else f"{paper:g}"
        out.append(cells)
    return out


def _here_text(mean: float | None, sd: float, seeds: int) -> str:
    """ "—" before a run, the mean alone for one seed (no spread to show), else mean ± sd (all in %)."""
    if mean is None:
        return "—"
    return f"{100 * mean:.1f}" if seeds < 2 else f"{100 * mean:.1f} ± {100 * sd:.1f}"


def table_text(card: PaperCard, rows: Sequence[Mapping[str, Any]]) -> str:
    """:func:`table_cells` as plain text, one line per contender under a header line."""
    cells = table_cells(card, rows)
    head = list(cells[0]) if cells else ["contender", "seeds"]
    return "\n".join(" | ".join(map(str, line)) for line in [head, *([c[h] for h in head] for c in cells)])


def run_cli(name: str, seeds: int, as_json: bool, out=print) -> int:
    """``mlc reproduce``: run the card, print its table, orderings and wall time (or one JSON object)."""
    card = PAPERS.lookup(name)

    def progress(i, n, contender, config):
        if not as_json:
            out(f"run {i}/{n}: {contender} (seed {config.seed})")

    result = reproduce(name, seeds, on_run=progress)
    if as_json:
        out(json.dumps(result.to_dict()))
    else:
        out(f"\n{card.title} — {card.citation}\n{card.claim}\n")
        out(table_text(card, result.rows))
        out("")
        for line in result.lines:
            out(ordering_sentence(line))
        out(f"\nsource of the paper's numbers: {card.source_text()}")
        out(f"wall time: {result.wall_seconds:.0f} s for {len(card.configs(seeds))} runs")
        for line in result.failed:
            out(f"failed: {line}")
    return 1 if result.failed else 0
