"""Run every benchmark and print one markdown table.

Usage::

    python -m benchmarks.run                 # all speed benchmarks, full size
    python -m benchmarks.run --quick         # small inputs, a smoke test
    python -m benchmarks.run --only stft hpss
    python -m benchmarks.run --write         # also write benchmarks/RESULTS.md

Each ``benchmarks/bench_<name>.py`` has ``run(quick: bool) -> list[Row]`` (speed) and may
have ``quality(quick: bool) -> str`` (a markdown table of separation quality).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import platform
import sys
from pathlib import Path

from ._harness import markdown

MODULES = ["stft", "hpss", "wiener", "metrics", "quality", "enhance", "repet", "nmf", "iva",
           "spatial"]


def machine() -> str:
    """One paragraph naming the machine and the library versions."""
    import numba
    import numpy
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = [f"numpy {numpy.__version__}", f"scipy {scipy.__version__}",
                f"numba {numba.__version__}"]
    from importlib.metadata import PackageNotFoundError, version

    for name in ("librosa", "norbert", "museval", "mir_eval", "fast_bss_eval"):
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:  # a peer that is not installed
            pass
    return (
        f"{datetime.date.today().isoformat()}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, " + ", ".join(versions)
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs (smoke test)")
    parser.add_argument("--only", nargs="*", default=None, choices=MODULES)
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS.md")
    args = parser.parse_args(argv)

    rows, quality = [], []
    for name in args.only or MODULES:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"# running bench_{name} ...", file=sys.stderr, flush=True)
        if hasattr(module, "run"):
            rows.extend(module.run(quick=args.quick))
        if hasattr(module, "quality"):
            quality.append(module.quality(quick=args.quick))

    text = f"Machine: {machine()}\n\n"
    if rows:
        text += "## Speed\n\n" + markdown(rows) + "\n"
        notes = [f"- {r.operation}: {k} = {v}" for r in rows for k, v in r.extra.items()]
        if notes:
            text += "\n" + "\n".join(notes) + "\n"
    for table in quality:
        text += "\n" + table + "\n"
    print(text)
    if args.write:
        out = Path(__file__).with_name("RESULTS.md")
        header = (
            "# Benchmark results\n\nMade by `python -m benchmarks.run --write`"
            + (" --quick" if args.quick else "")
            + ". Ratios are peer time / our time, measured side by side in one process "
            "(A B A B after a warm-up, median of the repeats).\n\n"
        )
        out.write_text(header + text)
        print(f"# wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
