"""NMF: ``dsp_separate.nmf`` against scikit-learn's ``NMF(solver="mu")``; corpus quality.

Speed: the magnitude STFT (n_fft 2048, hop 512) of 180 s of mono 44.1 kHz audio
(``stereo_signal``'s first channel: a chord with vibrato and noise; 1025 x 15504), k = 16,
200 iterations (the issue's size; ``--quick``: 20 s, 30 iterations) from the same random
initialisation, ``tol=0`` on both sides (so both run every iteration), ours computing the
objective every 10 iterations as scikit-learn does (a second KL row: every iteration),
float64 (scikit-learn computes in float64).  After a warm-up on 10 s, each side runs once
at full size (about 4 minutes in all).  KL (β = 1) and Itakura-Saito (β = 0):
scikit-learn refuses zeros for IS, so ``1e-9 * max(V)`` is added to V for IS, on both sides
(the same value as our own floor).  The relative difference of the final objectives is
reported, and the time of two full-size products, ``W @ H`` and ``W.T @ A`` (the lower
bound the issue names), and of the four products of an unfused KL iteration.

Quality: the dev corpus ``instruments`` and ``instruments_mono`` tasks, scored with
``../shared/peers/score.py``: ``supervised_nmf`` with one dictionary per instrument learned
from ``instruments/training/<program>_<name>.flac`` (the item's instruments, from its
``meta.json``; 24 templates each, NNDSVDa start, at most 500 iterations, soft masks of
power 2, as the peer's recipe; and the same with power-1 masks and 2 Wiener iterations),
``score_nmf`` given each voice's notes from ``instruments/<item>/midi/<voice>.mid`` (read
with ``midi_notes``; the ``instruments_mono`` items are the same excerpts, so they use the
same MIDI files), and blind ``nmf`` with 4 sources and 32 components (best permutation),
beside the peers' rows in ``../shared/peers/results``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ._harness import Row, side_by_side, time_alone
from .bench_stft import stereo_signal

PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers"
K = 16


def _spectrogram(seconds: float) -> np.ndarray:
    import dsp_separate as ds

    y = stereo_signal(seconds)[0].astype(np.float64)
    return np.abs(ds.STFT(n_fft=2048, hop_length=512).forward(y))


def run(quick: bool) -> list[Row]:
    from sklearn.decomposition import NMF

    import dsp_separate as ds

    # the size: 180 s, 200 iterations (about 4 minutes in all, so after a warm-up on
    # a short signal each side runs once at full size)
    seconds, n_iter = (20.0, 30) if quick else (180.0, 200)
    V = _spectrogram(seconds)
    rng = np.random.default_rng(0)
    scale = np.sqrt(V.mean() / K)
    W0 = scale * np.abs(rng.standard_normal((V.shape[0], K)))
    H0 = scale * np.abs(rng.standard_normal((K, V.shape[1])))
    rows = []
    size = f"{V.shape[0]}x{V.shape[1]} ({seconds:g} s), k={K}, {n_iter} it"

    def sk_nmf(Vb, beta, W, H, n):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = NMF(K, solver="mu", beta_loss=beta, init="custom", max_iter=n, tol=0)
            Wp = sk.fit_transform(Vb, W=W.copy(), H=H.copy())
        return Wp, sk.components_

    # warm-up (compilation, BLAS threads, page faults) on 10 s, 3 iterations
    n_warm = 430
    for beta in (1.0, 0.0):
        Vw = np.ascontiguousarray(V[:, :n_warm]) + 1e-9 * V.max()
        ds.nmf(Vw, W=W0, H=H0[:, :n_warm], beta=beta, max_iter=3, tol=0)
        sk_nmf(Vw, beta, W0, H0[:, :n_warm], 3)
    repeats = 2 if quick else 1
    t_kl = None
    for beta, label in ((1.0, "KL"), (0.0, "IS")):
        Vb = V + 1e-9 * V.max() if beta == 0 else V
        out = {}

        def ours(Vb=Vb, beta=beta, out=out):
            out["ours"] = ds.nmf(Vb, W=W0, H=H0, beta=beta, max_iter=n_iter, tol=0,
                                 objective_every=10)

        def peer(Vb=Vb, beta=beta, out=out):
            out["peer"] = sk_nmf(Vb, beta, W0, H0, n_iter)

        t_ours, t_peer = side_by_side(ours, peer, repeats=repeats, warmup=0)
        Wo, Ho, _ = out["ours"]
        Wp, Hp = out["peer"]
        d_o = ds.beta_divergence(Vb, Wo @ Ho, beta)
        d_p = ds.beta_divergence(Vb, Wp @ Hp, beta)
        rows.append(Row(f"NMF {label}, MU (objective every 10 it, as sklearn)", size, t_ours,
                        t_peer, "sklearn NMF(mu)", ">= 3x faster",
                        f"final objective {d_o:.6e} vs {d_p:.6e} (rel. diff "
                        f"{abs(d_o - d_p) / d_p:.1e}); {1e3 * t_ours / n_iter:.1f} vs "
                        f"{1e3 * t_peer / n_iter:.1f} ms/it"))
        if beta == 1.0:
            t_kl = t_ours

            def ours_every(Vb=Vb, beta=beta):
                ds.nmf(Vb, W=W0, H=H0, beta=beta, max_iter=n_iter, tol=0, objective_every=1)

            t_every = time_alone(ours_every, repeats=repeats, warmup=0)
            rows.append(Row("NMF KL, MU (objective every iteration)", size, t_every, t_peer,
                            "sklearn NMF(mu) (the row above)", "",
                            f"{1e3 * t_every / n_iter:.1f} ms/it"))

    A = V / (W0 @ H0)

    def two():
        W0 @ H0
        W0.T @ A

    def four():
        W0 @ H0
        A @ H0.T
        W0 @ H0
        W0.T @ A

    t_two = time_alone(two, repeats=3)
    t_four = time_alone(four, repeats=3)
    rows.append(Row("two GEMMs, W @ H and W.T @ A (numpy/OpenBLAS, 2 threads): lower bound",
                    size, t_two, None,
                    note=f"{1e3 * t_two:.1f} ms; NMF KL above: {1e3 * t_kl / n_iter:.1f} "
                         f"ms/it = {t_kl / n_iter / t_two:.2f}x this"))
    rows.append(Row("the four BLAS products of an unfused KL iteration", size, t_four, None,
                    note=f"{1e3 * t_four:.1f} ms"))
    return rows


# ---------------------------------------------------------------------------- quality
VOICES = ("soprano", "alto", "tenor", "bass")


def _peer_rows(task):
    rows = []
    for name, kind in (("sklearn_supervised_nmf", "peer"), ("nussl_timbre", "peer"),
                       ("oracle_ds_irm2", "oracle"), ("oracle_ds_ibm", "oracle")):
        path = PEERS / "results" / task / f"{name}.json"
        if not path.is_file():
            continue
        items = json.loads(path.read_text())["items"]
        med = [float(np.median([it["sources"][v]["sdr"] for it in items.values()]))
               for v in VOICES]
        rows.append((name, kind, med, float(np.median([it["wall_s"] for it in
                                                       items.values()]))))
    return rows


def _dictionaries(root, instruments, stft, sr, n_components):
    """One dictionary per training instrument (learned once, shared by the items)."""
    import dsp_separate as ds
    from dsp_separate.separators.nmf import learn_dictionary

    out = {}
    for inst in instruments:
        program, name = inst.split(":")
        y, file_sr = ds.load(root / "instruments" / "training" / f"{int(program):03d}_{name}.flac",
                             sr=sr, mono=True, dtype=np.float64)
        S = np.abs(stft.forward(y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the peer's recipe: NNDSVDa start, at most 500 iterations
            out[inst] = learn_dictionary(S, n_components, max_iter=500, init="nndsvda",
                                         random_state=0)
    return out


def quality(quick: bool) -> str:
    import dsp_separate as ds

    from .bench_quality import corpus_root

    root = corpus_root()
    if root is None or not (PEERS / "score.py").is_file():
        return "### instruments\n\n(dev corpus or ../shared/peers/score.py not found)\n"
    sys.path.insert(0, str(PEERS))
    from score import score_item

    stft = ds.STFT(n_fft=2048, hop_length=512)
    sr = 44100
    metas = {}
    for task in ("instruments", "instruments_mono"):
        items = sorted(p for p in (root / task).iterdir() if (p / "meta.json").is_file())
        metas[task] = items[:1] if quick else items
    needed = sorted({inst for items in metas.values() for item in items
                     for inst in json.loads((item / "meta.json").read_text())
                     ["instruments"].values()})
    n_components = 24  # the peer's recipe: 24 per instrument, KL, soft masks of power 2
    dicts = _dictionaries(root, needed, stft, sr, n_components)
    out = []
    for task, items in metas.items():
        scores = {name: [] for name in ("ds_score_nmf", "ds_score_nmf_wiener2",
                                        "ds_supervised_nmf", "ds_supervised_nmf_wiener2",
                                        "ds_nmf_blind4")}
        walls = {k: [] for k in scores}
        for item in items:
            meta = json.loads((item / "meta.json").read_text())
            y, item_sr = ds.load(item / "mixture.flac")
            assert item_sr == sr
            sup = ds.SupervisedNMF(n_components=n_components, max_iter=200, power=2.0,
                                   random_state=0, stft=stft)
            sup.dictionaries_ = np.stack([dicts[meta["instruments"][v]] for v in VOICES])
            sup.names_ = list(VOICES)
            sup.sr_ = sr
            # the same dictionaries, power-1 masks refined by 2 multichannel Wiener EM
            # iterations (spatial covariances: the voices are panned apart)
            sup_w = ds.SupervisedNMF(n_components=n_components, max_iter=200, power=1.0,
                                     random_state=0, stft=stft, wiener_iterations=2)
            sup_w.dictionaries_, sup_w.names_, sup_w.sr_ = sup.dictionaries_, sup.names_, sr
            blind = ds.BlindNMF(n_sources=4, n_components=32, max_iter=100, power=2.0,
                                random_state=0, stft=stft)
            midi = root / "instruments" / item.name.replace("instmono_", "inst_") / "midi"
            notes = {v: ds.midi_notes(midi / f"{v}.mid") for v in VOICES}
            score = ds.ScoreNMF(stft=stft)
            score_w = ds.ScoreNMF(stft=stft, power=1.0, wiener_iterations=2)
            for name, sep in (("ds_score_nmf", score), ("ds_score_nmf_wiener2", score_w),
                              ("ds_supervised_nmf", sup), ("ds_supervised_nmf_wiener2", sup_w),
                              ("ds_nmf_blind4", blind)):
                kwargs = {"notes": notes} if name.startswith("ds_score_nmf") else {}
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = sep.separate(y, sr, **kwargs)
                walls[name].append(time.perf_counter() - t0)
                est = ({v: result[v] for v in VOICES} if name != "ds_nmf_blind4"
                       else [result[n] for n in result.names])
                sc = score_item(str(item), est)
                scores[name].append([sc["sources"][v]["sdr"] for v in VOICES])
        rows = [(name, "ds", list(np.median(np.array(s), axis=0)), float(np.median(walls[name])))
                for name, s in scores.items()]
        rows += _peer_rows(task)
        lines = [f"### {task} ({len(items)} items) — median SDR (dB) per voice, scored with "
                 "../shared/peers/score.py", "",
                 "| row | kind | soprano | alto | tenor | bass | mean | wall s |",
                 "|---|---|---:|---:|---:|---:|---:|---:|"]
        for name, kind, med, wall in rows:
            cells = " | ".join(f"{m:.1f}" for m in med)
            lines.append(f"| {name} | {kind} | {cells} | {np.mean(med):.1f} | {wall:.2f} |")
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


if __name__ == "__main__":
    from ._harness import markdown

    quick = "--quick" in sys.argv
    print(markdown(run(quick)))
    print()
    print(quality(quick))
