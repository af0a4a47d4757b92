"""The :class:`Separation` result every separator returns."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .exceptions import ParameterError

__all__ = ["Separation"]

HTML_MAX_BYTES = 8 * 2**20  # WAV bytes that _repr_html_ embeds at most, all sources together


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
    html_max_bytes : int
        At most this many bytes of WAV audio are embedded in the notebook view (8 MiB).

    Notes
    -----
    At the end of a notebook cell a ``Separation`` shows itself as a table of its sources
    with an audio player each (:meth:`_repr_html_`); :meth:`plot` draws the spectrograms
    and masks (:func:`dsp_separate.plot.separation`, needs matplotlib).

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

    html_max_bytes = HTML_MAX_BYTES

    def _repr_html_(self) -> str:
        """A table of the sources with an HTML5 audio player each (Jupyter shows it).

        One row per source: name, shape, duration, peak and RMS level in dBFS, and an
        ``<audio controls>`` player holding the source as a 16-bit WAV (base64 in the page;
        no IPython needed).  Players are embedded in source order while the WAV bytes stay
        within :attr:`html_max_bytes` (8 MiB; set it on the instance or the class to change
        it); the rows beyond say so instead.  Sources with more than 2 channels, or a batch,
        are described but not embedded (browsers play mono and stereo); a source that peaks
        above full scale is scaled down for the player only, and its row says by how much.
        """
        import base64
        import html
        import io

        import soundfile as sf

        def level(a):
            return "silent" if a <= 0 else f"{20 * np.log10(a):.1f}"

        cap = int(self.html_max_bytes)
        used = 0
        rows = []
        for name, audio in self.sources.items():
            x = np.asarray(audio, dtype=np.float64)
            n = x.shape[-1]
            peak = float(np.max(np.abs(x))) if x.size else 0.0
            rms = float(np.sqrt(np.mean(x**2))) if x.size else 0.0
            n_ch = 1 if x.ndim == 1 else x.shape[0]
            size = 44 + 2 * n * n_ch
            note = ""
            if x.ndim > 2:
                player = f"not embedded: a batch of shape {x.shape} (play one item)"
            elif n_ch > 2:
                player = f"not embedded: {n_ch} channels (browsers play mono and stereo)"
            elif n == 0:
                player = "not embedded: no samples"
            elif used + size > cap:
                player = (f"not embedded: {size / 2**20:.1f} MiB of WAV would pass the "
                          f"{cap / 2**20:.1f} MiB cap of this page (Separation.html_max_bytes)"
                          "; use .save() or listen to fewer sources")
            else:
                if peak > 1.0:
                    x = x / peak
                    note = f" (scaled by {-20 * np.log10(peak):.1f} dB to play)"
                buf = io.BytesIO()
                sf.write(buf, x.T if x.ndim == 2 else x, self.sr, format="WAV",
                         subtype="PCM_16")
                used += size
                data = base64.b64encode(buf.getvalue()).decode("ascii")
                player = (f'<audio controls preload="none"><source '
                          f'src="data:audio/wav;base64,{data}" type="audio/wav"></audio>')
            rows.append(
                f"<tr><td><b>{html.escape(str(name))}</b></td><td>{x.shape}</td>"
                f"<td>{n / self.sr:.2f} s</td><td>{level(peak)}</td><td>{level(rms)}</td>"
                f"<td>{player}{html.escape(note)}</td></tr>")
        head = (f"<p><b>Separation</b>: {len(self.sources)} sources at {self.sr} Hz, "
                f"{html.escape(self.method or 'unknown method')}</p>")
        return (head + "<table><thead><tr><th>source</th><th>shape</th><th>duration</th>"
                "<th>peak (dBFS)</th><th>RMS (dBFS)</th><th>listen</th></tr></thead><tbody>"
                + "".join(rows) + "</tbody></table>")

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
