"""
Tutorial: upper bounds -- oracle masks and what they teach
==========================================================

Every mask method ends the same way: a real number in [0, 1] per time-frequency bin,
multiplied with the mixture's STFT.  If we know the true sources we can compute the *best*
such masks, and the score they reach is a ceiling for every method of that kind with that
STFT (Vincent, Gribonval & Plumbley, "Oracle estimators for the benchmarking of source
separation algorithms", Signal Processing 2007).  The oracles of ``dsp_separate`` take the
true sources as ``references=`` and otherwise behave like any separator.

We use the harmonic + percussive clip that ships with the package.
"""

# %%
# The oracle masks
# ----------------
# With :math:`S_j` the STFT of true source :math:`j` and :math:`X = \sum_j S_j`:
#
# .. math::
#
#    \text{IBM: } M_j = [\,|S_j| \ge |S_i|\ \forall i\,]
#
#    \text{IRM: } M_j = \frac{|S_j|^p}{\sum_i |S_i|^p}
#
#    \text{PSM: } M_j = \frac{|S_j|}{|X|}\cos(\angle S_j - \angle X)
#
# The binary mask (Wang 2005) keeps each bin whole; the ratio mask shares it; the
# phase-sensitive mask (Erdogan et al., ICASSP 2015) also corrects for the phase, and is the
# best *real* mask in the squared-error sense (clipped to [0, 1] here).  The oracle
# multichannel Wiener filter (Duong et al. 2010) uses the true power spectra and spatial
# covariances; on mono input it is the IRM with :math:`p = 2`.
import matplotlib.pyplot as plt
import numpy as np

import dsp_separate as ds

y, stems, sr = ds.example("hpss", stems=True)     # stems: {"harmonic": ..., "percussive": ...}
refs = np.stack([stems["harmonic"], stems["percussive"]])   # (2, n_samples) for the scores

separators = {
    "mixture": ds.MixtureAsEstimate(),
    "IBM": ds.IdealBinaryMask(),
    "IRM p=1": ds.IdealRatioMask(power=1.0),
    "IRM p=2": ds.IdealRatioMask(power=2.0),
    "PSM": ds.PhaseSensitiveMask(),
}
scores = {}
for label, sep in separators.items():
    result = sep.separate(y, sr, references=stems)
    est = np.stack([result["harmonic"], result["percussive"]])
    scores[label] = ds.metrics.si_sdr(refs, est)
    print(f"{label:8s} SI-SDR harmonic {scores[label][0]:5.1f}, "
          f"percussive {scores[label][1]:5.1f}")

# %%
# A blind method for comparison: HPSS with the window that suits this clip (see the HPSS
# tutorial).
hpss = ds.HPSS(stft=ds.STFT(n_fft=4096, hop_length=1024)).separate(y, sr)
scores["HPSS"] = ds.metrics.si_sdr(refs, np.stack([hpss["harmonic"], hpss["percussive"]]))
print(f"HPSS     SI-SDR harmonic {scores['HPSS'][0]:5.1f}, percussive {scores['HPSS'][1]:5.1f}")

fig, ax = plt.subplots(figsize=(8, 3))
x = np.arange(len(scores))
ax.bar(x - 0.2, [s[0] for s in scores.values()], 0.4, label="harmonic")
ax.bar(x + 0.2, [s[1] for s in scores.values()], 0.4, label="percussive")
ax.set_xticks(x, list(scores))
ax.set(ylabel="SI-SDR (dB)", title="oracles, the mixture and one blind method")
ax.axhline(0, color="k", lw=0.5)
ax.legend()
fig.tight_layout()

# %%
# Lesson 1: the ceiling depends on the STFT
# -----------------------------------------
# The same ideal ratio mask with different windows: short windows blur the harmonics
# together, long windows blur the drum hits.  On this clip the longest window gives the
# highest ceiling (the strings need frequency resolution more than the drums need time
# resolution), as it did for HPSS.  An oracle tells you which transform a method should use
# before you write the method.
for n_fft in (256, 1024, 4096):
    sep = ds.IdealRatioMask(stft=ds.STFT(n_fft=n_fft, hop_length=n_fft // 4))
    r = sep.separate(y, sr, references=stems)
    s = ds.metrics.si_sdr(refs, np.stack([r["harmonic"], r["percussive"]]))
    print(f"IRM, n_fft {n_fft:5d}: harmonic {s[0]:5.1f} dB, percussive {s[1]:5.1f} dB")

# %%
# Lesson 2: what the masks look like
# ----------------------------------
# The ideal masks show what a method has to find.  Here the harmonic IRM is mostly
# horizontal lines and the percussive one vertical lines -- exactly the structure median
# filtering assumes, which is why HPSS works at all; its shortfall is in the bins where both
# sources are present.
result = ds.IdealRatioMask().separate(y, sr, references=stems, keep="masks")
tf = ds.STFT(n_fft=2048, hop_length=512)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
for ax, name in zip(axes, result.names):
    ax.imshow(result.masks[name], origin="lower", aspect="auto", cmap="gray_r", vmin=0,
              vmax=1, extent=(0, y.size / sr, 0, sr / 2))
    ax.set(title=f"ideal ratio mask: {name}", xlabel="time (s)", ylim=(0, 5000))
axes[0].set_ylabel("frequency (Hz)")
fig.tight_layout()
result  # the last value of a cell: an audio player per source

# %%
# What to take away
# -----------------
# * Report a method's score *beside* the mixture's and the oracle's: a number alone says
#   little (the percussive part of this clip already has a positive SI-SDR in the mixture).
# * The gap to the oracle is what better modelling can still win with the same masks; the
#   gap between oracles (IBM < IRM < PSM) is what a different kind of mask can win.
# * :doc:`../which_method` lists the oracles beside every method measured on the dev corpus.
