"""The REPET family, 2DFT, RPCA and KAM: speed beside the peers, quality on the dev corpus.

Speed (``run``), in one process, A B A B after warm-up:

* REPET-SIM's model (:func:`dsp_separate.separators.repet.repet_sim_model`, similarity from
  the channel mean, medians per channel) against librosa's gallery recipe
  (``librosa.decompose.nn_filter(S, aggregate=np.median, metric="cosine", width=2 s)`` per
  channel, then ``np.minimum(S, filtered)``) on the same magnitude spectrogram (n_fft 2048,
  hop 512) of a stereo loop at 44.1 kHz: 60 s (quick: 15 s; librosa takes minutes on the
  issue's 180 s, too long for a shared 2-core machine).  Plus the whole
  ``REPETSIM().separate`` on 180 s (quick: 30 s) as a real-time factor.
* ``REPET().separate`` on 180 s of stereo (quick: 30 s): real-time factor (no peer).
* ``RPCA().separate`` on 30 s of stereo (quick: 10 s): seconds, iterations and final residual
  per channel (no peer in-process: nussl's ~260 s is the issue's figure).
* REPET-SIM memory on 10 minutes of stereo (quick: 20 s), in a fresh process: the whole
  ``separate``'s peak traced allocation and peak RSS beside the mixture STFT's size.

``python -m benchmarks.bench_repet --sim`` (or ``--repet``, ``--rpca``, ``--memory``, any
combination; ``--quick`` for the short sizes) runs only those parts.  ``--sim180`` is the
issue's own comparison on 180 s of stereo (librosa's recipe run once: about 20 minutes; not
part of ``run``).

Quality (``quality``): median BSS Eval SDR per source on the dev corpus ``repet`` task,
scored with ``../shared/peers/score.py`` (the scorer of ``../shared/peers/table.md``), beside
nussl 1.1.9's REPET, REPET-SIM and 2DFT and the oracle masks (from
``../shared/peers/results/repet/``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from ._harness import Row, side_by_side, time_alone

SR = 44100


def loop_signal(seconds: float, seed: int = 0) -> np.ndarray:
    """(2, n) float32: a 2 s loop (bass notes and noise bursts) repeated, plus a melody."""
    rng = np.random.default_rng(seed)
    n_loop = 2 * SR
    t = np.arange(n_loop) / SR
    loop = np.zeros(n_loop)
    for i, f0 in enumerate([110.0, 147.0, 131.0, 165.0]):
        seg = slice(i * n_loop // 4, (i + 1) * n_loop // 4)
        loop[seg] += 0.3 * np.sin(2 * np.pi * f0 * t[seg]) * np.exp(-2 * (t[seg] % 0.5))
    for start in range(0, n_loop, n_loop // 8):
        m = 3000
        loop[start:start + m] += 0.3 * rng.standard_normal(m) * np.exp(-np.arange(m) / 600)
    n = int(seconds * SR)
    bg = np.tile(loop, n // n_loop + 1)[:n]
    tt = np.arange(n) / SR
    fg = 0.2 * np.sin(2 * np.pi * (440 * tt + 30 * np.sin(0.5 * tt)))
    return np.stack([bg + fg, 0.8 * bg + fg]).astype(np.float32)


def _librosa_recipe(S, sr, hop):
    import librosa

    width = int(librosa.time_to_frames(2, sr=sr, hop_length=hop))
    out = np.empty_like(S)
    for c in range(S.shape[0]):
        filt = librosa.decompose.nn_filter(S[c], aggregate=np.median, metric="cosine",
                                           width=width)
        out[c] = np.minimum(S[c], filt)
    return out


def rows_sim(seconds: float, sep_seconds: float) -> list[Row]:
    """REPET-SIM's model beside librosa's recipe on ``seconds``; ``separate`` on
    ``sep_seconds`` as a real-time factor."""
    import dsp_separate as ds
    from dsp_separate.separators import repet as R

    stft = ds.STFT(2048, 512)
    y = loop_signal(seconds)
    S = np.abs(stft.forward(y))
    d = int(round(1.0 * SR / 512))
    R.repet_sim_model(S[..., :300], 100, d)  # compile
    _librosa_recipe(S[..., :400], SR, 512)
    t_ours, t_peer = side_by_side(lambda: R.repet_sim_model(S, 100, d),
                                  lambda: _librosa_recipe(S, SR, 512), repeats=1, warmup=0)
    rows = [Row("REPET-SIM model (k=100, 1 s) vs nn_filter recipe (median, cosine, 2 s)",
                f"{seconds:g} s stereo, |STFT| 1025 x {S.shape[-1]}", t_ours, t_peer,
                "librosa nn_filter per channel", ">= 20x faster",
                note="same spectrogram; ours: one similarity from the channel mean")]
    y = loop_signal(sep_seconds)
    sep = ds.REPETSIM()
    t_sep = time_alone(lambda: sep.separate(y, SR), repeats=1, warmup=1)
    rows.append(Row("REPETSIM().separate(y, sr)", f"{sep_seconds:g} s stereo float32", t_sep,
                    None, note=f"{sep_seconds / t_sep:.0f}x real time"))
    return rows


def rows_sim_long(seconds: float = 180.0) -> list[Row]:
    """The issue's comparison on ``seconds`` (180 s) of stereo: our REPET-SIM model, then
    librosa's recipe ONCE (it is quadratic in the frames: about 20 minutes), then ours again
    (after one warm-up of both on a short excerpt); plus the whole ``REPETSIM().separate``
    (the paper's method and ``wiener_iterations=1``) as real-time factors."""
    import dsp_separate as ds
    from dsp_separate.separators import repet as R

    stft = ds.STFT(2048, 512)
    y = loop_signal(seconds)
    S = np.abs(stft.forward(y))
    d = int(round(1.0 * SR / 512))
    R.repet_sim_model(S[..., :600], 100, d)
    _librosa_recipe(S[..., :600], SR, 512)
    t_a = time_alone(lambda: R.repet_sim_model(S, 100, d), repeats=1, warmup=0)
    t0 = time.perf_counter()
    peer = _librosa_recipe(S, SR, 512)
    t_peer = time.perf_counter() - t0
    t_b = time_alone(lambda: R.repet_sim_model(S, 100, d), repeats=1, warmup=0)
    ours = R.repet_sim_model(S, 100, d)
    diff = float(np.linalg.norm(ours - peer) / np.linalg.norm(peer))
    rows = [Row("REPET-SIM model (k=100, 1 s) vs nn_filter recipe (median, cosine, 2 s)",
                f"{seconds:g} s stereo, |STFT| 1025 x {S.shape[-1]}", (t_a + t_b) / 2, t_peer,
                "librosa nn_filter per channel (run once)", ">= 20x faster",
                note=f"ours {t_a:.1f} s before and {t_b:.1f} s after librosa's single run; "
                     f"relative difference of the models {diff:.2f} (different neighbour "
                     "rules)")]
    for params in ({}, {"wiener_iterations": 1}):
        sep = ds.REPETSIM(**params)
        sep.separate(y[:, : 5 * SR], SR)
        t_sep = time_alone(lambda sep=sep: sep.separate(y, SR), repeats=1, warmup=0)
        rows.append(Row(f"REPETSIM({', '.join(f'{k}={v}' for k, v in params.items())})"
                        ".separate(y, sr)", f"{seconds:g} s stereo float32", t_sep, None,
                        note=f"{seconds / t_sep:.1f}x real time"))
    return rows


def rows_repet(seconds: float) -> list[Row]:
    """``REPET().separate`` as a real-time factor (no peer)."""
    import dsp_separate as ds

    y = loop_signal(seconds)
    sep = ds.REPET()
    t_sep = time_alone(lambda: sep.separate(y, SR), repeats=3, warmup=1)
    return [Row("REPET().separate(y, sr)", f"{seconds:g} s stereo float32 @ 44.1 kHz", t_sep,
                None, target=">= 200x real time", note=f"{seconds / t_sep:.0f}x real time")]


def rows_rpca(seconds: float) -> list[Row]:
    """``RPCA().separate``: seconds, iterations and final residual per channel."""
    import dsp_separate as ds

    y = loop_signal(seconds)
    sep = ds.RPCA()
    sep.separate(y[:, : 2 * SR], SR)  # warm-up
    t0 = time.perf_counter()
    result = sep.separate(y, SR)
    t_rpca = time.perf_counter() - t0
    stats = "; ".join(f"{n} it., residual {r:.1e}"
                      for n, r in zip(result.info["n_iter"], result.info["residual"]))
    return [Row("RPCA().separate (kappa 0.3, tol 1e-4), one decomposition per channel",
                f"{seconds:g} s stereo", t_rpca, None, target="< 10 s (nussl ~260 s)",
                note=stats)]


_MEMORY_CHILD = """
import os, resource, sys, tracemalloc, numpy as np
sys.path.insert(0, {root!r})
from benchmarks.bench_repet import loop_signal, SR
import dsp_separate as ds
y = loop_signal({seconds})
sep = ds.REPETSIM()
sep.separate(y[:, : 5 * SR], SR)  # compile, warm the pools
with open("/proc/self/statm") as f:
    cur = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
tracemalloc.start()
sep.separate(y, SR)
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
X = ds.STFT(2048, 512).forward(y)
print(X.nbytes, X.shape[-1], peak, cur, rss)
"""


def rows_memory(seconds: float) -> list[Row]:
    """``REPETSIM().separate`` on ``seconds`` of stereo, in a fresh process: the peak traced
    allocation (tracemalloc: numpy's arrays) and the peak RSS, beside the mixture STFT."""
    import subprocess

    root = str(Path(__file__).resolve().parents[1])
    code = _MEMORY_CHILD.format(root=root, seconds=seconds)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    wall = time.perf_counter() - t0
    x_bytes, frames, peak, cur, rss = (int(v) for v in out[-5:])
    return [Row("REPETSIM().separate peak memory", f"{seconds:g} s stereo", wall, None,
                target="<= 3x the STFT",
                note=f"tracemalloc peak {peak / x_bytes:.2f}x the mixture STFT "
                     f"({x_bytes / 1e6:.0f} MB, counted in: the call makes it); peak RSS "
                     f"{rss / 1e9:.2f} GB, {(rss - cur) / x_bytes:.2f}x the STFT above the "
                     f"{cur / 1e9:.2f} GB resident before the call; a frames x frames float32 "
                     f"matrix would be {4 * frames ** 2 / 1e9:.1f} GB; time includes start-up")]


def y_bytes(seconds: float) -> int:
    return 2 * int(seconds * SR) * 4


def run(quick: bool) -> list[Row]:
    rows = rows_sim(15 if quick else 60, 30 if quick else 180)
    rows += rows_repet(30 if quick else 180)
    rows += rows_rpca(10 if quick else 30)
    rows += rows_memory(20 if quick else 600)
    return rows


# ---------------------------------------------------------------------------- quality
PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers"


def _ours():
    import dsp_separate as ds

    return {
        "ds_repet": ds.REPET(),
        "ds_adaptive_repet": ds.AdaptiveREPET(),
        "ds_repet_sim": ds.REPETSIM(),
        "ds_repet_sim (wiener_iterations=1)": ds.REPETSIM(wiener_iterations=1),
        "ds_ft2d": ds.FT2D(),
        "ds_kam": ds.KAM(),
        "ds_rpca": ds.RPCA(),
    }


def _peer_rows():
    rows = []
    names = [("nussl_repet", "peer"), ("nussl_repet_sim", "peer"), ("nussl_ft2d", "peer"),
             ("librosa_vocalsep", "peer"), ("oracle_ds_irm2", "oracle"),
             ("oracle_ds_ibm", "oracle"), ("mixture_floor", "floor")]
    for name, kind in names:
        path = PEERS / "results" / "repet" / f"{name}.json"
        if not path.is_file():
            continue
        data = json.loads(path.read_text())
        items = data["items"]
        med = {src: float(np.median([it["sources"][src]["sdr"] for it in items.values()]))
               for src in ("background", "foreground")}
        wall = float(np.median([it["wall_s"] for it in items.values()]))
        rows.append((name, kind, med["background"], med["foreground"], wall))
    return rows


def quality(quick: bool) -> str:
    import dsp_separate as ds

    from .bench_quality import corpus_root

    root = corpus_root()
    if root is None or not (PEERS / "score.py").is_file():
        return "### repet task\n\n(dev corpus or ../shared/peers/score.py not found: skipped)\n"
    sys.path.insert(0, str(PEERS))
    from score import score_item

    items = sorted(p for p in (root / "repet").iterdir() if (p / "meta.json").is_file())
    rows = []
    for name, sep in _ours().items():
        scores = {"background": [], "foreground": []}
        walls = []
        for item in items:
            y, sr = ds.load(item / "mixture.flac")
            t0 = time.perf_counter()
            result = sep.separate(y, sr)
            walls.append(time.perf_counter() - t0)
            sc = score_item(str(item), {k: result[k] for k in ("background", "foreground")})
            for src in scores:
                scores[src].append(sc["sources"][src]["sdr"])
        rows.append((name, "ds", float(np.median(scores["background"])),
                     float(np.median(scores["foreground"])), float(np.median(walls))))
    rows += _peer_rows()
    lines = [
        f"### repet task ({len(items)} items) — median SDR (dB), scored with "
        "../shared/peers/score.py",
        "",
        "| row | kind | background | foreground | mean | wall s (median per item) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, kind, bg, fg, wall in rows:
        lines.append(f"| {name} | {kind} | {bg:.1f} | {fg:.1f} | {(bg + fg) / 2:.1f} "
                     f"| {wall:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from ._harness import markdown

    quick = "--quick" in sys.argv
    parts = {"sim": lambda: rows_sim(15 if quick else 60, 30 if quick else 180),
             "sim180": lambda: rows_sim_long(20 if quick else 180),
             "repet": lambda: rows_repet(30 if quick else 180),
             "rpca": lambda: rows_rpca(10 if quick else 30),
             "memory": lambda: rows_memory(20 if quick else 600)}
    chosen = [p for p in parts if f"--{p}" in sys.argv]
    if "--quality" in sys.argv:
        print(quality(quick))
    elif chosen:  # one part at a time keeps each timing run short on a shared machine
        for p in chosen:
            print(markdown(parts[p]()), flush=True)
    else:
        print(markdown(run(quick)))
