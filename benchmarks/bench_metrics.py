"""BSS Eval speed: ours against museval (v4 framewise images) and fast_bss_eval (sources).

* ``bss_eval_images`` v4 framewise (1 s frames, global filters) on 2 sources x 2 channels x
  30 s at 44.1 kHz against ``museval.evaluate`` (the same figures; target >= 10x).
* ``bss_eval_sources`` (whole signal, best permutation) on 4 sources x 10 s at 44.1 kHz
  mono against ``fast_bss_eval.bss_eval_sources`` (numpy backend, direct solver,
  ``compute_permutation=True``; target >= 2x).

The signals are synthetic: each reference is white noise through a random short filter
plus a little independent noise per channel (so that the reference channels are not
exactly linearly dependent), and each estimate is its reference plus leakage of the others
and noise.  Each row also reports the largest difference of the figures in dB.
"""

from __future__ import annotations

import warnings

import numpy as np

from dsp_separate.metrics import bss_eval_images, bss_eval_sources

from ._harness import Row, side_by_side

SR = 44100


def _signals(n_src, n_chan, n_samples, seed):
    """References ``(n_src, n_chan, n)`` and estimates of them, reproducible."""
    rng = np.random.default_rng(seed)
    dry = rng.standard_normal((n_src, n_samples))
    taps = rng.standard_normal((n_src, n_chan, 16)) * np.exp(-np.arange(16) / 3.0)
    ref = np.empty((n_src, n_chan, n_samples))
    for j in range(n_src):
        for c in range(n_chan):
            ref[j, c] = np.convolve(dry[j], taps[j, c])[:n_samples]
    ref += 0.05 * rng.standard_normal(ref.shape)
    est = ref + 0.2 * np.roll(ref, 1, axis=0) + 0.05 * rng.standard_normal(ref.shape)
    return ref, est


def _images_row(quick):
    import museval

    seconds = 6 if quick else 30
    ref, est = _signals(2, 2, seconds * SR, seed=1)
    ref_t = np.ascontiguousarray(ref.transpose(0, 2, 1))  # museval: (n_src, n, n_chan)
    est_t = np.ascontiguousarray(est.transpose(0, 2, 1))

    def ours():
        return bss_eval_images(ref, est, frame_samples=SR, hop_samples=SR)

    def peer():
        return museval.evaluate(ref_t, est_t, win=SR, hop=SR)

    mine, theirs = ours(), peer()
    diff = max(float(np.nanmax(np.abs(a - b))) for a, b in zip(mine[:4], theirs, strict=True))
    t_ours, t_peer = side_by_side(ours, peer, repeats=1 if quick else 3)
    return Row(
        operation="bss_eval_images v4 framewise (1 s frames)",
        size=f"2 src x 2 ch x {seconds} s, 44.1 kHz",
        ours=t_ours,
        peer=t_peer,
        peer_name="museval.evaluate 0.4.1",
        target=">= 10x faster",
        note=f"max |diff| {diff:.1e} dB",
        extra={"max |diff| (dB)": f"{diff:.2e}"},
    )


def _sources_row(quick):
    import fast_bss_eval

    seconds = 3 if quick else 10
    ref, est = _signals(4, 1, seconds * SR, seed=2)
    ref, est = ref[:, 0], est[:, 0]
    est = est[[2, 0, 3, 1]]  # shuffled: the permutation search has something to find

    def ours():
        return bss_eval_sources(ref, est)

    def peer():
        return fast_bss_eval.bss_eval_sources(ref, est, compute_permutation=True)

    mine, theirs = ours(), peer()
    # both in reference order, perm[j] the estimate matched to reference j
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(mine[:3], theirs[:3], strict=True))
    same_perm = np.array_equal(mine.perm, theirs[3])
    t_ours, t_peer = side_by_side(ours, peer, repeats=1 if quick else 3)
    return Row(
        operation="bss_eval_sources (whole, permutation)",
        size=f"4 src x {seconds} s mono, 44.1 kHz",
        ours=t_ours,
        peer=t_peer,
        peer_name="fast_bss_eval 0.1.4 (numpy)",
        target=">= 2x faster",
        note=f"max |diff| {diff:.1e} dB, same perm: {same_perm}",
        extra={"max |diff| (dB)": f"{diff:.2e}"},
    )


def run(quick: bool) -> list[Row]:
    """Both rows (each skipped if its peer cannot be imported)."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # peers' deprecation warnings
        for make in (_images_row, _sources_row):
            try:
                rows.append(make(quick))
            except ImportError as exc:  # peer not installed
                print(f"# bench_metrics: skipped {make.__name__}: {exc}")
    return rows
