"""CPU of one live Train-page tick's charts: Altair's conversion each tick vs a template per chart shape.

    python benchmarks/charts.py                  # 20 alternating rounds per history length, a table
    python benchmarks/charts.py --rounds 40 --json

Each round builds the three charts the Train page redraws every second while a run trains
(loss, validation metrics, the loss microscope's shares) for a history of E epochs of the
default run (125 batches an epoch), in two ways, alternating:

* **altair**: ``st.altair_chart``'s conversion (the chart's ``to_dict()``, schema validation
  included, and the data as Arrow bytes) — what the page did before;
* **template**: :func:`mlc.ui_marshal.chart_with_data` — the spec built once per chart shape,
  only the rows serialised each tick (what the page does now).

Both give the same spec (``tests/test_ui_marshal.py``). Figures are CPU seconds of this
process (``time.process_time``), medians over rounds; the first call of each is a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mlc import charts, charts_gradients  # noqa: E402
from mlc.config import RunConfig  # noqa: E402
from mlc.ui_marshal import chart_with_data, vega_lite_spec  # noqa: E402

CLASSES = RunConfig().classes

BATCHES_PER_EPOCH = 125  # the default run: 8,000 scenes in batches of 64


def history(epochs: int):
    """A default-sized run's live history after ``epochs`` epochs: batch rows, epoch rows, microscope rows."""
    steps = epochs * BATCHES_PER_EPOCH
    batches = [
        {"step": s, "epoch": 1 + (s - 1) // BATCHES_PER_EPOCH, "loss": 0.7 / (1 + s / 50)} for s in range(1, steps + 1)
    ]
    rows = [
        {"epoch": e, "loss": 0.3 / e, "val_loss": 0.32 / e, "macro_f1": 1 - 0.5 / e, "map": 1 - 0.4 / e}
        for e in range(1, epochs + 1)
    ]
    micro = [
        {"epoch": e, "source": src, "tag": t, "total": 1.0,
         "positive": 0.2 + 0.1 * t / e, "negative": 0.8 - 0.1 * t / e, "unknown": 0.0}
        for e in range(1, epochs + 1)
        for src in (0, 1)
        for t in range(len(CLASSES))
    ]  # fmt: skip
    return batches, rows, micro


def tick_altair(batches, rows, micro) -> None:
    vega_lite_spec(charts.loss_chart(batches, rows, BATCHES_PER_EPOCH, height=320))
    vega_lite_spec(charts.metrics_chart(rows, height=240))
    columns, panel = charts_gradients.panel_layout(len(CLASSES))
    vega_lite_spec(charts_gradients.share_chart(micro, CLASSES, panel_width=panel, columns=columns))


def tick_template(batches, rows, micro) -> None:
    chart_with_data(charts.loss_chart_of, charts.loss_frame(batches, rows, BATCHES_PER_EPOCH), height=320)
    chart_with_data(charts.metrics_chart_of, charts.metrics_frame(rows, charts.metric_keys()), height=240)
    columns, panel = charts_gradients.panel_layout(len(CLASSES))
    frame = charts_gradients.share_frame(micro, CLASSES)
    parts = charts_gradients.share_parts(frame)
    chart_with_data(
        charts_gradients.share_chart_of, frame, classes=tuple(CLASSES), parts=parts, panel_width=panel, columns=columns
    )


CONTENDERS = {"altair": tick_altair, "template": tick_template}


def measure(epochs: int, rounds: int) -> dict[str, float]:
    """Median CPU ms per tick of each contender, alternating (the order flips every round)."""
    data = history(epochs)
    for tick in CONTENDERS.values():
        tick(*data)  # warm-up (the template's first build)
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for r in range(rounds):
        order = list(CONTENDERS) if r % 2 == 0 else list(reversed(CONTENDERS))
        for name in order:
            t = time.process_time()
            CONTENDERS[name](*data)
            times[name].append(1000 * (time.process_time() - t))
    return {name: statistics.median(v) for name, v in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--epochs", type=int, nargs="+", default=[0, 1, 8])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for epochs in args.epochs:
        m = measure(epochs, args.rounds)
        rows.append(
            {
                "epochs": epochs,
                **{f"{k}_ms": round(v, 2) for k, v in m.items()},
                "ratio": round(m["template"] / m["altair"], 3),
            }
        )
    if args.json:
        print(json.dumps({"rounds": args.rounds, "rows": rows}, indent=2))
        return 0
    print("| history (epochs) | altair's conversion, CPU ms | template, CPU ms | ratio |")
    print("|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['epochs']} | {r['altair_ms']:.1f} | {r['template_ms']:.1f} | {r['ratio']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
