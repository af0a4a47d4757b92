"""
Tutorial: accompaniment and melody with REPET
=============================================

Popular music repeats: the same bar of drums, bass and organ comes back again and again,
while the melody on top changes.  REPET (REpeating Pattern Extraction Technique, Rafii &
Pardo, IEEE TASLP 2013) turns that observation into a separation: find the period of the
repetition, take the median of all the period-long segments as the *repeating model*
(a melody note that is present in only one segment is a minority, so the median drops
it), and mask the mixture with it.

The clip that ships with the package has a one-bar loop (2.82 s at 85 BPM) repeated three
times under a trumpet melody; the true background and foreground are known.
"""

# %%
# The beat spectrum
# -----------------
# With :math:`V = |X|^2` the power spectrogram, the beat spectrum is the autocorrelation of
# each frequency row over time, averaged over frequency and normalised by its lag-0 value:
#
# .. math::
#
#    b[\ell] = \frac{1}{F}\sum_{f} \frac{1}{T - \ell} \sum_{t} V[f, t]\, V[f, t + \ell].
#
# Peaks of :math:`b` sit at the lags where the spectrogram resembles itself shifted: the
# repeating period and its multiples.
import matplotlib.pyplot as plt
import numpy as np

import dsp_separate as ds

y, stems, sr = ds.example("repet", stems=True)
true_period = ds.example_info("repet")["repeating_period_s"]

tf = ds.STFT(n_fft=2048, hop_length=512)
S = np.abs(tf.forward(y))
b = ds.beat_spectrum(S)
lags = np.arange(b.size) * tf.hop_length / sr
period = ds.repeating_period(b, tf.seconds_to_frames(1.0, sr), tf.seconds_to_frames(4.0, sr))
print(f"period found: {period * tf.hop_length / sr:.2f} s; the loop: {true_period:.2f} s")

fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(lags, b)
ax.axvline(period * tf.hop_length / sr, color="r", ls="--", label="period found")
ax.axvline(true_period, color="k", ls=":", label="the loop's length")
ax.set(xlabel="lag (s)", ylabel="b", title="beat spectrum", xlim=(0, 4.5))
ax.legend()
fig.tight_layout()

# %%
# The period found is half the loop: inside the bar, the drum pattern repeats every half
# bar, and the beat spectrum's strongest peak is there.  That is not a failure: any period
# at which the *background* repeats gives a median model without the melody.

# %%
# The repeating model and the masks
# ---------------------------------
# Cut the magnitude spectrogram into segments of :math:`p` frames and take the element-wise
# median across segments, :math:`W[f, t] = \operatorname{median}_k S[f, t + kp]` (clipped to
# :math:`W \le S`); the background mask is :math:`W / S` and the foreground gets the rest.
result = ds.REPET(period=(1.0, 4.0)).separate(y, sr, keep="masks")
for name in result.names:
    got = ds.metrics.si_sdr(stems[name], result[name])
    floor = ds.metrics.si_sdr(stems[name], y)
    print(f"{name:10s} SI-SDR {got:5.1f} dB  (mixture: {floor:5.1f} dB)")

times = tf.frame_times(S.shape[-1], sr)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
for ax, name in zip(axes, result.names):
    ax.imshow(result.masks[name], origin="lower", aspect="auto", cmap="gray_r", vmin=0, vmax=1,
              extent=(times[0], times[-1], 0, sr / 2))
    ax.set(title=f"{name} mask (black = 1)", xlabel="time (s)", ylim=(0, 4000))
axes[0].set_ylabel("frequency (Hz)")
fig.tight_layout()
result  # the last value of a cell: an audio player per source

# %%
# Adaptive REPET and REPET-SIM
# ----------------------------
# When the tempo drifts, one period does not fit the whole song: *adaptive REPET* (Liutkus
# et al., ICASSP 2012) finds a period per window from a beat *spectrogram*.  *REPET-SIM*
# (Rafii & Pardo, ICASSP 2012) drops the period altogether: each frame's model is the median
# of the :math:`k` frames most similar to it (cosine similarity), wherever they are.
for sep in (ds.AdaptiveREPET(), ds.REPETSIM(), ds.REPETSIM(k=3)):
    r = sep.separate(y, sr)
    scores = ", ".join(f"{n} {ds.metrics.si_sdr(stems[n], r[n]):5.1f}" for n in r.names)
    print(f"{sep!r:60.60s} SI-SDR (dB): {scores}")

# %%
# What to take away
# -----------------
# * REPET needs a background that repeats *verbatim* and a foreground that does not; on
#   this clip it gains about 7 dB on the background for a fraction of a second of work.
# * Adaptive REPET matches it here (the tempo is constant).
# * REPET-SIM fails on this clip: 8.5 s hold only three repetitions of the bar, so each
#   frame has two truly similar frames at most, and the median of its :math:`k` nearest
#   frames is mostly other material.  On full songs it is the best of the family (see
#   :doc:`../which_method`); it needs many repetitions, not a fixed period.
