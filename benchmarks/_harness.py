"""Side-by-side timing: ours against a peer, in one process, alternating A B A B.

Absolute seconds drift 2-3x within an hour on the shared machines this project runs on, so
every figure is reported as a ratio of two timings taken interleaved in the same process.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Row:
    """One line of the results table."""

    operation: str
    size: str
    ours: float  # median seconds
    peer: float | None  # median seconds (None: no peer)
    peer_name: str = ""
    target: str = ""  # the floor from the issue, e.g. ">= 2x faster"
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """peer time / our time: > 1 means we are faster."""
        if self.peer is None or self.ours <= 0:
            return None
        return self.peer / self.ours


def _time_once(fn) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def alternate(ours, peer, *, repeats: int = 3, warmup: int = 1, clock=None):
    """``(times of ours, times of peer)``: ``clock(fn)`` of each (default: wall seconds),
    run alternately after ``warmup`` rounds."""
    clock = clock or _time_once
    for _ in range(warmup):
        ours()
        peer()
    t_ours, t_peer = [], []
    for _ in range(repeats):
        t_ours.append(clock(ours))
        t_peer.append(clock(peer))
    return t_ours, t_peer


def side_by_side(ours, peer, *, repeats: int = 3, warmup: int = 1) -> tuple[float, float]:
    """Median seconds of ``ours()`` and ``peer()``, run alternately after ``warmup`` rounds."""
    t_ours, t_peer = alternate(ours, peer, repeats=repeats, warmup=warmup)
    return statistics.median(t_ours), statistics.median(t_peer)


def time_alone(fn, *, repeats: int = 3, warmup: int = 1) -> float:
    """Median seconds of ``fn()`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    return statistics.median(_time_once(fn) for _ in range(repeats))


def markdown(rows: list[Row]) -> str:
    """The table: operation, input size, our time, the peer's time, the ratio, the target."""
    lines = [
        "| operation | input | ours (s) | peer | peer (s) | ratio (peer/ours) | target | note |",
        "|---|---|---:|---|---:|---:|---|---|",
    ]
    for r in rows:
        peer_t = f"{r.peer:.3f}" if r.peer is not None else "-"
        ratio = f"{r.ratio:.1f}x" if r.ratio is not None else "-"
        lines.append(
            f"| {r.operation} | {r.size} | {r.ours:.3f} | {r.peer_name or '-'} | {peer_t} "
            f"| {ratio} | {r.target} | {r.note} |"
        )
    return "\n".join(lines)
