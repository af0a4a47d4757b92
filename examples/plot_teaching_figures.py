"""
The figures of each family: beat spectrum, similarity, NMF, DUET histogram, denoising gain
==========================================================================================

Each separation family has one picture that explains it.  :mod:`dsp_separate.plot` draws
them from the arrays the library computes; every clip here ships with the package
(``ds.example``), so this page runs offline.

* REPET (Rafii & Pardo, IEEE TASLP 2013): the *beat spectrum*, the mean autocorrelation of
  the spectrogram's rows, peaks at the period of the repeating background.
* REPET-SIM (Rafii & Pardo, ISMIR 2012): the *similarity matrix* between frames.
* NMF (Févotte & Idier, Neural Computation 2011): templates :math:`W`, activations
  :math:`H`, and the objective per iteration for three β-divergences.
* DUET (Yilmaz & Rickard, IEEE TSP 2004): the histogram of the attenuation and delay
  between two microphones, one peak per source.
* Denoising (Cohen 2003, OM-LSA): the gain per frame, high when speech is present.

Run:  python examples/plot_teaching_figures.py  (set DSP_SEPARATE_EXAMPLES_OUT=folder to
write the figures as PNG files)
"""

# %%
# REPET: the beat spectrum and the period
# ---------------------------------------
# With :math:`V` the magnitude spectrogram (:math:`F` bins, :math:`T` frames),
#
# .. math::
#
#    b(l) = \frac{1}{F} \sum_f \frac{1}{T - l} \sum_t V(f, t)^2 V(f, t + l)^2
#
# normalised by :math:`b(0)`.  The clip's background is a 2.82 s loop; the period finder
# returns the shortest lag that scores nearly as well as the best one, and every multiple of
# it is a peak.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import dsp_separate as ds

out = Path(os.environ.get("DSP_SEPARATE_EXAMPLES_OUT", "."))
y, sr = ds.example("repet")
tf = ds.STFT(n_fft=2048, hop_length=512)
V = np.abs(tf.forward(y))
b = ds.beat_spectrum(V)
period = ds.repeating_period(b, min_period=int(0.5 * sr / 512))
print(f"REPET period: {period} frames = {period * 512 / sr:.2f} s "
      f"(the loop: {ds.example_info('repet')['repeating_period_s']:.2f} s)")

fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained",
                         gridspec_kw={"width_ratios": (3, 2)})
ds.plot.beat_spectrum(b, sr, hop_length=512, period=period, ax=axes[0],
                      title="beat spectrum of ds.example('repet')")

# %%
# REPET-SIM: the similarity matrix
# --------------------------------
# The cosine similarity between every pair of frames; the repeating background draws the
# off-diagonal stripes, and REPET-SIM models each frame by the median of its most similar
# frames.  (Drawn at a 2048-sample hop to keep the matrix small.)
V_coarse = np.abs(ds.STFT(n_fft=2048, hop_length=2048).forward(y))
ds.plot.similarity_matrix(ds.similarity_matrix(V_coarse), sr, hop_length=2048, ax=axes[1],
                          title="frame similarity")
fig.savefig(out / "teaching_repet.png", dpi=60)

# %%
# NMF: templates, activations and the objective
# ---------------------------------------------
# Eight templates learned on four instruments playing a chorale: most templates hold the
# partials of one note (a comb of lines), and their activations say when it sounds.
y, sr = ds.example("instruments")
V = np.abs(tf.forward(y))
W, H, info = ds.nmf(V, 8, beta=1.0, max_iter=60, tol=0.0, random_state=0)
fig = ds.plot.nmf(W, H, sr, n_fft=2048, hop_length=512, log_freq=True)
fig.savefig(out / "teaching_nmf.png", dpi=60)

# %%
# The multiplicative updates never increase the objective (Févotte & Idier 2011, with the
# MM exponent); the β-divergences count errors differently, so their values are not
# comparable with each other, only their decrease is.
curves = {}
for beta, label in ((2.0, "β = 2 (Euclidean)"), (1.0, "β = 1 (Kullback-Leibler)"),
                    (0.0, "β = 0 (Itakura-Saito)")):
    _, _, info = ds.nmf(V + 1e-6, 8, beta=beta, max_iter=60, tol=0.0, random_state=0)
    curves[label] = info["objective"] / info["objective"][0]
ax = ds.plot.objective(curves, title="objective / its initial value")
for label, c in curves.items():
    print(f"NMF {label}: objective fell to {c[-1]:.3f} of its start in 60 iterations")

# %%
# DUET: the attenuation-delay histogram
# -------------------------------------
# For two microphones :math:`X_1, X_2`, each time-frequency bin dominated by one source
# gives that source's relative attenuation :math:`a = |X_2 / X_1|` and delay
# :math:`\delta = -\angle(X_2 / X_1) / \omega`.  A histogram of
# :math:`(\alpha, \delta) = (a - 1/a, \delta)` weighted by :math:`|X_1 X_2|` has one peak
# per source (Yilmaz & Rickard 2004, W-disjoint orthogonality).  ``ds.duet_histogram``
# computes it (Rickard's weighting :math:`|X_1 X_2|`), ``ds.duet_peaks`` finds the peaks
# (crosses); ``ds.example_info`` has the clip's true mixing parameters to compare with.
y, sr = ds.example("mc_anechoic")
h = ds.duet_histogram(ds.STFT(n_fft=1024, hop_length=256).forward(y), sr)
peaks, found = ds.duet_peaks(h, 3)
ax = ds.plot.duet_histogram(h, peaks=peaks, log=True, title="DUET histogram and its peaks")
ax.figure.savefig(out / "teaching_duet.png", dpi=60)
info = ds.example_info("mc_anechoic")
truth = sorted((g - 1 / g, d) for g, d in zip(info["gains"], info["delays_samples"]))
print("DUET peaks (alpha, delay in samples): "
      + ", ".join(f"({a_:+.2f}, {d_:+.2f})" for a_, d_ in peaks)
      + "; true: " + ", ".join(f"({a_:+.2f}, {d_:+.2f})" for a_, d_ in truth))

# %%
# Denoising: the gain over time
# -----------------------------
# OM-LSA's gain per bin, averaged in dB over 300 Hz - 4 kHz.  In the pauses every bin sits
# at the gain floor (-15 dB); where the voice speaks the band opens: its top (the 10 % of
# bins with the highest gain, the voice's harmonics) comes up to 0 dB while the bins
# between the harmonics stay low, so the mean rises only a few dB.
y, stems, sr = ds.example("speech", stems=True)
result = ds.OMLSA().separate(y, sr, keep="masks")
fig, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True, layout="constrained")
ds.plot.spectrogram(y, sr, stft=result.stft, ax=axes[0], title="noisy speech (pink, 0 dB)")
ds.plot.gain_over_time(result.masks["signal"], sr, stft=result.stft, ax=axes[1],
                       freq_range=(300, 4000), floor_db=-20.0, title="OM-LSA gain")
fig.savefig(out / "teaching_denoise.png", dpi=60)
score = float(ds.metrics.si_sdr(stems["speech"].astype(np.float64),
                                result["signal"].astype(np.float64)))
base = float(ds.metrics.si_sdr(stems["speech"].astype(np.float64), y.astype(np.float64)))
print(f"OM-LSA: speech SI-SDR {score:.2f} dB (noisy input {base:.2f} dB)")
