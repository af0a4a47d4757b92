"""Multichannel Wiener refinement: ``dsp_separate.wiener`` against ``norbert.wiener``.

Speed: one EM iteration (ratio-mask initialisation + one update, what
``norbert.wiener(v, x, iterations=1)`` does) for 2 sources x 2 channels, 180 s of audio at
44.1 kHz, STFT with n_fft 4096 and hop 1024 (norbert's usual setting), complex128 (norbert's
recommended precision) and complex64.  Both get the true source magnitudes as models.

Quality: oracle SDR (true source magnitudes in, 1 EM iteration) of ours and norbert's on the
real stereo items of ``/work/shared/corpus/dev/hpss/`` (skipped with a note if absent).
SDR here is the plain image SDR, ``10 log10(sum |s|^2 / sum |s - s_hat|^2)`` over channels and
samples, averaged over the sources.  The two agree to ~1e-4 dB: norbert adds a small diagonal
load to the mixture covariance only (so its images do not sum exactly to the mixture), and
adding that same load to our EM reproduces its figures to 1e-6 dB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._harness import Row, side_by_side

SR = 44100
N_FFT = 4096
HOP = 1024
CORPUS = Path("/work/shared/corpus/dev/hpss")


def _delayed(x, d):
    return np.concatenate([np.zeros(d), x[: len(x) - d]]) if d else x


def stereo_images(seconds: float, seed: int = 0) -> np.ndarray:
    """A vibrato tone panned left and decaying noise bursts panned right (delayed 4 samples
    on the right): images, float64, shape (2 sources, 2 channels, n)."""
    rng = np.random.default_rng(seed)
    n = int(SR * seconds)
    t = np.arange(n) / SR
    phase = 2 * np.pi * np.cumsum(196 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))) / SR
    tone = np.zeros(n)
    for h in range(1, 11):
        tone += np.sin(h * phase) / h
    tone *= 0.3
    bursts = np.zeros(n)
    burst_len = SR // 8
    decay = np.exp(-np.arange(burst_len) / (0.02 * SR))
    for start in range(0, n, SR // 4):
        length = min(n - start, burst_len)
        bursts[start : start + length] = rng.standard_normal(length) * decay[:length]
    bursts = 0.5 * np.convolve(bursts, [1.0, -0.9])[:n]
    return np.stack(
        [
            np.stack([0.9 * tone, 0.4 * tone]),
            np.stack([0.3 * bursts, 0.85 * _delayed(bursts, 4)]),
        ]
    )


def _stft(y):
    from dsp_separate import stft

    return stft(y, n_fft=N_FFT, hop_length=HOP)


def _istft(Y, length):
    from dsp_separate import istft

    return istft(Y, n_fft=N_FFT, hop_length=HOP, length=length)


def _to_norbert(X, models):
    """norbert's layouts: v (frames, bins, channels, sources), x (frames, bins, channels)."""
    v = models.transpose(3, 2, 1, 0).copy()
    x = X.transpose(2, 1, 0).copy()  # a copy: norbert.wiener scales x in place
    return v, x


def _sdr(ref, est) -> float:
    num = np.sum(ref**2, axis=(-2, -1))
    den = np.sum((ref - est) ** 2, axis=(-2, -1))
    return float(np.mean(10 * np.log10(num / den)))


def _load_item(folder: Path):
    import soundfile as sf

    mixture, _ = sf.read(folder / "mixture.flac", always_2d=True)
    stems = sorted((folder / "stems").glob("*.flac"))
    images = np.stack([sf.read(p, always_2d=True)[0].T for p in stems])  # (J, I, n)
    return mixture.T, images


def oracle_sdr(quick: bool) -> tuple[dict, str]:
    """Oracle SDR of ours (0 and 1 iteration) and norbert (1 iteration) on the corpus items."""
    from dsp_separate import wiener

    if not CORPUS.is_dir():
        return {}, f"oracle SDR skipped: {CORPUS} is absent"
    import norbert

    items = sorted(p for p in CORPUS.iterdir() if (p / "mixture.flac").is_file())
    if quick:
        items = items[:1]
    extra = {}
    for folder in items:
        mixture, images = _load_item(folder)
        X = _stft(mixture)
        models = np.abs(_stft(images))
        v, x = _to_norbert(X, models)
        n = mixture.shape[-1]
        mask = _sdr(images, _istft(wiener(X, models, 0), n))
        ours = _sdr(images, _istft(wiener(X, models, 1), n))
        theirs = _sdr(images, _istft(norbert.wiener(v, x, iterations=1).transpose(3, 2, 1, 0), n))
        extra[f"oracle SDR {folder.name} (dB)"] = (
            f"ours {ours:.4f}, norbert {theirs:.4f}, ratio mask {mask:.4f}"
        )
    return extra, ""


def run(quick: bool) -> list[Row]:
    import norbert

    from dsp_separate import wiener

    seconds = 20 if quick else 180
    images = stereo_images(seconds)
    X = _stft(images.sum(axis=0))
    models = np.abs(_stft(images))
    del images
    size = (f"2 src x 2 ch x {seconds} s @ 44.1 kHz, n_fft {N_FFT} hop {HOP}, "
            f"{X.shape[-2]} bins x {X.shape[-1]} frames")
    quality, skipped = oracle_sdr(quick)

    rows = []
    for dtype in (np.complex128, np.complex64):
        Xd = X.astype(dtype)
        Md = models.astype(np.float32 if dtype == np.complex64 else np.float64)
        v, x = _to_norbert(Xd, Md)
        # norbert.wiener divides x in place: give it a fresh copy each call (~0.1 s, counted)
        t_ours, t_peer = side_by_side(
            lambda Xd=Xd, Md=Md: wiener(Xd, Md, 1),
            lambda v=v, x=x: norbert.wiener(v, x.copy(), iterations=1),
            repeats=3,
            warmup=1,
        )
        rows.append(
            Row(
                operation=f"wiener, 1 EM iteration, {np.dtype(dtype).name}",
                size=size,
                ours=t_ours,
                peer=t_peer,
                peer_name="norbert.wiener",
                target=">= 10x faster" if dtype == np.complex128 else "",
                note=skipped if dtype == np.complex128 else "",
                extra=quality if dtype == np.complex128 else {},
            )
        )
        del Xd, Md, v, x
    return rows
