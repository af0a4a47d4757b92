"""ICA and spatial separators (issue 9): speed and dev-corpus quality beside the peers.

Speed (``run``), in one process, A B A B after warm-up:

* ``DUET().separate`` on 60 s of stereo at 44.1 kHz (quick: 15 s), three sparse speech-like
  sources with distinct pans and sub-sample delays: real-time factor.
* ``FastICA().separate`` (scikit-learn FastICA + least-squares projection back + order)
  against scikit-learn's plain ``FastICA(whiten="unit-variance").fit_transform`` (default
  SVD whitening) on the same 30 s 2x2 instantaneous mixture at 16 kHz: what projection back
  costs, net of our whitening solver choice (``eigh`` once the rank is checked).
* ``FDICA().separate`` and ``SpatialClustering().separate`` on 30 s stereo at 16 kHz
  (quick: 10 s): seconds (no in-process peer).

Quality (``quality``): median BSS Eval SDR per source on the dev corpus tasks
``mc_instantaneous`` (FastICA), ``mc_anechoic`` (DUET, spatial clustering) and
``mc_convolutive`` (FDICA), scored with ``../shared/peers/score.py`` in blind mode (the
scorer of ``../shared/peers/table.md``), beside the peers' stored results in
``../shared/peers/results/<task>/``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from ._harness import Row, side_by_side, time_alone

PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers"


def _speechlike(n, sr, f0, rate, seed):
    r = np.random.default_rng(seed)
    t = np.arange(n) / sr
    env = np.clip(np.sin(2 * np.pi * rate * t + r.uniform(0, 6)), 0, None) ** 3
    f = f0 * (1 + 0.06 * np.sin(2 * np.pi * 0.9 * t + seed))
    phase = 2 * np.pi * np.cumsum(f) / sr
    return env * sum(np.sin(h * phase) / h for h in range(1, 30) if h * f0 * 1.1 < 4000)


def _frac_delay(x, d):
    n = len(x)
    X = np.fft.rfft(x, 2 * n)
    w = 2 * np.pi * np.arange(len(X)) / (2 * n)
    return np.fft.irfft(X * np.exp(-1j * w * d), 2 * n)[:n]


def anechoic_stereo(seconds, sr, seed=0):
    """(2, n) float32: 3 speech-like sources, gains 0.5 / 1 / 1.8, delays -0.7 / 0.3 / 1.0."""
    n = int(seconds * sr)
    out = np.zeros((2, n))
    for j, (f0, rate, g, d) in enumerate([(110, 1.7, 0.5, -0.7), (170, 2.3, 1.0, 0.3),
                                          (260, 3.1, 1.8, 1.0)]):
        s = _speechlike(n, sr, f0, rate, j + seed)
        out[0] += s
        out[1] += g * _frac_delay(s, d)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def run(quick: bool) -> list[Row]:
    from sklearn.decomposition import FastICA as SkFastICA

    import dsp_separate as ds

    rows = []
    # --- DUET real-time factor, 44.1 kHz stereo
    sr = 44100
    seconds = 15 if quick else 60
    y = anechoic_stereo(seconds, sr)
    sep = ds.DUET(n_sources=3)
    t = time_alone(lambda: sep.separate(y, sr), repeats=3, warmup=1)
    rows.append(Row("DUET(n_sources=3).separate(y, sr)", f"{seconds} s stereo @ 44.1 kHz", t,
                    None, target="report", note=f"{seconds / t:.0f}x real time"))

    # --- FastICA with projection back vs scikit-learn's plain FastICA
    sr = 16000
    n = 30 * sr
    rng = np.random.default_rng(0)
    s = np.stack([_speechlike(n, sr, 140, 2.3, 1), rng.laplace(size=n) * 0.1])
    x = np.array([[1.0, 0.6], [0.5, 1.0]]) @ s
    ours = ds.FastICA()
    plain = SkFastICA(n_components=2, whiten="unit-variance", random_state=0, max_iter=400)
    t_ours, t_peer = side_by_side(lambda: ours.separate(x, sr),
                                  lambda: plain.fit_transform(x.T),
                                  repeats=3 if quick else 5)
    rows.append(Row("FastICA().separate (+ projection back, order)", "30 s 2x2 @ 16 kHz",
                    t_ours, t_peer, "sklearn FastICA.fit_transform", "overhead only",
                    note=f"ours / sklearn = {t_ours / t_peer:.2f}: projection back and order "
                         "included; eigh whitening after our rank check (sklearn's default "
                         "is an SVD of the data)"))

    # --- FDICA and spatial clustering, seconds
    seconds = 10 if quick else 30
    y = anechoic_stereo(seconds, sr)
    for label, sep in [("FDICA().separate (100 it.)", ds.FDICA()),
                       ("SpatialClustering(n_sources=3).separate",
                        ds.SpatialClustering(n_sources=3))]:
        t = time_alone(lambda sep=sep: sep.separate(y, sr), repeats=1, warmup=1)
        rows.append(Row(label, f"{seconds} s stereo @ 16 kHz", t, None,
                        note=f"{seconds / t:.0f}x real time"))
    return rows


# ---------------------------------------------------------------------------- quality
TASKS = {
    "mc_instantaneous": (["fastica"], ["nussl_ica", "sklearn_fastica", "pra_auxiva"]),
    "mc_anechoic": (["duet", "duet_soft", "spatial_clustering", "spatial_clustering_kmeans"],
                    ["nussl_spatial_clustering", "nussl_duet"]),
    "mc_convolutive": (["fdica"], ["pra_auxiva", "pra_ilrma", "ssspy_auxlaplaceiva"]),
}


def _ours(name, k):
    import dsp_separate as ds

    return {
        "fastica": lambda: ds.FastICA(n_sources=k),
        "duet": lambda: ds.DUET(n_sources=k),
        "duet_soft": lambda: ds.DUET(n_sources=k, mask="soft"),
        "spatial_clustering": lambda: ds.SpatialClustering(n_sources=k),
        "spatial_clustering_kmeans": lambda: ds.SpatialClustering(
            n_sources=k, clusterer="kmeans", mask="binary"),
        "fdica": lambda: ds.FDICA(n_sources=k),
    }[name]()


def _peer(task, name, sources):
    path = PEERS / "results" / task / f"{name}.json"
    if not path.is_file():
        return None
    items = json.loads(path.read_text())["items"]
    med = [float(np.median([it["sources"][s]["sdr"] for it in items.values() if it["ok"]]))
           for s in sources]
    walls = float(np.median([it["wall_s"] for it in items.values()]))
    fails = sum(not it["ok"] for it in items.values())
    return med, walls, fails


def quality(quick: bool) -> str:
    import dsp_separate as ds

    from .bench_quality import corpus_root

    root = corpus_root()
    if root is None or not (PEERS / "score.py").is_file():
        return "### mc tasks\n\n(dev corpus or ../shared/peers/score.py not found: skipped)\n"
    sys.path.insert(0, str(PEERS))
    from score import score_item

    out = []
    for task, (ours, peers) in TASKS.items():
        items = sorted(p for p in (root / task).iterdir() if (p / "meta.json").is_file())
        # sources present in every item (the columns of ../shared/peers/table.md)
        n_src = min(json.loads((p / "meta.json").read_text())["n_sources"] for p in items)
        sources = [f"src{i}" for i in range(n_src)]
        rows = []
        for name in ours:
            per = {s: [] for s in sources}
            walls, fails, worst = [], 0, np.inf
            for item in items:
                meta = json.loads((item / "meta.json").read_text())
                y, sr = ds.load(item / "mixture.flac")
                t0 = time.perf_counter()
                try:
                    result = _ours(name, meta["n_sources"]).separate(y, sr)
                except Exception:  # noqa: BLE001 - a failure is a row entry, not a crash
                    fails += 1
                    continue
                walls.append(time.perf_counter() - t0)
                sc = score_item(str(item), [result[n] for n in result.names])
                for s in meta["sources"]:
                    worst = min(worst, sc["sources"][s]["sdr"])
                    if s in per:
                        per[s].append(sc["sources"][s]["sdr"])
            med = [float(np.median(per[s])) for s in sources]
            rows.append((f"ds_{name}", "ds", med, float(np.median(walls)), fails, worst))
        for name in peers:
            got = _peer(task, name, sources)
            if got is not None:
                rows.append((name, "peer", got[0], got[1], got[2], None))
        head = " | ".join(sources)
        out += [f"### {task} ({len(items)} items) — median SDR (dB) per source, blind mode of "
                "../shared/peers/score.py", "",
                f"| row | kind | {head} | mean | worst item-source | fail | wall s |",
                "|---|---|" + "---:|" * (len(sources) + 4)]
        for name, kind, med, wall, fails, worst in rows:
            cells = " | ".join(f"{m:.1f}" for m in med)
            w = "-" if worst is None else f"{worst:.1f}"
            out.append(f"| {name} | {kind} | {cells} | {np.mean(med):.1f} | {w} | "
                       f"{fails or ''} | {wall:.2f} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    from ._harness import markdown

    quick = "--quick" in sys.argv
    if "--quality" in sys.argv:
        print(quality(quick))
    else:
        print(markdown(run(quick)))
