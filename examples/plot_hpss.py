"""
Harmonic-percussive separation, step by step
============================================

Median filtering along time keeps the horizontal lines of a spectrogram (sustained notes);
along frequency it keeps the vertical lines (drum hits) — Fitzgerald (2010).  This example
draws the mixture spectrogram, the two median-filtered spectrograms, the masks and the
separated parts, and scores them against the true sources, which we know because the
mixture is synthesised.

With :math:`S` the magnitude spectrogram, :math:`H = \\mathrm{median}_t(S)` and
:math:`P = \\mathrm{median}_f(S)`, the soft masks are

.. math::

   m_H = \\frac{H^p}{H^p + P^p}, \\qquad m_P = \\frac{P^p}{H^p + P^p}.

Run:  python examples/plot_hpss.py  (writes hpss.png; set DSP_SEPARATE_EXAMPLES_OUT=folder)
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import dsp_separate as ds  # noqa: E402
from dsp_separate.synth import harmonic_percussive_mixture  # noqa: E402

sr = 22050
y, truth = harmonic_percussive_mixture(sr=sr, seconds=4.0, seed=1)

# 1. The STFT: frames of 2048 samples every 512 (46 ms / 23 ms at 22.05 kHz).
tf = ds.STFT(n_fft=2048, hop_length=512)
X = tf.forward(y)
S = np.abs(X)

# 2. The two median filters: 31 frames along time, 31 bins along frequency.
H = ds.median_filter(S, 31, axis=-1)  # harmonic-enhanced
P = ds.median_filter(S, 31, axis=-2)  # percussive-enhanced

# 3. Soft masks H^2 / (H^2 + P^2) and P^2 / (H^2 + P^2) -- the same as hpss_masks().
mask_h, mask_p = ds.hpss_masks(S, kernel_size=31, power=2.0)
assert np.allclose(mask_h, H**2 / np.maximum(H**2 + P**2, 1e-30), atol=1e-5)

# 4. The separator does all of the above, plus the inverse STFT, in one call.
result = ds.HPSS(kernel_size=31).separate(y, sr)
for name in ("harmonic", "percussive"):
    score = ds.metrics.si_sdr(truth[name], result[name])
    base = ds.metrics.si_sdr(truth[name], y)
    print(f"{name:10s} SI-SDR {score:6.2f} dB   (mixture as estimate: {base:6.2f} dB)")

# 5. Pictures.
times = tf.frame_times(S.shape[-1], sr)
freqs = tf.bin_frequencies(sr)
extent = [times[0], times[-1], freqs[0] / 1000, freqs[-1] / 1000]


def db(a):
    return 20 * np.log10(np.maximum(a, 1e-6) / S.max())


panels = [
    ("mixture |X|", db(S), "magma", (-80, 0)),
    ("median along time (H)", db(H), "magma", (-80, 0)),
    ("median along frequency (P)", db(P), "magma", (-80, 0)),
    ("harmonic mask", mask_h, "gray", (0, 1)),
    ("percussive mask", mask_p, "gray", (0, 1)),
    ("harmonic estimate", db(np.abs(result.stfts["harmonic"])), "magma", (-80, 0)),
]
fig, axes = plt.subplots(2, 3, figsize=(13, 6), sharex=True, sharey=True)
for ax, (title, img, cmap, (lo, hi)) in zip(axes.flat, panels):
    ax.imshow(img, origin="lower", aspect="auto", extent=extent, cmap=cmap, vmin=lo, vmax=hi)
    ax.set_title(title)
    ax.set_ylim(0, 5)
for ax in axes[1]:
    ax.set_xlabel("time (s)")
for ax in axes[:, 0]:
    ax.set_ylabel("frequency (kHz)")
fig.tight_layout()
out = Path(os.environ.get("DSP_SEPARATE_EXAMPLES_OUT", ".")) / "hpss.png"
fig.savefig(out, dpi=80)
print(f"wrote {out}")
