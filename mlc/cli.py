"""Command line: ``mlc train ...`` and ``mlc bench ...`` (the same as ``python -m mlc ...``).

The CLI is one of the two places (with the pages) that speaks to people:
progress goes to stderr, results to stdout; ``--json`` prints exactly one JSON
object on stdout. Defaults are :class:`~mlc.config.RunConfig`'s, i.e. the
app's. Exit codes: 0 finished, 1 the run failed (or a worker could not join its
cluster), 2 bad arguments (including a missing or malformed ``TF_CONFIG``),
130 stopped by Ctrl-C (the partial run is still reported).

``--device multiworker`` trains one run over several processes or machines
with ``MultiWorkerMirroredStrategy``: start the same command once per worker,
each with ``TF_CONFIG`` naming the cluster and its own task index. Each worker
prints its own result; only the chief (task 0) writes ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence

from mlc import checks
from mlc.runs import json_safe

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_DEFAULTS = None


def _defaults():
    global _DEFAULTS
    if _DEFAULTS is None:
        from mlc.config import RunConfig

        _DEFAULTS = RunConfig()
    return _DEFAULTS


def _csv_floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip() != "")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers like 1,8,1,1,1, got {text!r}") from None


def _csv_names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(","))


def _param(text: str) -> tuple[str, float | str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE like gamma=2, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key.strip(), float(value)
    except ValueError:
        return key.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    from mlc import losses, models

    d = _defaults()
    # the installed console script is `mlc`; otherwise the commands run as `python -m mlc`
    prog = "mlc" if os.path.basename(sys.argv[0]) == "mlc" else "python -m mlc"
    parser = argparse.ArgumentParser(prog=prog, description="Multi-label Lab command line")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one run and report validation metrics")
    t.add_argument("--loss", default=d.loss, choices=list(losses.LOSSES), help="loss mode (default %(default)s)")
    t.add_argument(
        "--loss-param",
        dest="loss_params",
        action="append",
        type=_param,
        default=[],
        metavar="NAME=VALUE",
        help="a loss parameter, repeatable: focal gamma=2 alpha=0.25; asl gamma_pos=0 gamma_neg=4 clip=0.05",
    )
    t.add_argument("--model", default=d.model, choices=list(models.MODELS), help="architecture (default %(default)s)")
    t.add_argument("--epochs", type=int, default=d.epochs)
    t.add_argument("--train-size", type=int, default=d.train_size)
    t.add_argument("--val-size", type=int, default=d.val_size)
    t.add_argument("--test-size", type=int, default=d.test_size, help="held-out test images of a generated data set")
    t.add_argument(
        "--dataset",
        default=None,
        choices=["scenes", "digits", "own"],
        help="scenes (synthetic, the default), digits (real handwriting from scikit-learn) or own (needs --data)",
    )
    t.add_argument(
        "--data",
        default=None,
        metavar="PATH",
        help="your own labelled images: a .zip or a folder with labels.csv or one folder per tag (implies "
        "--dataset own; its size limits are MLC_MAX_DATASET_MB and MLC_MAX_DATASET_IMAGES)",
    )
    t.add_argument("--batch-size", type=int, default=d.batch_size)
    t.add_argument("--lr", type=float, default=d.learning_rate, help="Adam learning rate (default %(default)s)")
    t.add_argument(
        "--classes",
        type=_csv_names,
        default=None,
        help="comma-separated tag names (default: the data set's, e.g. dog,cat,house,tree,sky; own data: a subset)",
    )
    t.add_argument(
        "--prevalence", type=_csv_floats, default=None, help="per-tag fraction of scenes, e.g. 0.35,0.05,0.3,0.4,0.5"
    )
    t.add_argument(
        "--weights", type=_csv_floats, default=None, help="per-tag loss weights for weighted_bce, e.g. 1,19,1,1,1"
    )
    t.add_argument(
        "--auto-weights",
        choices=["inverse", "balanced", "ratio"],
        default=None,
        help="derive --weights from prevalence: inverse frequency, class-balanced effective number, or (1-p)/p",
    )
    t.add_argument(
        "--weighting",
        choices=list(losses.WEIGHTINGS),
        default=d.weighting,
        help="tag: weight scales the tag's whole BCE (the article's); positive: only the positive term (pos_weight)",
    )
    t.add_argument("--soft-labels", action="store_true", help="targets are presence strengths in [0, 1]")
    t.add_argument(
        "--label-noise",
        type=float,
        default=d.label_noise,
        help="flip each training target 0<->1 with this probability (every data set; val/test stay clean)",
    )
    t.add_argument(
        "--missing-positives",
        type=float,
        default=d.missing_positives,
        help="hide each training positive with this probability, in [0, 1) (validation and test stay complete)",
    )
    t.add_argument(
        "--missing-as", choices=["negative", "unknown"], default=d.missing_as, help="a hidden positive: 0 or -1"
    )
    t.add_argument(
        "--single-positive",
        action="store_true",
        help="each training image keeps one positive, every other target unknown (Cole et al., CVPR 2021)",
    )
    t.add_argument(
        "--shortcut",
        default="",
        metavar="TAG:PARTNER[:P_TRAIN[:P_TEST]]",
        help="the shortcut scenario (scenes): in training PARTNER appears with TAG with probability P_TRAIN "
        "(default 0.95), in validation/test with P_TEST (default 0.5), e.g. house:tree:0.95:0.5",
    )
    t.add_argument("--image-size", type=int, default=d.image_size)
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument(
        "--device",
        default=d.device,
        help="cpu, gpu:N, mirrored (all GPUs of this machine) or multiworker (several processes/machines: run "
        "this command once per worker, each with TF_CONFIG set, e.g. "
        'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}\'; --batch-size is the global batch, '
        "split over the workers) (default %(default)s)",
    )
    t.add_argument(
        "--out",
        default=None,
        help="directory to save model.keras and run.json (under multiworker only task 0 writes it)",
    )
    t.add_argument("--json", action="store_true", help="print one JSON object (config, history, report) on stdout")

    b = sub.add_parser("bench", help="measure speed and time-to-quality side by side (see mlc.bench)")
    b.add_argument("--json", action="store_true", help="print the results as one JSON object")
    b.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="also write the raw results as JSON to FILE, e.g. benchmarks/last-run.json (nothing is written otherwise)",
    )
    b.add_argument("--quick", action="store_true", help="small sizes and one repeat: a smoke run, not a measurement")
    b.add_argument(
        "--only",
        action="append",
        default=None,
        choices=[
            "time_to_quality",
            "throughput",
            "data",
            "memory",
            "weighting",
            "live",
            "predict",
            "pool",
            "ttq",
            "import",
            "digits",
            "own_memory",
            "microscope",
            "saliency",
        ],
        help="run only these parts (repeatable)",
    )
    b.add_argument("--repeats", type=int, default=None, help="repeats per contender (default 3, quick 1)")
    from mlc import papers  # the paper cards (mlc.papers); imports no TensorFlow

    r = sub.add_parser("reproduce", help="run a paper card: the paper's comparison in miniature (see mlc.papers)")
    r.add_argument("name", choices=list(papers.PAPERS), help="the card")
    r.add_argument("--seeds", type=int, default=papers.DEFAULT_SEEDS, help="seeds per contender (default %(default)s)")
    r.add_argument("--json", action="store_true", help="print one JSON object (rows, orderings, runs, wall time)")
    return parser


#: ``train`` flags that go to the :class:`RunConfig` field of the same name as they are.
_SAME_NAME_FLAGS = (
    "loss weighting model epochs batch_size train_size val_size test_size soft_labels label_noise image_size seed "
    "device missing_positives missing_as single_positive"
).split()


def config_from_args(args: argparse.Namespace, image_set=None):
    """The validated :class:`RunConfig` for ``train`` arguments (ValueError names the bad field).

    ``image_set``: the own images read from ``--data`` (their tags, sizes and
    measured prevalence fill the config; ``--classes`` picks a subset).
    """
    from mlc import data, datasets
    from mlc.config import RunConfig, derive_weights, parse_shortcut

    dataset = dataset_from_args(args)
    shortcut = parse_shortcut(getattr(args, "shortcut", "") or "")
    if image_set is not None and shortcut:
        raise ValueError("--shortcut plants a co-occurrence in generated scenes; leave it out with --data")
    if image_set is not None:
        if args.prevalence is not None:
            raise ValueError("--prevalence is measured from your own images; leave it out with --data")
        flags = {name: getattr(args, name) for name in _SAME_NAME_FLAGS}
        config = image_set.config_for(RunConfig(dataset="own", classes=image_set.tags, **flags))
        if args.classes is not None:
            keep = [config.classes.index(c) for c in _own_subset(args.classes, config.classes)]
            config = config.replace(
                classes=tuple(config.classes[i] for i in keep),
                prevalence=tuple(config.prevalence[i] for i in keep),
                weights=None,
            )
        classes, prevalence = config.classes, config.prevalence
    else:
        classes = data.resolve_classes(
            datasets.DATASETS[dataset].default_tags if args.classes is None else args.classes
        )
        datasets.check_tags(dataset, classes)
        prevalence = (
            datasets.default_prevalence(dataset, classes)
            if args.prevalence is None
            else data.resolve_prevalence(args.prevalence, classes)
        )
        config = None
    weights = args.weights
    if args.auto_weights:
        if args.weights is not None:
            raise ValueError("give either --weights or --auto-weights, not both")
        weights = derive_weights(args.auto_weights, prevalence, config.train_size if config else args.train_size)
    if config is not None:
        return config.replace(loss_params=dict(args.loss_params), weights=weights, learning_rate=args.lr)
    return RunConfig(
        dataset=dataset,
        loss_params=dict(args.loss_params),
        classes=classes,
        prevalence=prevalence,
        weights=weights,
        learning_rate=args.lr,
        **{name: getattr(args, name) for name in _SAME_NAME_FLAGS},
        **shortcut,
    )


def dataset_from_args(args: argparse.Namespace) -> str:
    """``--dataset`` and ``--data`` agreed: ``own`` with a path, a built-in set without one."""
    if args.data is not None:
        if args.dataset not in (None, "own"):
            raise ValueError(f"--data PATH trains on your own images; it cannot go with --dataset {args.dataset}")
        return "own"
    if args.dataset == "own":
        raise ValueError("--dataset own needs --data PATH (a .zip or a folder of your labelled images)")
    return args.dataset or "scenes"


def _own_subset(names: Sequence[str], tags: Sequence[str]) -> list[str]:
    unknown = [n for n in names if n not in tags]
    if unknown:
        raise ValueError(f"--classes: {unknown[0]!r} is not a tag of these images; their tags are: {', '.join(tags)}")
    return list(names)


def read_own_images(args: argparse.Namespace):
    """The image set at ``--data`` (None without it), its problems listed on stderr; ValueError when unusable."""
    if args.data is None:
        return None
    from mlc import hosting, imagesets

    settings = hosting.settings_from()
    image_set = imagesets.read_image_set(
        args.data,
        image_size=args.image_size,
        max_mb=settings.max_dataset_mb,
        max_images=settings.max_dataset_images,
        seed=args.seed,
    )
    for line in imagesets.problem_lines(image_set.problems):
        print(f"data: {line}", file=sys.stderr)
    return image_set


class _ProgressBar:
    """A one-line terminal progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.enabled = stream.isatty()
        self.last_epoch_line = ""

    def __call__(self, p) -> None:
        if p.phase == "data":
            self._line("generating scenes ...")
        elif p.phase == "batch" and self.enabled:
            width = 28
            filled = int(width * p.fraction)
            eta = "" if p.eta is None else f" ETA {p.eta:4.0f}s"
            self._line(
                f"epoch {p.epoch}/{p.epochs} [{'#' * filled}{'.' * (width - filled)}] "
                f"batch {p.batch}/{p.batches} loss {p.loss:.4f}{eta}"
            )
        elif p.phase == "epoch":
            v = p.val
            text = (
                f"epoch {p.epoch}/{p.epochs}: loss {v['loss']:.4f} val_loss {v['val_loss']:.4f} "
                f"macro-F1 {v['macro_f1']:.3f} mAP {v['map']:.3f} MAE {v['mae']:.3f} "
                f"({v['seconds']:.1f}s, {v['samples_per_second']:.0f} samples/s)"
            )
            self._line(text, end="\n")

    def _line(self, text: str, end: str = "") -> None:
        if self.enabled:
            self.stream.write("\r\033[K" + text + end)
        elif end:
            self.stream.write(text + end)
        self.stream.flush()


def cmd_train(args: argparse.Namespace) -> int:
    from mlc import devices
    from mlc.training import check_batches, train

    try:
        dataset_from_args(args)
        image_set = read_own_images(args)
        config = config_from_args(args, image_set)
        devices.check_device(config.device)
        check_batches(config)
        if image_set is not None:
            from mlc.imagesets import training_problems

            refused = training_problems(image_set, config.classes, config.loss)
            if refused:
                raise ValueError("; ".join(refused))
    except ValueError as exc:  # includes mlc.imagesets.ImageSetError (an unusable data set, with its problems)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if config.device == devices.MULTIWORKER:
        # first TensorFlow work of the process: collective ops can only be set up before the runtime starts
        cluster = devices.cluster_from_tf_config()
        print(
            f"worker task {cluster.index} of {len(cluster.workers)}: waiting for every worker to start "
            "(Ctrl-C cannot interrupt this wait; kill -9 can) ...",
            file=sys.stderr,
            flush=True,
        )
        try:
            devices.multiworker_strategy()
        except Exception as exc:  # e.g. this worker's port is taken
            print(f"error: could not join the multi-worker cluster: {checks.first_line(exc, 300)}", file=sys.stderr)
            return 1
    from mlc.train_form import unweighted_note

    note = unweighted_note(config.loss, config.weights, cli=True)
    if note:
        print(f"note: {note}", file=sys.stderr)
    stop = threading.Event()
    bar = _ProgressBar()
    # Ctrl-C stops after the current batch and still reports the partial run
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        run = train(config, on_progress=bar, stop_event=stop, source=image_set)
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.out:
        try:
            paths = run.save(args.out)
        except OSError as exc:
            print(f"error: could not save to {args.out}: {exc}", file=sys.stderr)
            return 1
        if paths:
            print(f"saved {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
        else:
            print(f"not saved to {args.out}: only the chief worker (task 0) writes outputs", file=sys.stderr)
    if args.json:
        out = run.to_dict()
        out.pop("batch_history")
        out["dataset"] = config.dataset
        from mlc.eval_splits import held_out_calibration, held_out_intervals

        out["calibration"] = held_out_calibration(run)
        out["confidence_intervals"] = held_out_intervals(run)
        from mlc.saliency_scores import run_saliency

        out["saliency"] = run_saliency(run)  # per tag: pointing game, mass inside, random baseline; or a reason
        print(json.dumps(json_safe(out)))
    else:
        print(format_run(run))
    return {"finished": 0, "stopped": 130}.get(run.status, 1)


def format_run(run) -> str:
    """Plain-text summary table of a run's validation report."""
    s = run.summary()
    lines = [f"status: {run.status}" + (f" — {run.message}" if run.message else "")]
    lines.append(
        f"device {s['device']}, {s['epochs_done']} epochs, {s['train_seconds']:.1f}s training, "
        f"{s['samples_per_second']:.0f} samples/s"
    )
    rep = run.report
    if rep:
        lines.append(f"{'tag':<12}{'support':>8}{'precision':>10}{'recall':>8}{'F1':>8}{'AP':>8}")
        for row in rep["per_tag"]:
            lines.append(
                f"{row['tag']:<12}{row['support']:>8}{row['precision']:>10.3f}{row['recall']:>8.3f}"
                f"{row['f1']:>8.3f}{row['average_precision']:>8.3f}"
            )
        lines.append(
            f"micro-F1 {rep['micro_f1']:.3f}  macro-F1 {rep['macro_f1']:.3f}  mAP {rep['map']:.3f}  "
            f"Hamming loss {rep['hamming_loss']:.4f}  subset accuracy {rep['subset_accuracy']:.3f}  "
            f"MAE {rep['mae']:.3f}"
        )
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure the ``--only`` parts (default all), print the table (or one JSON object), write ``--out``."""
    from pathlib import Path

    from mlc import bench

    results = bench.run(
        args.only,
        quick=bool(args.quick),
        repeats=args.repeats,
        on_part=lambda name: print(f"[bench] {name} ...", file=sys.stderr, flush=True),
    )
    print(json.dumps(results, default=float) if args.json else bench.format_table(results))
    if args.out:
        out = Path(args.out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, default=float, indent=1) + "\n")
        except OSError as exc:
            print(f"error: could not save to {args.out}: {exc}", file=sys.stderr)
            return 1
        print(f"saved {out}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        return cmd_train(args)
    if args.command == "bench":
        return cmd_bench(args)
    if args.command == "reproduce":
        from mlc import papers

        try:
            return papers.run_cli(args.name, args.seeds, args.json)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    parser.error(f"unknown command {args.command}")
    return 2
