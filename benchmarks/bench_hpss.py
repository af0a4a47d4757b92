"""HPSS: ``dsp_separate.hpss_masks`` against ``librosa.decompose.hpss(..., mask=True)``.

Input: the magnitude STFT (n_fft 2048, hop 512, float32) of 180 s (``quick``: 20 s) of stereo
audio at 44.1 kHz, a harmonic tone plus a click train: shape (2, 1025, 15504) at full size.
Both compute the soft masks (power 2, margin 1) with kernel_size 31.

librosa's median filters (``scipy.ndimage.median_filter``) take about a minute per call on
the full input, so the full run times each side twice (quick: 3 times), alternating, after
one warm-up call of ours (numba compilation) and one of librosa on a short spectrogram.
The largest absolute difference between the two sets of masks is reported too.

Also timed (no peer): the whole ``HPSS().separate(y, sr)`` on the audio (STFT, masks, two
inverse STFTs), reported as a real-time factor: processing seconds per second of audio.
"""

from __future__ import annotations

import numpy as np

from ._harness import Row, side_by_side, time_alone
from .bench_stft import SR, stereo_signal

KERNEL = 31


def tone_and_clicks(seconds: float) -> np.ndarray:
    """(2, n) float32: ``stereo_signal`` plus a click every quarter second."""
    y = stereo_signal(seconds).astype(np.float64)
    clicks = np.zeros(y.shape[-1])
    clicks[:: SR // 4] = 1.0
    clicks = np.convolve(clicks, np.exp(-np.arange(64) / 8.0))[: y.shape[-1]]
    y += np.stack([0.5 * clicks, 0.7 * clicks])
    return y.astype(np.float32)


def run(quick: bool) -> list[Row]:
    import librosa

    from dsp_separate import STFT
    from dsp_separate.separators.hpss import HPSS, hpss_masks

    seconds = 20 if quick else 180
    y = tone_and_clicks(seconds)
    S = np.abs(STFT(2048, 512).forward(y))
    size = (f"{seconds} s stereo @ 44.1 kHz, magnitude STFT "
            f"{S.shape[-2]} bins x {S.shape[-1]} frames")

    # warm-up: compile ours, and let librosa/scipy load everything, on a short spectrogram
    hpss_masks(S[..., :200], kernel_size=KERNEL)
    librosa.decompose.hpss(S[..., :200], kernel_size=KERNEL, mask=True)

    results = {}

    def ours():
        results["ours"] = hpss_masks(S, kernel_size=KERNEL)

    def peer():
        results["librosa"] = librosa.decompose.hpss(S, kernel_size=KERNEL, mask=True)

    t_ours, t_peer = side_by_side(ours, peer, repeats=3 if quick else 2, warmup=0)
    pairs = zip(results["ours"], results["librosa"], strict=True)
    diff = max(float(np.max(np.abs(a - b))) for a, b in pairs)
    results.clear()
    rows = [
        Row(
            "HPSS masks (soft, power 2, kernel 31)",
            size,
            t_ours,
            t_peer,
            "librosa.decompose.hpss(mask=True)",
            ">= 20x faster",
            note=f"largest abs difference of the masks {diff:.1e}",
        )
    ]

    separator = HPSS()
    t_sep = time_alone(lambda: separator.separate(y, SR), repeats=3 if quick else 2, warmup=1)
    rows.append(
        Row(
            "HPSS().separate(y, sr): STFT + masks + 2 ISTFT",
            f"{seconds} s stereo float32 @ 44.1 kHz",
            t_sep,
            None,
            note=f"real-time factor {t_sep / seconds:.4f} ({seconds / t_sep:.0f}x real time)",
        )
    )
    return rows


if __name__ == "__main__":
    import sys

    from ._harness import markdown

    print(markdown(run(quick="--quick" in sys.argv)))
