"""Synthetic mixtures whose true sources are known, for demos, tests and teaching.

Everything here is generated in code from a seed: no download, no data files.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_positive_float, check_sr

__all__ = ["harmonic_percussive_mixture"]


def _note(freq, n, sr, rng, n_partials=8):
    t = np.arange(n) / sr
    tone = np.zeros(n)
    for h in range(1, n_partials + 1):
        if h * freq >= sr / 2:
            break
        tone += np.sin(2 * np.pi * h * freq * t + rng.uniform(0, 2 * np.pi)) / h**1.2
    attack = min(n, int(0.02 * sr))
    env = np.ones(n)
    env[:attack] = np.linspace(0, 1, attack)
    release = min(n, int(0.05 * sr))
    env[n - release:] *= np.linspace(1, 0, release)
    return tone * env


def harmonic_percussive_mixture(sr: int = 22050, seconds: float = 6.0, *, seed: int = 0,
                                n_channels: int = 1):
    """A chord progression (harmonic) over a drum pattern (percussive).

    The harmonic source is three-voice chords of harmonic tones (8 partials, 1/h^1.2 decay),
    changing every second; the percussive source is a kick (decaying 60 Hz thump plus noise
    burst) on beats and hi-hat clicks (short high-passed noise) on off-beats at 120 BPM.
    With ``n_channels=2`` the sources are panned differently.

    Parameters
    ----------
    sr : int, default 22050
        Sampling rate in Hz.
    seconds : float, default 6.0
        Duration.
    seed : int, default 0
        Random seed (phases, noise).
    n_channels : {1, 2}, default 1

    Returns
    -------
    mixture : ndarray, shape (n_samples,) or (2, n_samples), float32
        Exactly ``harmonic + percussive`` (in float32).
    sources : dict
        ``{"harmonic": ndarray, "percussive": ndarray}``, same shape as the mixture.

    Examples
    --------
    >>> from dsp_separate.synth import harmonic_percussive_mixture
    >>> y, sources = harmonic_percussive_mixture(sr=8000, seconds=1.0)
    >>> y.shape, sorted(sources)
    ((8000,), ['harmonic', 'percussive'])
    """
    sr = check_sr(sr)
    seconds = check_positive_float(seconds, "seconds")
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    chords = [(220.0, 277.18, 329.63), (196.0, 246.94, 293.66),
              (174.61, 220.0, 261.63), (196.0, 246.94, 311.13)]
    harmonic = np.zeros(n)
    step = sr  # one chord per second
    for i, start in enumerate(range(0, n, step)):
        m = min(step, n - start)
        for f in chords[i % len(chords)]:
            harmonic[start:start + m] += _note(f, m, sr, rng) / 3
    percussive = np.zeros(n)
    beat = int(0.5 * sr)
    for k, start in enumerate(range(0, n, beat // 2)):
        m = min(int(0.25 * sr), n - start)
        t = np.arange(m) / sr
        if k % 2 == 0:  # kick
            thump = np.sin(2 * np.pi * 60 * t * (1 + 2 * np.exp(-t * 40))) * np.exp(-t * 18)
            burst = rng.standard_normal(m) * np.exp(-t * 120) * 0.3
            percussive[start:start + m] += 0.9 * (thump + burst)
        else:  # hi-hat: differenced noise (high-passed), very short
            noise = np.diff(rng.standard_normal(m + 1))
            percussive[start:start + m] += 0.25 * noise * np.exp(-t * 90)
    harmonic *= 0.5 / np.abs(harmonic).max()
    percussive *= 0.5 / np.abs(percussive).max()
    if n_channels == 2:
        harmonic = np.stack([0.8 * harmonic, 0.5 * harmonic])
        percussive = np.stack([0.5 * percussive, 0.8 * percussive])
    elif n_channels != 1:
        from .exceptions import ParameterError

        raise ParameterError(f"n_channels={n_channels!r}: must be 1 or 2")
    harmonic = harmonic.astype(np.float32)
    percussive = percussive.astype(np.float32)
    return harmonic + percussive, {"harmonic": harmonic, "percussive": percussive}
