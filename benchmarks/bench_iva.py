"""The IVA family (AuxIVA, ILRMA): speed beside pyroomacoustics, quality on the dev corpus.

Speed (``run``), in one process, A B A B after warm-up (our kernels compiled first):

* ``dsp_separate.separators.iva.auxiva(X, 50)`` (IP, Laplace) against
  ``pyroomacoustics.bss.auxiva(X, n_iter=50, proj_back=False)`` and ``ilrma(X, 50)`` (2
  components) against ``pyroomacoustics.bss.ilrma(X, n_iter=50, n_components=2,
  proj_back=False)`` on the same STFT (n_fft 2048, hop 512) of a synthetic convolutive
  mixture, 2 channels x 30 s at 16 kHz and 3 channels x 30 s (quick: 10 s).  Both without
  projection back (the algorithm only); the SDR of both on that input is then measured with
  the images at every microphone (ours: projection back through W^-1; theirs: the
  least-squares images of their outputs, which is the same thing for a determined W), by
  ``dsp_separate.metrics.sd_sdr`` against the true source images, best permutation.

Quality (``quality``): ``AuxIVA()`` (Gauss model; also ISS and Laplace) and ``ILRMA()``
with their defaults on the dev corpus ``mc_convolutive`` and ``mc_instantaneous`` tasks,
every source scored blind with
``../shared/peers/score.py`` (the scorer of ``../shared/peers/table.md``), median SDR per
source over items, beside the peers' rows from ``../shared/peers/results/<task>/``.
"""

from __future__ import annotations

import json
import sys
import time
from itertools import permutations
from pathlib import Path

import numpy as np

from ._harness import Row, side_by_side

SR = 16000


def speechlike(n_sources: int, n: int, seed: int = 0) -> np.ndarray:
    """Laplacian noise under slow, source-specific envelopes (independent, speech-like)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    out = []
    for k in range(n_sources):
        rate = 1400.0 + 800.0 * k + 200.0 * rng.random()
        env = np.abs(np.sin(t / rate + rng.random() * 3)) ** 2
        out.append(rng.laplace(size=n) * env)
    return np.array(out)


def convolutive(n_sources: int, seconds: float, taps: int = 16, seed: int = 0):
    """(images (K, M, n), mixture (M, n)) through random decaying FIR filters, M = K."""
    n = int(seconds * SR)
    s = speechlike(n_sources, n, seed)
    rng = np.random.default_rng(seed + 100)
    h = rng.standard_normal((n_sources, n_sources, taps)) * 0.5 * np.exp(-np.arange(taps) / 4)
    for i in range(n_sources):
        h[i, i, 0] += 1.0
    images = np.stack([[np.convolve(s[k], h[m, k])[:n] for m in range(n_sources)]
                       for k in range(n_sources)])
    return images, images.sum(axis=0)


def _sdr(images, est):
    import dsp_separate as ds

    K = images.shape[0]
    best = -np.inf
    for p in permutations(range(K)):
        best = max(best, float(np.mean([ds.metrics.sd_sdr(images[k], est[p[k]])
                                        for k in range(K)])))
    return best


def _pra_images(Y_pra, X):
    """Least-squares images (K, M, F, T) of pyroomacoustics' outputs (T, F, K)."""
    from dsp_separate._bss import least_squares_images

    Y = np.ascontiguousarray(np.transpose(Y_pra, (2, 1, 0)))
    return least_squares_images(Y, X)


def run(quick: bool) -> list[Row]:
    import pyroomacoustics as pra

    import dsp_separate as ds
    from dsp_separate._bss import images_from_demixing
    from dsp_separate.separators.iva import auxiva, ilrma

    rows = []
    stft = ds.STFT(2048, 512)
    seconds = 10 if quick else 30
    n_iter = 50
    # compile our kernels on a small input
    small = stft.forward(convolutive(2, 1.0)[1])
    auxiva(small, 2)
    ilrma(small, n_iter=2)
    for n_ch in (2, 3):
        images, y = convolutive(n_ch, seconds, seed=n_ch)
        X = stft.forward(y)  # (M, F, T)
        Xt = np.ascontiguousarray(np.transpose(X, (2, 1, 0)))  # pyroomacoustics: (T, F, M)
        size = f"{n_ch} ch x {seconds} s @ 16 kHz, STFT 2048/512 ({X.shape[-1]} frames)"
        for label, ours, peer in [
            ("AuxIVA IP Laplace", lambda X=X: auxiva(X, n_iter, source_model="laplace"),
             lambda Xt=Xt: pra.bss.auxiva(Xt, n_iter=n_iter, proj_back=False)),
            ("ILRMA (2 components)", lambda X=X: ilrma(X, 2, n_iter),
             lambda Xt=Xt: pra.bss.ilrma(Xt, n_iter=n_iter, n_components=2,
                                         proj_back=False)),
        ]:
            t_ours, t_peer = side_by_side(ours, peer, repeats=1 if quick else 2, warmup=0)
            Y, W, _ = ours()
            est_ours = np.stack([stft.inverse(img, y.shape[-1])
                                 for img in images_from_demixing(Y, W)])
            with np.errstate(all="ignore"):
                Y_pra = peer()
            if np.isfinite(Y_pra).all():
                est_pra = np.stack([stft.inverse(img, y.shape[-1])
                                    for img in _pra_images(Y_pra, X)])
                sdr_pra = f"{_sdr(images, est_pra):.1f}"
            else:
                sdr_pra = "non-finite"
            rows.append(Row(f"{label}, {n_iter} iterations", size, t_ours, t_peer,
                            f"pyroomacoustics {pra.__version__}", ">= 5x faster",
                            note=f"SDR ours {_sdr(images, est_ours):.1f} dB, peer "
                                 f"{sdr_pra} dB (target: within 0.5 dB)"))
    return rows


# ---------------------------------------------------------------------------- quality
PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers"
TASKS = ("mc_convolutive", "mc_instantaneous")


def _ours():
    import dsp_separate as ds

    return {"ds_auxiva": ds.AuxIVA(), "ds_auxiva_iss": ds.AuxIVA(update="iss"),
            "ds_auxiva_laplace": ds.AuxIVA(source_model="laplace"), "ds_ilrma": ds.ILRMA()}


def _peer_rows(task):
    rows = []
    folder = PEERS / "results" / task
    if not folder.is_dir():
        return rows
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        items = [it for it in data["items"].values() if it.get("ok", True)]
        if not items:
            continue
        med = [float(np.median([_num(it["sources"][s]["sdr"]) for it in items]))
               for s in ("src0", "src1")]
        wall = float(np.median([it["wall_s"] for it in items]))
        kind = ("oracle" if path.stem.startswith("oracle") else
                "floor" if path.stem.startswith("mixture") else "peer")
        rows.append((path.stem, kind, med[0], med[1], wall, ""))
    return rows


def _num(v):
    return float(v)  # the scorer writes non-finite values as "-inf", "inf", "nan"


def quality(quick: bool) -> str:
    import dsp_separate as ds

    from .bench_quality import corpus_root

    root = corpus_root()
    if root is None or not (PEERS / "score.py").is_file():
        return "### IVA family\n\n(dev corpus or ../shared/peers/score.py not found: skipped)\n"
    sys.path.insert(0, str(PEERS))
    from score import score_item

    out = []
    for task in TASKS:
        items = sorted(p for p in (root / task).iterdir() if (p / "meta.json").is_file())
        rows = []
        for name, sep in _ours().items():
            scores, walls, failures = {"src0": [], "src1": []}, [], []
            for item in items:
                y, sr = ds.load(item / "mixture.flac")
                t0 = time.perf_counter()
                try:
                    result = sep.separate(y, sr)
                except Exception as exc:  # a failure is a row entry, not a crash
                    failures.append(f"{item.name}: {type(exc).__name__}")
                    continue
                walls.append(time.perf_counter() - t0)
                sc = score_item(str(item), [result[n] for n in result.names],
                                perceptual=False)
                for src in scores:
                    scores[src].append(_num(sc["sources"][src]["sdr"]))
            med = [float(np.median(scores[s])) if scores[s] else float("nan")
                   for s in ("src0", "src1")]
            rows.append((name, "ds", med[0], med[1],
                         float(np.median(walls)) if walls else float("nan"),
                         "; ".join(failures)))
        rows += _peer_rows(task)
        lines = [
            f"### {task} ({len(items)} items) — median SDR (dB) per source, blind "
            "assignment, scored with ../shared/peers/score.py",
            "",
            "| row | kind | src0 | src1 | mean | wall s (median per item) | failures |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for name, kind, a, b, wall, fail in rows:
            lines.append(f"| {name} | {kind} | {a:.1f} | {b:.1f} | {(a + b) / 2:.1f} "
                         f"| {wall:.2f} | {fail} |")
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


if __name__ == "__main__":
    from ._harness import markdown

    quick = "--quick" in sys.argv
    if "--quality" in sys.argv:
        print(quality(quick))
    else:
        print(markdown(run(quick)))
