"""
Tutorial: learning instrument dictionaries with NMF
===================================================

Non-negative matrix factorisation approximates a magnitude spectrogram :math:`V`
(frequencies x frames) by a product :math:`WH` of two non-negative matrices: the columns of
:math:`W` are spectral *templates* (a note's harmonic comb, a noise colour), the rows of
:math:`H` their *activations* over time.  Because nothing is negative, parts can only add up:
the factorisation finds the building blocks of the sound.

*Supervised* NMF (Smaragdis, Raj & Shashanka, ICA 2007) learns one dictionary per
instrument from recordings of that instrument alone, then explains the mixture with all the
dictionaries fixed: the activations of each instrument's templates rebuild that instrument.

The clip that ships with the package is a Bach chorale played by violin, clarinet, tenor
saxophone and bassoon (4 s); ``ds.example_training`` gives each instrument alone playing a
chromatic scale -- different notes from the chorale.
"""

# %%
# The β-divergence and the multiplicative updates
# -----------------------------------------------
# NMF minimises :math:`D_\beta(V \mid WH) = \sum_{f,t} d_\beta(V_{ft} \mid [WH]_{ft})` with
#
# .. math::
#
#    d_\beta(x \mid y) = \frac{x^\beta + (\beta - 1) y^\beta - \beta x y^{\beta - 1}}
#                             {\beta(\beta - 1)},
#
# which is the squared Euclidean distance for :math:`\beta = 2`, the Kullback-Leibler
# divergence for :math:`\beta = 1` (the default here: it suits magnitudes) and the
# Itakura-Saito divergence for :math:`\beta = 0`.  The multiplicative updates (Févotte &
# Idier, Neural Computation 2011) never increase it:
#
# .. math::
#
#    H \leftarrow H \odot \frac{W^\top \big((WH)^{\beta - 2} \odot V\big)}
#                              {W^\top (WH)^{\beta - 1}}, \qquad
#    W \leftarrow W \odot \frac{\big((WH)^{\beta - 2} \odot V\big) H^\top}
#                              {(WH)^{\beta - 1} H^\top}.
import matplotlib.pyplot as plt
import numpy as np

import dsp_separate as ds

y, stems, sr = ds.example("instruments", stems=True)
train, _ = ds.example_training("instruments")
print({name: f"{x.size / sr:.1f} s" for name, x in train.items()})

# %%
# Learning the dictionaries
# -------------------------
# :meth:`~dsp_separate.SupervisedNMF.fit` runs an NMF of each training recording and keeps
# its :math:`W`: 24 templates per instrument.
sep = ds.SupervisedNMF(n_components=24, max_iter=100, tol=1e-3, random_state=0)
sep.fit(train, sr=sr)
print(sep.dictionaries_.shape)    # (instruments, frequencies, templates)

freqs = ds.STFT(n_fft=2048, hop_length=512).bin_frequencies(sr)
fig, axes = plt.subplots(1, 4, figsize=(12, 3.5), sharey=True)
for ax, name, W in zip(axes, sep.names_, sep.dictionaries_):
    order = np.argsort(np.argmax(W, axis=0))          # templates sorted by their peak
    ax.imshow(20 * np.log10(W[:, order] / W.max() + 1e-6), origin="lower", aspect="auto",
              cmap="magma", vmin=-60, vmax=0, extent=(0, W.shape[1], 0, freqs[-1]))
    ax.set(title=f"{name} templates", xlabel="template", ylim=(0, 4000))
axes[0].set_ylabel("frequency (Hz)")
fig.tight_layout()

# %%
# Each instrument's templates are harmonic combs at the notes of its range: the bassoon's
# sit low, the violin's high, and their shapes (which harmonics are strong) are the
# instruments' timbres.

# %%
# Separating the chorale
# ----------------------
# On the mixture the dictionaries stay fixed; only the activations are learnt.  Each
# instrument's model is :math:`\hat V_j = W_j H_j` and its mask
# :math:`\hat V_j / \sum_i \hat V_i`.
result = sep.separate(y, sr)
for name in result.names:
    got = ds.metrics.si_sdr(stems[name], result[name])
    floor = ds.metrics.si_sdr(stems[name], y)
    print(f"{name:8s} SI-SDR {got:5.1f} dB  (mixture: {floor:5.1f} dB)")
result  # the last value of a cell: an audio player per source

# %%
# What to take away
# -----------------
# * The inner voices (clarinet, tenor sax) come out well; the violin and the bassoon less
#   so: the bassoon's low partials overlap the others' harmonics, and the violin's vibrato
#   makes its comb wider than any template learnt from a steady scale.
# * Training on a different recording of the same instrument is enough: the templates
#   describe the timbre, not the piece.
# * Without training audio, blind NMF has to group templates into instruments afterwards
#   (``ds.BlindNMF``); on four voices of similar timbre that grouping fails (see
#   :doc:`../which_method`).
