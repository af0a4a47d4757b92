r"""Short-time Fourier transform: one configuration object and librosa-compatible one-liners.

Frame alignment (``center=True``, the default, as in librosa): the signal is padded with
``n_fft // 2`` samples on each side, so frame ``t`` is *centred* on sample ``t * hop_length``::

    padded:   [ n_fft//2 pad | y[0] y[1] ...                      y[n-1] | n_fft//2 pad ]
    frame 0:  [<------------- n_fft ------------->]
    frame 1:        [<------------- n_fft ------------->]      (starts hop_length later)
                      ^ centre of frame 1 = y[hop_length]

    n_frames = 1 + (n + 2 * (n_fft // 2) - n_fft) // hop_length

With ``center=False`` frame ``t`` covers ``y[t * hop : t * hop + n_fft]``.

Forward transform of frame :math:`t`, bin :math:`k` (window :math:`w` of length ``n_fft``,
zero-padded and centred when ``win_length < n_fft``):

.. math::

    X[k, t] = \sum_{n=0}^{N-1} w[n]\, \tilde y[t H + n]\, e^{-2\pi i k n / N},
    \qquad k = 0, \dots, N/2

The inverse is the least-squares overlap-add of Griffin & Lim (1984):

.. math::

    \hat y[m] = \frac{\sum_t w[m - tH]\, \mathrm{IDFT}(X[:, t])[m - tH]}
                     {\sum_t w[m - tH]^2}

which returns ``y`` exactly when the window satisfies the *nonzero overlap-add* (NOLA)
condition :math:`\sum_t w[m - tH]^2 > 0` for every ``m``.

The framing/windowing and the overlap-add are numba kernels
(:mod:`dsp_separate._kernels.stft`); the FFTs are :func:`scipy.fft.rfft` / ``irfft``.
Chunks of frames run in up to ``workers`` threads of the package's own pool (see
:mod:`dsp_separate._config`).

References
----------
.. [1] D. W. Griffin and J. S. Lim, "Signal estimation from modified short-time Fourier
   transform", IEEE Trans. ASSP 32(2), 236-243, 1984.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.fft

from ._config import in_threads
from ._kernels import stft as _k
from ._validation import (
    check_audio,
    check_bool,
    check_channel_first,
    check_choice,
    check_positive_int,
    check_stft_matrix,
    describe,
)
from .exceptions import ParameterError

__all__ = ["STFT", "stft", "istft"]

PAD_MODES = ("constant", "reflect", "edge", "symmetric", "wrap")

#: Working-set size of one chunk of frames (each of the two chunk buffers); 1 MiB measured
#: slightly faster than 2 MiB and 0.5 MiB on this 2-core machine (benchmarks/bench_stft.py).
_CHUNK_BYTES = 1 << 20


def _chunk_frames(n_batch: int, n_fft: int, itemsize: int, n_frames: int) -> int:
    """Frames per chunk so that a (n_batch, chunk, n_fft) buffer is about _CHUNK_BYTES."""
    return max(1, min(n_frames, _CHUNK_BYTES // (n_batch * n_fft * itemsize)))


def _in_threads(work, n_frames: int, chunk: int, workers: int) -> None:
    """Run ``work(lo, hi)`` over contiguous ranges of ``n_frames`` frames, one per thread of
    the package's pool (:func:`dsp_separate._config.in_threads`).

    ``workers`` threads (-1: one per core); inputs of fewer than two chunks per thread run
    in the calling thread.
    """
    in_threads(work, n_frames, 2 * chunk, workers)


def frame_rows(a: np.ndarray):
    """The frames of ``a`` (..., n_freq, n_frames) as rows, a (B, n_frames, n_freq) view,
    when ``a`` is a view of an array stored frame by frame (``STFT._forward(...,
    frame_major=True)``, the enhancement masks); None otherwise."""
    swapped = np.swapaxes(a, -1, -2)
    if a.ndim < 2 or a.flags.c_contiguous or not swapped.flags.c_contiguous:
        return None
    return swapped.reshape((-1,) + swapped.shape[-2:])


def _complex_of(real_dtype) -> np.dtype:
    return np.dtype(np.complex64 if real_dtype == np.float32 else np.complex128)


def _periodic_hann(m: int) -> np.ndarray:
    """``scipy.signal.get_window("hann", m)`` bit for bit, without importing scipy.signal."""
    if m <= 1:
        return np.ones(m)
    fac = np.linspace(-np.pi, np.pi, m + 1)
    w = np.zeros(m + 1)
    w += 0.5 * np.cos(0 * fac)
    w += 0.5 * np.cos(fac)
    return w[:m]


def _nola(window: np.ndarray, hop: int, tol: float = 1e-10) -> bool:
    """The test of ``scipy.signal.check_NOLA(window, n_fft, n_fft - hop)``: every sample is
    covered by some frame with a window sum-square above ``tol`` (``hop <= n_fft``)."""
    n_fft = window.shape[0]
    sq = window**2
    sums = sq[: (n_fft // hop) * hop].reshape(-1, hop).sum(axis=0)
    rest = n_fft % hop
    if rest:
        sums[:rest] += sq[-rest:]
    return bool(np.min(sums) > tol)


def _make_window(window, win_length: int, n_fft: int) -> np.ndarray:
    """The analysis window as float64 of length ``n_fft`` (centred, zero-padded)."""
    if isinstance(window, np.ndarray):
        if window.ndim != 1 or window.shape[0] != win_length:
            raise ParameterError(
                f"window={describe(window)}: an array window must be 1-D with "
                f"win_length={win_length} samples"
            )
        if not np.isfinite(window).all() or np.iscomplexobj(window):
            raise ParameterError(f"window={describe(window)}: must be real and finite")
        w = np.asarray(window, dtype=np.float64)
    elif callable(window):
        w = np.asarray(window(win_length), dtype=np.float64)
        if w.shape != (win_length,):
            raise ParameterError(
                f"window={describe(window)}: the callable returned shape {w.shape}, "
                f"expected ({win_length},)"
            )
    elif isinstance(window, str) and window in ("hann", "hanning"):
        w = _periodic_hann(win_length)
    else:
        import scipy.signal  # ~0.1 s to import: only for windows other than hann

        try:
            w = scipy.signal.get_window(window, win_length, fftbins=True)
        except (ValueError, TypeError) as exc:
            raise ParameterError(
                f"window={describe(window)}: not a window scipy.signal.get_window knows "
                f"({exc}); e.g. 'hann', 'hamming', 'blackman', ('kaiser', 8.0)"
            ) from None
        w = np.asarray(w, dtype=np.float64)
    if not w.any():
        raise ParameterError(f"window={describe(window)}: is all zeros")
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        w = np.pad(w, (left, n_fft - win_length - left))
    return w


class STFT:
    r"""Short-time Fourier transform configuration, with forward and inverse transforms.

    Parameters
    ----------
    n_fft : int, default 2048
        FFT size in samples; the transform has ``1 + n_fft // 2`` frequency bins.
    hop_length : int, optional
        Samples between successive frames; default ``win_length // 4``.
    win_length : int, optional
        Window length in samples, ``<= n_fft``; default ``n_fft``.  A shorter window is
        zero-padded on both sides to ``n_fft``.
    window : str, tuple, callable or ndarray, default "hann"
        Anything :func:`scipy.signal.get_window` accepts (periodic windows), a callable of the
        length, or an array of ``win_length`` samples.
    center : bool, default True
        Centre frame ``t`` on sample ``t * hop_length`` by padding ``n_fft // 2`` samples on
        both sides (see the module docstring for a picture).
    pad_mode : {"constant", "reflect", "edge", "symmetric", "wrap"}, default "constant"
        :func:`numpy.pad` mode of the centring padding.
    workers : int, default -1
        Threads of the package's own thread pool that transform chunks of frames side by
        side (``-1``: one per core).  Each thread runs framing, FFT (:mod:`scipy.fft` with
        one worker), transpose and overlap-add for its own range of frames.  Inputs shorter
        than two chunks of about 1 MiB per thread run in the calling thread.

    Attributes
    ----------
    window : ndarray, shape (n_fft,)
        The padded analysis window (read-only).
    n_freq : int
        ``1 + n_fft // 2``.
    invertible : bool
        Whether the window and hop satisfy NOLA, i.e. :meth:`inverse` can reconstruct.

    Notes
    -----
    Parameter names and defaults follow :func:`librosa.stft`, and the output matches it
    (same frames, same bins).  float32 audio gives complex64 STFTs, float64 gives complex128.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate import STFT
    >>> sr = 16000
    >>> y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32)
    >>> tf = STFT(n_fft=1024, hop_length=256)
    >>> X = tf.forward(y)
    >>> X.shape, X.dtype
    ((513, 63), dtype('complex64'))
    >>> round(float(tf.bin_frequencies(sr)[np.abs(X[:, 30]).argmax()]))
    438
    >>> bool(np.allclose(tf.inverse(X, length=len(y)), y, atol=1e-5))
    True
    """

    def __init__(
        self,
        n_fft: int = 2048,
        hop_length: int | None = None,
        win_length: int | None = None,
        window="hann",
        center: bool = True,
        pad_mode: str = "constant",
        workers: int = -1,
    ):
        n_fft = check_positive_int(n_fft, "n_fft")
        if n_fft < 2:
            raise ParameterError(f"n_fft={n_fft}: must be at least 2")
        win_length = n_fft if win_length is None else check_positive_int(win_length, "win_length")
        if win_length > n_fft:
            raise ParameterError(f"win_length={win_length}: must be <= n_fft={n_fft}")
        hop_length = (
            max(1, win_length // 4)
            if hop_length is None
            else check_positive_int(hop_length, "hop_length")
        )
        if isinstance(workers, bool) or not isinstance(workers, int) or workers == 0:
            raise ParameterError(f"workers={workers!r}: must be a non-zero integer (-1: all)")
        self._n_fft = n_fft
        self._hop = hop_length
        self._win_length = win_length
        self._window_spec = window
        self._center = check_bool(center, "center")
        self._pad_mode = check_choice(pad_mode, "pad_mode", PAD_MODES)
        self._workers = workers
        w = _make_window(window, win_length, n_fft)
        w.setflags(write=False)
        self._window = w
        self._window32 = w.astype(np.float32)
        self._window32.setflags(write=False)

    # ------------------------------------------------------------------ properties
    n_fft = property(lambda self: self._n_fft, doc="FFT size in samples.")
    hop_length = property(lambda self: self._hop, doc="Hop between frames in samples.")
    win_length = property(lambda self: self._win_length, doc="Window length in samples.")
    center = property(lambda self: self._center, doc="Whether frames are centred.")
    pad_mode = property(lambda self: self._pad_mode, doc="numpy.pad mode used when centring.")
    workers = property(lambda self: self._workers,
                       doc="Threads of the package's pool used per transform (-1: all cores).")
    window = property(lambda self: self._window, doc="Analysis window, shape (n_fft,).")

    @property
    def n_freq(self) -> int:
        """Number of frequency bins, ``1 + n_fft // 2``."""
        return 1 + self._n_fft // 2

    @property
    def invertible(self) -> bool:
        """True when the window/hop pair satisfies the NOLA condition."""
        if self._hop > self._n_fft:
            return False
        return _nola(self._window, self._hop)

    def to_dict(self) -> dict:
        """The constructor arguments, as a dict."""
        return {
            "n_fft": self._n_fft,
            "hop_length": self._hop,
            "win_length": self._win_length,
            "window": self._window_spec,
            "center": self._center,
            "pad_mode": self._pad_mode,
            "workers": self._workers,
        }

    def __repr__(self) -> str:
        params = self.to_dict()
        if isinstance(params["window"], np.ndarray):
            params["window"] = describe(params["window"])
        return "STFT(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")"

    def __eq__(self, other) -> bool:
        if not isinstance(other, STFT):
            return NotImplemented
        return (
            self.to_dict().keys() == other.to_dict().keys()
            and self._n_fft == other._n_fft
            and self._hop == other._hop
            and self._center == other._center
            and self._pad_mode == other._pad_mode
            and np.array_equal(self._window, other._window)
        )

    __hash__ = None

    # ------------------------------------------------------------------ helpers
    def num_frames(self, n_samples: int) -> int:
        """Number of frames :meth:`forward` gives for a signal of ``n_samples`` samples."""
        n_samples = check_positive_int(n_samples, "n_samples")
        padded = n_samples + 2 * (self._n_fft // 2) if self._center else n_samples
        if padded < self._n_fft:
            return 0
        return 1 + (padded - self._n_fft) // self._hop

    def frame_times(self, n_frames: int, sr: float) -> np.ndarray:
        """Time in seconds of the centre of each frame, shape ``(n_frames,)``."""
        offset = 0 if self._center else self._n_fft // 2
        return (np.arange(n_frames) * self._hop + offset) / float(sr)

    def bin_frequencies(self, sr: float) -> np.ndarray:
        """Centre frequency in Hz of each bin, shape ``(n_freq,)``."""
        return np.arange(self.n_freq) * (float(sr) / self._n_fft)

    def seconds_to_frames(self, seconds: float, sr: float) -> int:
        """Number of hops closest to ``seconds`` (at least 1)."""
        return max(1, int(round(seconds * sr / self._hop)))

    def hz_to_bins(self, hz: float, sr: float) -> int:
        """Number of frequency bins closest to a bandwidth of ``hz`` (at least 1)."""
        return max(1, int(round(hz * self._n_fft / sr)))

    # ------------------------------------------------------------------ transforms
    def forward(self, y: np.ndarray) -> np.ndarray:
        """STFT of ``y``.

        Parameters
        ----------
        y : ndarray, shape (..., n_samples), float32 or float64
            Audio; any leading shape (mono, stereo, batches).  Not modified.

        Returns
        -------
        X : ndarray, shape (..., 1 + n_fft // 2, n_frames), complex64 or complex128
        """
        y = check_audio(y, "y")
        check_channel_first(y, "y", window=self._n_fft)
        return self._forward(y)

    def _forward(self, y: np.ndarray, frame_major: bool = False, magnitude: bool = False):
        """:meth:`forward` without the checks (``y`` float32/float64, finite).

        ``frame_major=True``: the same array shape, but a view of an array stored frame by
        frame, ``(..., n_frames, n_freq)`` C-contiguous: the FFTs' output is copied, not
        transposed, and :meth:`_inverse` reads it back the same way.  For methods that
        work frame by frame (the enhancement recursions).  With ``magnitude=True`` as well:
        ``(X, S)``, ``S = |X|`` C-contiguous (..., n_freq, n_frames), made from each chunk
        of spectra while it is in cache (within 2 ulps of :func:`numpy.abs`; see
        :func:`dsp_separate._kernels.stft.magnitudes_to_columns`).
        """
        if magnitude and not frame_major:
            raise ValueError("magnitude=True goes with frame_major=True")
        x, lead, n_frames = self._prepare(y)
        cdtype = _complex_of(y.dtype)
        if frame_major:
            rows = np.empty((x.shape[0], n_frames, self.n_freq), dtype=cdtype)
            S = (np.empty((x.shape[0], self.n_freq, n_frames), dtype=y.dtype)
                 if magnitude else None)

            def consume(spec, t0, c):
                rows[:, t0:t0 + c] = spec
                if S is not None:
                    _k.magnitudes_to_columns(spec, c, S, t0)

            self._spectra(x, n_frames, consume)
            X = np.swapaxes(rows, -1, -2).reshape(lead + (self.n_freq, n_frames))
            return X if S is None else (X, S.reshape(X.shape))
        out = np.empty((x.shape[0], self.n_freq, n_frames), dtype=cdtype)

        def consume(spec, t0, c):
            _k.frames_to_columns(spec, c, out, t0)

        self._spectra(x, n_frames, consume)
        return out.reshape(lead + out.shape[1:])

    def _prepare(self, y: np.ndarray):
        """``(x, lead, n_frames)``: the signal as C-contiguous rows ``(B, n)`` (a view when
        ``y`` is C-contiguous), its leading shape, and its number of frames; warns or raises
        when ``n_fft`` is longer than the signal."""
        n = y.shape[-1]
        n_fft = self._n_fft
        if self._center:
            if n_fft > n:
                warnings.warn(
                    f"n_fft={n_fft} is larger than the signal (n_samples={n}); "
                    "frames are mostly padding",
                    UserWarning,
                    stacklevel=3,
                )
        elif n_fft > n:
            raise ParameterError(
                f"n_fft={n_fft}: larger than the signal (n_samples={n}); with center=False "
                "every frame must fit inside the signal (use center=True or a smaller n_fft)"
            )
        # C order and writable: the framing kernel wants contiguous rows and reads the
        # signal itself (one compiled layout; a read-only array, e.g. a memmap, would
        # compile another)
        x = np.ascontiguousarray(y.reshape(-1, n))
        if not x.flags.writeable:
            x = x.copy()
        padded = n + 2 * (n_fft // 2) if self._center else n
        return x, y.shape[:-1], 1 + (padded - n_fft) // self._hop

    def _framer(self, x: np.ndarray):
        """``fill(t0, c, frames)``: windowed frames ``t0 .. t0 + c - 1`` of the signal rows
        ``x`` (B, n) into ``frames[:, :c]`` (centred: of the padded signal).

        No padded copy of the whole signal: frames that lie inside ``x`` are read from it,
        and the few frames at each end that reach into the padding from padded copies of
        the ends (the same samples as :func:`numpy.pad` of the whole signal gives, for the
        modes whose padding depends only on the samples near each end).  Short signals and
        ``"wrap"`` (whose padding comes from the other end) pad the whole signal.
        """
        hop, n_fft = self._hop, self._n_fft
        window = self._window32 if x.dtype == np.float32 else self._window

        def reader(src, offset):
            def fill(t0, c, frames, row=0):
                _k.frame_windowed(src, window, hop, t0, c, frames, offset, row)
            return fill

        if not self._center:
            return reader(x, 0)
        pad, n = n_fft // 2, x.shape[-1]
        if self._pad_mode == "wrap" or n < 4 * n_fft:
            return reader(np.pad(x, ((0, 0), (pad, pad)), mode=self._pad_mode), 0)
        n_frames = 1 + (n + 2 * pad - n_fft) // hop
        t_in = -(-pad // hop)                          # first frame inside x
        t_out = (n + pad - n_fft) // hop + 1           # first frame past x's end
        # the head: padded samples [0, (t_in - 1) hop + n_fft), from x's first samples
        head_len = (t_in - 1) * hop + n_fft
        m = max(head_len - pad, pad + 1)               # reflect reads pad + 1 samples
        head = np.pad(x[:, :m], ((0, 0), (pad, 0)), mode=self._pad_mode)
        # the tail: x from sample s on, padded at the end
        s = min(t_out * hop - pad, n - pad - 1)
        tail = np.pad(x[:, s:], ((0, 0), (0, pad)), mode=self._pad_mode)
        parts = ((0, t_in, reader(head, 0)), (t_in, t_out, reader(x, -pad)),
                 (t_out, n_frames, reader(tail, -pad - s)))

        def fill(t0, c, frames):
            for lo, hi, part in parts:
                a, b = max(t0, lo), min(t0 + c, hi)
                if b > a:
                    part(a, b - a, frames, a - t0)
        return fill

    def _spectra(self, x: np.ndarray, n_frames: int, consume) -> None:
        """Frame, window and FFT the rows ``x`` (B, n) chunk by chunk in the package's
        threads; ``consume(spec, t0, c)`` takes each chunk's spectra ``spec`` (B, c, n_freq)
        of frames ``t0 .. t0 + c - 1``, in the thread that made them."""
        n_batch, n_fft = x.shape[0], self._n_fft
        fill = self._framer(x)
        # Frames are processed in chunks of about _CHUNK_BYTES, each thread taking a
        # contiguous range of frames: the buffers stay in cache and are reused, and only
        # the output is a large allocation.
        chunk = _chunk_frames(n_batch, n_fft, x.dtype.itemsize, n_frames)

        def frames_range(lo, hi):
            frames = np.empty((n_batch, chunk, n_fft), dtype=x.dtype)
            for t0 in range(lo, hi, chunk):
                c = min(chunk, hi - t0)
                fill(t0, c, frames)
                consume(scipy.fft.rfft(frames[:, :c], axis=-1, workers=1), t0, c)

        _in_threads(frames_range, n_frames, chunk, self._workers)

    def inverse(self, X: np.ndarray, length: int | None = None) -> np.ndarray:
        """Inverse STFT by least-squares overlap-add.

        Parameters
        ----------
        X : ndarray, shape (..., 1 + n_fft // 2, n_frames), complex
            STFT, e.g. from :meth:`forward` or a masked version of it.  Not modified.
        length : int, optional
            Output length in samples: trimmed or zero-padded to it.  Default: all the samples
            the frames cover (``hop_length * (n_frames - 1)`` when centred).

        Returns
        -------
        y : ndarray, shape (..., length), float32 (complex64 input) or float64
        """
        X = check_stft_matrix(X, "X")
        if X.shape[-2] != self.n_freq:
            raise ParameterError(
                f"X={describe(X)}: has {X.shape[-2]} frequency bins, expected "
                f"1 + n_fft // 2 = {self.n_freq} for n_fft={self._n_fft}"
            )
        if not self.invertible:
            raise ParameterError(
                f"hop_length={self._hop}: the window {self._window_spec!r} "
                f"(win_length={self._win_length}) with this hop violates the nonzero "
                "overlap-add (NOLA) condition, so the STFT cannot be inverted; use a "
                "smaller hop_length"
            )
        if length is not None:
            length = check_positive_int(length, "length")
        return self._inverse(X, length)

    def _inverse(self, X: np.ndarray, length: int | None = None, gain=None) -> np.ndarray:
        """:meth:`inverse` without the checks; ``gain`` (real, shape of ``X``) multiplies
        ``X`` chunk by chunk, so a masked source is resynthesised without a full-size
        masked copy of the mixture STFT.  ``X`` and ``gain`` may each be a view of an
        array stored frame by frame (``_forward(..., frame_major=True)``): their frames are
        then read as rows, without a transpose."""
        shape, dtype = X.shape, X.dtype
        n_fft, hop = self._n_fft, self._hop
        n_frames = shape[-1]
        pad = n_fft // 2 if self._center else 0
        if length is not None:
            if self._center:
                n_frames = min(n_frames, math.ceil((length + 2 * pad) / hop))
        else:
            length = n_fft + hop * (n_frames - 1) - 2 * pad
            if length < 1:
                raise ParameterError(
                    f"X={describe(X)}: {n_frames} frame(s) cover no sample once the centring "
                    "padding is removed; pass length="
                )
        lead = shape[:-2]
        n_freq = shape[-2]
        n_batch = math.prod(lead)
        real = np.float32 if dtype == np.complex64 else np.float64
        rows = frame_rows(X)  # an STFT stored frame by frame: its (B, T, F) array
        if rows is None:
            # C order: the kernels then see one layout (one compilation per dtype)
            spec = np.ascontiguousarray(X.reshape(n_batch, n_freq, shape[-1]))
        gain_t = None  # a gain stored frame by frame: its (B, T, F) array
        if gain is not None:
            gain = np.asarray(gain)
            if gain.shape == tuple(shape) and gain.dtype == real:
                gain_t = frame_rows(gain)
            if gain_t is None:
                gain = np.ascontiguousarray(np.broadcast_to(gain, shape), dtype=real)
                gain = gain.reshape(n_batch, n_freq, shape[-1])
        window = self._window32 if real == np.float32 else self._window
        out = np.zeros((n_batch, length), dtype=real)
        chunk = _chunk_frames(n_batch, n_fft, np.dtype(real).itemsize, n_frames)
        # frames before ``lo`` that still reach sample lo * hop of the padded signal
        reach = -(-n_fft // hop) - 1

        def spectra(t0, c, buf):
            """The (masked) spectra of frames t0 .. t0 + c - 1, (B, c, n_freq)."""
            if rows is not None:  # frames are rows already: no transpose
                if gain is None:
                    return rows[:, t0:t0 + c]
                if gain_t is not None:
                    return np.multiply(rows[:, t0:t0 + c], gain_t[:, t0:t0 + c],
                                       out=buf[:, :c])
                _k.masked_rows(rows, gain, t0, c, buf)
                return buf[:, :c]
            if gain is None:
                _k.columns_to_frames(spec, t0, c, buf)  # frames as rows
            elif gain_t is not None:
                _k.masked_columns_to_frames(spec, gain_t, t0, c, buf, True)
            else:
                _k.masked_columns_to_frames(spec, gain, t0, c, buf, False)
            return buf[:, :c]

        def overlap_range(lo, hi):
            # this thread owns padded samples [lo * hop, hi * hop) (the ends: to the edges)
            own_lo = lo * hop if lo > 0 else 0
            own_hi = hi * hop if hi < n_frames else pad + length
            buf = np.empty((n_batch, chunk, n_freq), dtype=X.dtype)
            for t0 in range(max(0, lo - reach), hi, chunk):
                c = min(chunk, hi - t0)
                frames = scipy.fft.irfft(spectra(t0, c, buf), n=n_fft, axis=-1, workers=1)
                _k.overlap_add(frames.astype(real, copy=False), window, hop, t0, pad,
                               own_lo, own_hi, out)

        _in_threads(overlap_range, n_frames, chunk, self._workers)
        tiny = real(np.finfo(real).tiny)
        # the normalisation in threads too: by rows, or (one row) by ranges of samples
        if n_batch > 1:
            in_threads(lambda lo, hi: _k.divide_by_sumsquare(
                out[lo:hi], window, hop, n_frames, pad, tiny), n_batch, 1, self._workers)
        else:
            in_threads(lambda lo, hi: _k.divide_by_sumsquare(
                out[:, lo:hi], window, hop, n_frames, pad + lo, tiny), length, 1 << 16,
                self._workers)
        return out.reshape(lead + (length,))


def stft(
    y: np.ndarray,
    *,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    window="hann",
    center: bool = True,
    dtype=None,
    pad_mode: str = "constant",
) -> np.ndarray:
    """STFT of ``y``: ``STFT(...).forward(y)`` with :func:`librosa.stft`'s parameters.

    Parameters
    ----------
    y : ndarray, shape (..., n_samples), float
        Audio, channel-first.  Not modified.
    n_fft, hop_length, win_length, window, center, pad_mode
        See :class:`STFT`.
    dtype : complex dtype, optional
        Output dtype; default complex64 for float32 input, complex128 for float64.

    Returns
    -------
    X : ndarray, shape (..., 1 + n_fft // 2, n_frames), complex

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> y = np.random.default_rng(0).standard_normal((2, 22050)).astype(np.float32)
    >>> ds.stft(y, n_fft=1024).shape
    (2, 513, 87)
    """
    X = STFT(n_fft, hop_length, win_length, window, center, pad_mode).forward(y)
    return X if dtype is None else X.astype(dtype, copy=False)


def istft(
    stft_matrix: np.ndarray,
    *,
    hop_length: int | None = None,
    win_length: int | None = None,
    n_fft: int | None = None,
    window="hann",
    center: bool = True,
    dtype=None,
    length: int | None = None,
) -> np.ndarray:
    """Inverse STFT with :func:`librosa.istft`'s parameters.

    Parameters
    ----------
    stft_matrix : ndarray, shape (..., n_freq, n_frames), complex
        Not modified.
    hop_length, win_length, window, center
        See :class:`STFT`.
    n_fft : int, optional
        Default ``2 * (n_freq - 1)``.
    dtype : float dtype, optional
        Output dtype; default float32 for complex64 input, float64 for complex128.
    length : int, optional
        Output length in samples (trim or zero-pad).

    Returns
    -------
    y : ndarray, shape (..., n_samples), float

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> y = np.random.default_rng(0).standard_normal(16000)
    >>> y_hat = ds.istft(ds.stft(y, n_fft=512), length=len(y))
    >>> float(np.max(np.abs(y_hat - y))) < 1e-12
    True
    """
    if not isinstance(stft_matrix, np.ndarray) or stft_matrix.ndim < 2:
        raise ParameterError(
            f"stft_matrix={describe(stft_matrix)}: must be an array (..., n_freq, n_frames)"
        )
    if n_fft is None:
        n_fft = 2 * (stft_matrix.shape[-2] - 1)
    y = STFT(n_fft, hop_length, win_length, window, center).inverse(stft_matrix, length)
    return y if dtype is None else y.astype(dtype, copy=False)
