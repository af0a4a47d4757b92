"""The :class:`Separation` result every separator returns."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .exceptions import ParameterError

__all__ = ["Separation"]


class Separation(Mapping):
    """Separated sources, with the STFTs and masks that produced them.

    A read-only mapping from source name to audio: ``result["harmonic"]``, ``list(result)``
    (the names, in order), ``result.items()``.

    Attributes
    ----------
    names : tuple of str
        Source names, in order (a method that leaves a remainder ends with ``"residual"``).
    sources : dict of str to ndarray, each shape (..., n_samples)
        Same shape, length and dtype as the input mixture.
    stfts : dict of str to ndarray, each shape (..., n_freq, n_frames), complex
        Each source's STFT: the image that was resynthesised (``keep="stfts"``), or
        computed from the source on first access.
    masks : dict of str to ndarray, or None
        The real masks in [0, 1] that a mask method applied, when separated with
        ``keep="masks"``; ``None`` otherwise, for filter methods, and after Wiener
        refinement (``wiener_iterations > 0``), whose source images are not a real mask of
        the mixture.
    sr : int
        Sampling rate in Hz.
    stft : STFT
        The transform used.
    method : str
        ``repr`` of the separator that made it.
    info : dict
        What the method reported besides the sources, e.g. ``"objective"`` (one value per
        iteration for iterative methods), ``"n_iter"``, a DUET histogram, a REPET period.
        Empty for methods that report nothing.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> y = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    >>> result = ds.HPSS(kernel_size=17).separate(y, 8000)
    >>> result.names
    ('harmonic', 'percussive')
    >>> bool(np.allclose(result["harmonic"] + result["percussive"], y, atol=1e-5))
    True
    >>> harmonic, percussive = result.values()       # arrays, in source order
    """

    def __init__(self, sources, *, sr, stft, stfts=None, masks=None, method="", info=None):
        self.sources = dict(sources)
        self._stfts = dict(stfts) if stfts is not None else None
        self.masks = dict(masks) if masks is not None else None
        self.sr = int(sr)
        self.stft = stft
        self.method = method
        self.info = dict(info) if info is not None else {}

    @property
    def stfts(self) -> dict:
        """Each source's STFT, ``{name: (..., n_freq, n_frames) complex}``.

        The images the separator resynthesised when it was called with ``keep="stfts"``;
        otherwise the STFTs of the sources, computed on first access (and then kept).  The
        two differ slightly: a masked STFT is generally not the STFT of any signal.
        """
        if self._stfts is None:
            self._stfts = {k: self.stft.forward(v.astype(np.float32)
                                                if v.dtype == np.float16 else v)
                           for k, v in self.sources.items()}
        return self._stfts

    @property
    def names(self) -> tuple:
        return tuple(self.sources)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.sources[name]
        except KeyError:
            raise KeyError(
                f"no source named {name!r}; this separation has {list(self.sources)}"
            ) from None

    def __iter__(self):
        return iter(self.sources)

    def __len__(self) -> int:
        return len(self.sources)

    def __repr__(self) -> str:
        first = next(iter(self.sources.values()))
        return (
            f"Separation(names={self.names}, shape={first.shape}, dtype={first.dtype}, "
            f"sr={self.sr}, method={self.method})"
        )

    def plot(self, **kwargs):
        """Draw the mixture, the sources and their masks: :func:`dsp_separate.plot.separation`.

        Keyword arguments (``mixture=``, ``masks=``, ``references=``, ``log_freq=``, ...) are
        passed on.  Needs matplotlib (the ``plot`` extra).

        Returns
        -------
        fig : matplotlib Figure
        """
        from .plot import separation

        return separation(self, **kwargs)

    def stack(self) -> np.ndarray:
        """All sources as one array, shape ``(n_sources, ..., n_samples)``."""
        return np.stack([self.sources[n] for n in self.names])

    def save(self, directory, format: str = "wav", *, prefix: str = "", subtype=None) -> list:
        """Write one file per source: ``directory/<prefix><name>.<format>``.

        Parameters
        ----------
        directory : str or os.PathLike
            Created if missing.
        format : {"wav", "flac", "ogg", "aiff"}, default "wav"
        prefix : str, default ""
            Put before each source name, e.g. ``"song_"``.
        subtype : str, optional
            soundfile subtype (default 16-bit PCM for WAV/FLAC; ``"FLOAT"`` keeps float32).

        Returns
        -------
        paths : list of pathlib.Path
            The files written, in source order.
        """
        from .io import FORMATS, save

        if format not in FORMATS:
            raise ParameterError(f"format={format!r}: must be one of {', '.join(FORMATS)}")
        first = next(iter(self.sources.values()))
        if first.ndim > 2:
            raise ParameterError(
                f"sources have shape {first.shape}: only (n_samples,) or "
                "(n_channels, n_samples) sources can be written to files; save each item "
                "of a batch separately"
            )
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, audio in self.sources.items():
            path = directory / f"{prefix}{name}.{format}"
            save(path, audio, self.sr, subtype=subtype)
            paths.append(path)
        return paths
