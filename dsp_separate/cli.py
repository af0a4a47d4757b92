"""The ``dsp-separate`` command.

::

    dsp-separate list                               one line per method
    dsp-separate demo [-o DIR]                      synthesise, separate, score (SI-SDR)
    dsp-separate hpss INPUT [INPUT ...] -o OUTDIR [--kernel-size N --margin M ...]
    dsp-separate evaluate METHOD DATASET [--stems ...] [-o results.csv] [--oracle]

Every separator in :func:`dsp_separate.available_separators` gets a sub-command whose options
are its constructor parameters (``kernel_size`` -> ``--kernel-size``; pairs as ``31,17``) plus
the STFT options.  Output files are ``OUTDIR/<input stem>_<source>.<format>``.  Progress and
timing go to stderr; bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

__all__ = ["main"]

PROG = "dsp-separate"
_STFT_OPTIONS = ("n_fft", "hop_length", "win_length", "window")


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message} (see --help)")


def _parse_value(text: str):
    """'31' -> 31, '2.5' -> 2.5, '31,17' -> (31, 17), 'none' -> None, 'inf' -> inf."""
    if "," in text:
        return tuple(_parse_value(part) for part in text.split(","))
    low = text.strip().lower()
    if low == "none":
        return None
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _param_help(doc: str, param: str) -> str:
    """``param``'s description in a numpydoc docstring, as plain text ("" if none)."""
    lines = (doc or "").splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(param + " :"):
            indent = len(line) - len(line.lstrip())
            body = []
            for nxt in lines[i + 1:]:
                if not nxt.strip() or len(nxt) - len(nxt.lstrip()) <= indent:
                    break
                body.append(nxt.strip())
            text = " ".join(body)
            for tex, plain in ((":math:", ""), ("`", ""), ("\\beta", "beta"), ("\\ge", ">=")):
                text = text.replace(tex, plain)
            return text
    return ""


def _say(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- methods
def _add_method_parser(sub, name, cls):
    p = sub.add_parser(name, help=cls.summary, description=f"{name}: {cls.summary}")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="audio file(s) to separate")
    p.add_argument("-o", "--outdir", required=True, help="folder for the separated files")
    p.add_argument("--format", default="wav", choices=("wav", "flac", "ogg", "aiff"))
    p.add_argument("--sr", type=int, default=None, help="resample the input to this rate (Hz)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    group = p.add_argument_group(f"{name} parameters")
    for param in inspect.signature(cls.__init__).parameters.values():
        if param.name in ("self", "stft") or param.kind is param.VAR_KEYWORD:
            continue
        desc = _param_help(cls.__doc__, param.name)
        group.add_argument(
            "--" + param.name.replace("_", "-"),
            dest=f"param_{param.name}",
            type=_parse_value,
            default=param.default,
            metavar="VALUE",
            help=f"{desc} (default: {param.default!r})".strip(),
        )
    stft = p.add_argument_group("STFT")
    stft.add_argument("--n-fft", type=int, default=2048)
    stft.add_argument("--hop-length", type=int, default=512)
    stft.add_argument("--win-length", type=int, default=None)
    stft.add_argument("--window", default="hann")
    p.set_defaults(handler=_run_method, method_cls=cls, method=name)


def _refuse_overwriting_inputs(inputs, outdir, fmt) -> None:
    """Exit 2 if an input could be overwritten by an output ``<stem>_<source>.<fmt>``."""
    folder = outdir.resolve()
    for other in inputs:
        if other.resolve().parent != folder or other.suffix.lower() != f".{fmt}":
            continue
        for path in inputs:
            if other.stem.startswith(f"{path.stem}_"):
                raise _UsageError(
                    f"{PROG}: error: {other}: an output of {path.name} could overwrite this "
                    "input file; choose another -o folder"
                )


def _run_method(args) -> int:
    from ._stft import STFT
    from .io import load

    cls = args.method_cls
    params = {k[6:]: v for k, v in vars(args).items() if k.startswith("param_")}
    if "stft" in inspect.signature(cls.__init__).parameters:
        params["stft"] = STFT(
            n_fft=args.n_fft, hop_length=args.hop_length, win_length=args.win_length,
            window=args.window,
        )
    separator = cls(**params)
    separator.check_params()  # bad parameters fail before any file is read
    outdir = Path(args.outdir)
    inputs = [Path(p) for p in args.inputs]
    for path in inputs:  # check everything before doing any work
        if not path.is_file():
            raise _UsageError(f"{PROG}: error: {path}: no such file")
    if outdir.exists() and not outdir.is_dir():
        raise _UsageError(f"{PROG}: error: -o {outdir}: must be a folder, not a file")
    _refuse_overwriting_inputs(inputs, outdir, args.format)
    outdir.mkdir(parents=True, exist_ok=True)
    for path in inputs:
        t0 = time.perf_counter()
        y, sr = load(path, sr=args.sr)
        seconds = y.shape[-1] / sr
        _say(args, f"{path}: {seconds:.1f} s, {y.shape[0]} channel(s), {sr} Hz "
                   f"(read in {time.perf_counter() - t0:.2f} s)")
        t1 = time.perf_counter()
        result = separator.separate(y, sr)
        took = time.perf_counter() - t1
        _say(args, f"{path}: {args.method} in {took:.2f} s ({seconds / max(took, 1e-9):.1f}x "
                   "real time)")
        written = result.save(outdir, args.format, prefix=f"{path.stem}_")
        for target in written:
            print(target)
    return 0


# --------------------------------------------------------------------------- list / demo
def _run_list(args) -> int:
    from .separators import available_separators

    registry = available_separators()
    width = max(len(n) for n in registry)
    for name, cls in registry.items():
        tag = " [oracle: needs true sources]" if cls.needs_references else ""
        print(f"{name:<{width}}  {cls.kind:<6}  {cls.summary}{tag}")
    return 0


def _run_demo(args) -> int:
    import numpy as np

    from ._validation import check_positive_float
    from .io import save
    from .metrics import si_sdr
    from .separators.hpss import HPSS
    from .synth import harmonic_percussive_mixture

    sr = 22050
    check_positive_float(args.seconds, "--seconds")
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    _say(args, f"synthesising {args.seconds:g} s of chords over drums at {sr} Hz ...")
    y, truth = harmonic_percussive_mixture(sr=sr, seconds=args.seconds, seed=args.seed)
    t0 = time.perf_counter()
    result = HPSS(margin=1.0).separate(y, sr)
    took = time.perf_counter() - t0
    _say(args, f"HPSS separated it in {took:.2f} s (includes numba compilation on a first run)")
    save(outdir / "mixture.wav", y, sr)
    for name in truth:
        save(outdir / f"true_{name}.wav", truth[name], sr)
    written = result.save(outdir, prefix="estimate_")
    rows = []
    for name in truth:
        ref = truth[name].astype(np.float64)
        est = float(si_sdr(ref, result[name].astype(np.float64)))
        base = float(si_sdr(ref, y.astype(np.float64)))
        rows.append((name, est, base, est - base))
    print("| source     | SI-SDR (dB) | mixture as estimate (dB) | improvement (dB) |")
    print("|------------|------------:|-------------------------:|-----------------:|")
    for name, est, base, imp in rows:
        print(f"| {name:<10} | {est:11.2f} | {base:24.2f} | {imp:16.2f} |")
    print(f"files in {outdir}/: mixture.wav, true_*.wav, "
          + ", ".join(p.name for p in written))
    return 0


ORACLES = ("mixture", "irm", "ibm", "psm", "oracle_wiener")


def _add_evaluate_parser(sub):
    p = sub.add_parser(
        "evaluate",
        help="score a method on a dataset (BSS Eval, SI-SDR); prints the median table",
        description="Separate every track of a dataset and score the estimates against the "
        "true stems.  DATASET is a folder of track folders (mixture.<ext> + one file per "
        "stem, the MUSDB18-HQ layout), a manifest .json, or a folder holding manifest.json.",
    )
    p.add_argument("method", metavar="METHOD", help="a method name from 'dsp-separate list'")
    p.add_argument("dataset", metavar="DATASET", help="dataset folder or manifest")
    p.add_argument("--task", nargs="+", default=None, help="manifest task(s), e.g. hpss")
    p.add_argument("--stems", nargs="+", default=None, help="stems to load and score")
    p.add_argument("--map", nargs="+", default=None, metavar="SOURCE=STEM",
                   help="pair method sources with stems, e.g. percussive=drums")
    p.add_argument("--metrics", nargs="+", default=["sdr", "sir", "sar", "si_sdr"])
    p.add_argument("--window", type=float, default=None,
                   help="framewise BSS Eval with this window in seconds (median per track)")
    p.add_argument("--oracle", action="store_true",
                   help="also score the oracle separators: " + ", ".join(ORACLES))
    p.add_argument("--accompaniment", action="store_true",
                   help="folder datasets: derive an 'accompaniment' stem (all but vocals)")
    p.add_argument("-o", "--output", default=None, help="write every score to this CSV file")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-track progress")
    p.set_defaults(handler=_run_evaluate)


def _run_evaluate(args) -> int:
    from .datasets import open_dataset
    from .evaluation import evaluate, median_table, to_csv
    from .separators import get_separator

    get_separator(args.method)  # unknown names fail before any file is read
    stem_map = None
    if args.map:
        pairs = [item.split("=", 1) for item in args.map]
        if any(len(pair) != 2 or not all(pair) for pair in pairs):
            raise _UsageError(f"{PROG}: error: --map {' '.join(args.map)}: use SOURCE=STEM")
        stem_map = dict(pairs)
    dataset = open_dataset(args.dataset, task=args.task, stems=args.stems,
                           accompaniment=args.accompaniment)
    methods = [args.method] + [m for m in ORACLES if args.oracle and m != args.method]
    table = evaluate(methods, dataset, metrics=tuple(args.metrics), stem_map=stem_map,
                     window=args.window, progress=not args.quiet, as_frame=False)
    print(median_table(table))
    if args.output:
        to_csv(table, args.output)
        _say(args, f"wrote {args.output}")
    return 0


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .separators import available_separators

    parser = _Parser(
        prog=PROG,
        description="Separate audio into sources with classical signal processing.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    p = sub.add_parser("list", help="list the separation methods, one line each")
    p.set_defaults(handler=_run_list)
    p = sub.add_parser("demo", help="separate a synthesised mixture and print SI-SDR")
    p.add_argument("-o", "--outdir", default="dsp_separate_demo",
                   help="folder for the audio files (default: ./dsp_separate_demo)")
    p.add_argument("--seconds", type=float, default=6.0, help="length of the mixture")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=_run_demo)
    _add_evaluate_parser(sub)
    for name, cls in available_separators().items():
        if not cls.needs_references:
            _add_method_parser(sub, name, cls)
    return parser


def main(argv=None) -> int:
    """Entry point of ``dsp-separate``; returns the exit status."""
    from .exceptions import DspSeparateError

    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.handler(args)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (DspSeparateError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split())
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
