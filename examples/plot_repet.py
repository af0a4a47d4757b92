"""
REPET, step by step: beat spectrum, period, similarity matrix, masks
====================================================================

A loop (four notes and eight noise bursts, 0.512 s long) repeats eight times under a glide
that repeats nowhere.  REPET (Rafii & Pardo 2013) finds the period in the *beat spectrum*
(the autocorrelation of the power spectrogram's rows, averaged over frequency), takes the
median of the period-aligned segments as the repeating model, and turns it into a soft mask.
REPET-SIM (Rafii & Pardo 2012) needs no period: each frame's model is the median of the
frames most similar to it -- the *similarity matrix* shows the repetitions as diagonals.

With :math:`V` the magnitude spectrogram and :math:`p` the period (in frames), the beat
spectrum and the repeating model are

.. math::

   b(l) \\propto \\sum_f \\sum_t V(f, t)^2\\, V(f, t + l)^2, \\qquad
   W(f, t) = \\min\\big(\\mathrm{median}_j\\, V(f, t \\bmod p + jp),\\ V(f, t)\\big),

and the background mask is :math:`W / V`.

Run:  python examples/plot_repet.py  (writes repet.png; set DSP_SEPARATE_EXAMPLES_OUT=folder)
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import dsp_separate as ds  # noqa: E402
from dsp_separate.separators.repet import (  # noqa: E402
    beat_spectrum,
    repeating_period,
    similarity_matrix,
)

sr = 8000
rng = np.random.default_rng(0)
n = 4096  # the loop: 0.512 s, 32 hops of 128 samples
tt = np.arange(n) / sr
loop = np.zeros(n)
for i, f0 in enumerate([220.0, 330.0, 277.0, 392.0]):
    seg = slice(i * n // 4, (i + 1) * n // 4)
    loop[seg] += 0.4 * np.sin(2 * np.pi * f0 * tt[seg]) * np.exp(-(tt[seg] % (n / 4 / sr)) / 0.15)
for start in range(0, n, n // 8):
    m = min(600, n - start)
    loop[start:start + m] += 0.5 * rng.standard_normal(m) * np.exp(-np.arange(m) / 150)
background = np.tile(loop, 8)
t = np.arange(background.size) / sr
foreground = 0.5 * np.sin(2 * np.pi * (500 * t + 150 * t**2))  # a glide: repeats nowhere
y = (background + foreground).astype(np.float32)

# 1. The magnitude spectrogram and its beat spectrum.
stft = ds.STFT(n_fft=512, hop_length=128)
S = np.abs(stft.forward(y))
b = beat_spectrum(S)
lo, hi = stft.seconds_to_frames(0.2, sr), stft.seconds_to_frames(1.5, sr)
period = repeating_period(b, lo, hi)
print(f"repeating period: {period} frames = {period * 128 / sr:.3f} s (true: 0.512 s)")

# 2. The separators.
results = {
    "REPET": ds.REPET(period=(0.2, 1.5), stft=stft).separate(y, sr, keep="masks"),
    "REPET-SIM": ds.REPETSIM(min_distance=0.25, stft=stft).separate(y, sr),
}
for method, result in results.items():
    bg = ds.metrics.sd_sdr(background, result["background"])
    fg = ds.metrics.sd_sdr(foreground, result["foreground"])
    print(f"{method:10s} SDR background {bg:5.1f} dB, foreground {fg:5.1f} dB")

# 3. Pictures: beat spectrum with the period, similarity matrix of 2 s, the two masks.
lags = np.arange(b.size) * 128 / sr
C = similarity_matrix(S[:, : stft.seconds_to_frames(2.0, sr)])
masks = results["REPET"].masks
fig, axes = plt.subplots(2, 2, figsize=(10, 7))
axes[0, 0].plot(lags, b)
axes[0, 0].axvline(period * 128 / sr, color="r", ls="--", label="period")
axes[0, 0].set(title="beat spectrum", xlabel="lag (s)", xlim=(0, 2))
axes[0, 0].legend()
axes[0, 1].imshow(C, origin="lower", cmap="magma", extent=(0, 2, 0, 2))
axes[0, 1].set(title="cosine similarity between frames (2 s)", xlabel="s", ylabel="s")
for ax, name in zip(axes[1], ("background", "foreground")):
    ax.imshow(masks[name], origin="lower", aspect="auto", cmap="gray_r",
              extent=(0, t[-1], 0, sr / 2))
    ax.set(title=f"REPET {name} mask (black = 1)", xlabel="time (s)", ylabel="Hz")
fig.tight_layout()
out = Path(os.environ.get("DSP_SEPARATE_EXAMPLES_OUT", ".")) / "repet.png"
fig.savefig(out, dpi=80)
print(f"wrote {out}")
