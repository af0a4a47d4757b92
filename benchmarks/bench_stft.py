"""STFT + ISTFT round trip: ``dsp_separate.STFT`` against librosa and against a lower bound.

Input: 180 s (``quick``: 20 s) of stereo float32 audio at 44.1 kHz (a decaying-harmonic tone
plus noise, so nothing is trivially sparse).  For n_fft 2048 / hop 512 and n_fft 4096 /
hop 1024, hann window, ``center=True``, each figure is the median of 5 timed calls taken
alternately with the peer's, in one process, after one warm-up call of each:

* ours: ``tf.inverse(tf.forward(y), length=n)``;
* librosa: ``librosa.istft(librosa.stft(y, ...), ..., length=n)`` (numpy's FFT, one thread);
* lower bound: what any STFT round trip must at least do, and nothing else: the frames of
  the (already padded) signal as a ``np.lib.stride_tricks.sliding_window_view``, multiplied by
  the window (one materialised array), ``scipy.fft.rfft`` of the frames and ``scipy.fft.irfft``
  of the result, both with ``workers=-1``.  No padding, no (frequency, time) transpose, no
  overlap-add, no window-sum normalisation, no input checks.  "Within 1.5x of the lower
  bound" means ratio (lower bound / ours) >= 0.67.

Also reported: forward and inverse alone against librosa, and the first-call time of a fresh
process (import + numba compilation of the float32 kernels) with an empty numba cache and
then with the cache that first process wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

from ._harness import Row, side_by_side

SR = 44100
SETTINGS = ((2048, 512), (4096, 1024))
#: timed calls per side (the shared machines drift 2x within minutes: more is steadier)
REPEATS = 5


def stereo_signal(seconds: float, seed: int = 0) -> np.ndarray:
    """(2, n) float32: a harmonic tone with a slow decay per note, plus low-level noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    note = np.exp(-3.0 * (t % 0.5))
    tone = sum(np.sin(2 * np.pi * 220 * h * t) / h for h in range(1, 6)) * note
    left = 0.3 * tone + 0.05 * rng.standard_normal(n)
    right = 0.2 * tone + 0.05 * rng.standard_normal(n)
    return np.stack([left, right]).astype(np.float32)


def _lower_bound(y: np.ndarray, n_fft: int, hop: int):
    """The lower-bound round trip as a closure (padding done once, outside the timing)."""
    import scipy.fft
    import scipy.signal

    window = scipy.signal.get_window("hann", n_fft).astype(np.float32)
    padded = np.pad(y, ((0, 0), (n_fft // 2, n_fft // 2)))

    def run():
        frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[:, ::hop]
        spec = scipy.fft.rfft(frames * window, axis=-1, workers=-1)
        return scipy.fft.irfft(spec, n=n_fft, axis=-1, workers=-1)

    return run


_COMPILE_SCRIPT = textwrap.dedent(
    """
    import time
    t0 = time.perf_counter()
    import numpy as np
    from dsp_separate import STFT
    t1 = time.perf_counter()
    y = np.zeros((2, 44100), dtype=np.float32)
    tf = STFT(2048, 512)
    y_hat = tf.inverse(tf.forward(y), length=y.shape[-1])
    t2 = time.perf_counter()
    y_hat = tf.inverse(tf.forward(y), length=y.shape[-1])
    t3 = time.perf_counter()
    print(t1 - t0, t2 - t1, t3 - t2)
    """
)


def first_call_times() -> dict:
    """Import and first float32 round trip in fresh processes: empty cache, then warm cache."""
    extra = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("empty numba cache", "numba cache from the first process"):
            out = subprocess.run(
                [sys.executable, "-c", _COMPILE_SCRIPT],
                env=env, capture_output=True, text=True, check=True,
            ).stdout.split()
            t_import, t_first, t_second = (float(v) for v in out)
            extra[f"fresh process, {label}"] = (
                f"import {t_import:.2f} s, first round trip (1 s stereo) {t_first:.2f} s, "
                f"second {t_second * 1000:.1f} ms"
            )
    return extra


def run(quick: bool) -> list[Row]:
    import librosa

    from dsp_separate import STFT

    seconds = 20 if quick else 180
    y = stereo_signal(seconds)
    n = y.shape[-1]
    size = f"{seconds} s stereo float32 @ 44.1 kHz"
    rows = []
    for n_fft, hop in SETTINGS:
        tf = STFT(n_fft, hop)
        label = f"n_fft {n_fft} / hop {hop}"

        def ours_rt(tf=tf):
            return tf.inverse(tf.forward(y), length=n)

        def librosa_rt(n_fft=n_fft, hop=hop):
            X = librosa.stft(y, n_fft=n_fft, hop_length=hop)
            return librosa.istft(X, n_fft=n_fft, hop_length=hop, length=n)

        t_ours, t_lib = side_by_side(ours_rt, librosa_rt, repeats=REPEATS, warmup=1)
        rows.append(Row(f"STFT+ISTFT round trip, {label}", size, t_ours, t_lib,
                        "librosa", ">= 2x faster"))
        t_ours2, t_lb = side_by_side(ours_rt, _lower_bound(y, n_fft, hop), repeats=REPEATS,
                                     warmup=1)
        rows.append(Row(f"STFT+ISTFT round trip, {label}", size, t_ours2, t_lb,
                        "lower bound", "ratio >= 0.67 (within 1.5x)",
                        note="stride_tricks frames x window + rfft + irfft, workers=-1"))

        X = tf.forward(y)
        t_f, t_lf = side_by_side(
            lambda tf=tf: tf.forward(y),
            lambda n_fft=n_fft, hop=hop: librosa.stft(y, n_fft=n_fft, hop_length=hop),
            repeats=REPEATS, warmup=1,
        )
        rows.append(Row(f"STFT forward, {label}", size, t_f, t_lf, "librosa.stft"))
        t_i, t_li = side_by_side(
            lambda tf=tf, X=X: tf.inverse(X, length=n),
            lambda X=X, n_fft=n_fft, hop=hop: librosa.istft(X, n_fft=n_fft, hop_length=hop,
                                                            length=n),
            repeats=REPEATS, warmup=1,
        )
        rows.append(Row(f"ISTFT, {label}", size, t_i, t_li, "librosa.istft"))
        del X

    rows[0].extra.update(first_call_times())
    return rows


if __name__ == "__main__":
    from ._harness import markdown

    print(markdown(run(quick="--quick" in sys.argv)))
