r"""Block-by-block separation: the runner behind :meth:`Separator.stream` and ``separate_file``.

A separator tagged ``streaming="bounded"`` computes the masks of an STFT frame from the
frames around it only (HPSS: half its harmonic window on each side).  The runner therefore
reproduces :meth:`Separator.separate` on the whole signal, block by block, with memory that
does not grow with the signal's length::

    samples in ──► padded sample buffer ──► STFT frames (centre-padded exactly as the
                   whole-signal STFT: n_fft // 2 at the start, at flush() at the end)
                          │
                          ▼
    frame buffer [t_out - before, t_done) ──► separator._estimate_block on the frames
                   [t_out - before, t_new + after) ──► masks of frames [t_out, t_new)
                          │
                          ▼
    per-source overlap-add buffers  ──► samples before t_new * hop are final ──► out

The look-ahead (latency) is ``after`` frames plus one window.  Causal methods
(``streaming="causal"``) have ``after = 0`` and carry their own state through
:meth:`Separator._estimate_block`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import scipy.fft

from ._stft import STFT
from ._validation import check_audio, check_positive_float, check_positive_int, check_sr
from .exceptions import AudioFileError, ParameterError

__all__ = ["BlockRunner", "separate_file"]


class BlockRunner:
    """Feed audio block by block; get the separated samples that are final so far.

    Made by :meth:`Separator.stream`; see there.  ``process(block)`` and ``flush()`` return
    ``{source name: array}`` with arrays shaped ``(n_channels, m)`` (``(m,)`` when the
    blocks are 1-D mono), ``m`` possibly 0.  After :meth:`flush` the outputs, concatenated,
    have exactly as many samples as the input.
    """

    def __init__(self, separator, sr, n_channels, *, dtype=np.float32):
        separator.check_params()
        separator._check_fitted()
        tags = separator.tags
        if tags.streaming == "offline":
            raise ParameterError(
                f"{type(separator).__name__}: needs the whole signal (tags.streaming="
                "'offline') and cannot run block by block; use separate()"
            )
        if separator.streaming_mode() == "offline":
            raise ParameterError(
                f"wiener_iterations={separator.wiener_iterations!r}: multichannel Wiener "
                "refinement needs the whole signal; use 0 to run block by block"
            )
        self.sr = check_sr(sr)
        self.n_channels = check_positive_int(n_channels, "n_channels")
        separator._check_channels(self.n_channels)
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ParameterError(f"dtype={dtype!r}: must be np.float32 or np.float64")
        self.dtype = np.dtype(dtype)
        self.separator = separator
        self.names = separator.source_names(self.n_channels)
        tf = separator._transform(self.sr)
        self.stft = tf
        before, after = separator.context_frames(self.sr)
        if tags.streaming == "causal":
            after = 0
        self.before, self.after = int(before), int(after)
        self._n_fft, self._hop = tf.n_fft, tf.hop_length
        self._pad = tf.n_fft // 2 if tf.center else 0
        self._frames_tf = STFT(tf.n_fft, tf.hop_length, tf.win_length, tf.window, center=False,
                               workers=1)
        self._window = tf.window.astype(np.float64)
        # frames processed per call at least (amortises Python overhead; >= the context)
        # bounded-context methods wait for 64 frames (their context is paid per call); causal
        # ones process every frame as soon as it exists (latency: one window, no bursts)
        self._min_chunk = 1 if tags.streaming == "causal" else max(1, self.before + self.after,
                                                                    64)
        # and at most this many (bounds the estimate's memory on long blocks)
        self._max_chunk = max(4 * self._min_chunk, 512)
        # --- state
        self._raw = []           # samples received before the start padding could be made
        self._started = False
        self._buf = np.zeros((self.n_channels, 0), self.dtype)  # padded samples from _buf0
        self._buf0 = 0
        self._X = np.zeros((self.n_channels, tf.n_freq, 0), np.result_type(self.dtype, 1j))
        self._X0 = 0             # frame index of _X[..., 0]
        self._t_done = 0         # frames computed
        self._t_out = 0          # frames whose masks are applied
        n_src = len(self.names)
        self._ola = np.zeros((n_src, self.n_channels, 0))  # padded samples from _ola0
        self._wss = np.zeros(0)
        self._ola0 = 0
        self._emitted = 0        # output samples returned so far
        self._n_in = 0
        self._state = None
        self._mono = None
        self._finished = False

    # ------------------------------------------------------------------ public
    def process(self, block) -> dict:
        """Add a block of samples; return the separated samples that are now final."""
        if self._finished:
            raise ParameterError("process(): this runner was flushed; make a new one")
        if isinstance(block, np.ndarray) and block.ndim >= 1 and block.shape[-1] == 0 \
                and block.dtype.kind == "f":
            return self._empty()  # a block of any length, zero included
        block = self._check_block(block)
        self._n_in += block.shape[-1]
        if not self._started:
            self._raw.append(block)
            have = sum(b.shape[-1] for b in self._raw)
            if have <= self._pad:
                return self._empty()
            self._start(np.concatenate(self._raw, axis=-1))
        else:
            self._buf = np.concatenate([self._buf, block], axis=-1)
        self._frames_available(final=False)
        return self._advance(final=False)

    def flush(self) -> dict:
        """End of the signal: return the remaining samples."""
        if self._finished:
            raise ParameterError("flush(): this runner was already flushed")
        self._finished = True
        if self._n_in == 0:
            return self._empty()
        if not self._started:
            self._start(np.concatenate(self._raw, axis=-1))
        if self._pad:
            tail = np.pad(self._buf[:, -(self._pad + 1):], ((0, 0), (0, self._pad)),
                          mode=self.stft.pad_mode)[:, self._pad + 1:]
            if self._buf.shape[-1] < self._pad + 1:  # tiny signal: pad what there is
                tail = np.pad(self._buf, ((0, 0), (0, self._pad)),
                              mode=self.stft.pad_mode)[:, self._buf.shape[-1]:]
            self._buf = np.concatenate([self._buf, tail.astype(self.dtype)], axis=-1)
        self._frames_available(final=True)
        return self._advance(final=True)

    # ------------------------------------------------------------------ internals
    def _empty(self) -> dict:
        shape = (0,) if self._mono else (self.n_channels, 0)
        return {name: np.zeros(shape, self.dtype) for name in self.names}

    def _check_block(self, block) -> np.ndarray:
        block = check_audio(block, "block", cast_to=self.dtype)
        mono = block.ndim == 1
        if self._mono is None:
            self._mono = mono
        if mono and self.n_channels == 1:
            block = block[None]
        if block.ndim != 2 or block.shape[0] != self.n_channels:
            raise ParameterError(
                f"block=<array shape={block.shape}>: must be (n_channels={self.n_channels}, "
                "n_samples) (or (n_samples,) for mono), channel-first"
            )
        return block.astype(self.dtype, copy=False)

    def _start(self, samples: np.ndarray) -> None:
        """Put the centring padding in front of the first samples."""
        self._started = True
        self._raw = []
        if self._pad:
            n_use = min(samples.shape[-1], self._pad + 1)
            head = np.pad(samples[:, :n_use], ((0, 0), (self._pad, 0)),
                          mode=self.stft.pad_mode)[:, : self._pad]
            samples = np.concatenate([head.astype(self.dtype), samples], axis=-1)
        self._buf = samples

    def _frames_available(self, final: bool) -> None:
        """Compute every STFT frame whose samples are all in the buffer."""
        n_fft, hop = self._n_fft, self._hop
        end = self._buf0 + self._buf.shape[-1]
        if end < n_fft:
            if final and self._t_done == 0:
                # shorter than one frame even with padding: zero-pad like the whole STFT would
                self._buf = np.pad(self._buf, ((0, 0), (0, n_fft - end)))
                end = n_fft
            else:
                return
        t_new = 1 + (end - n_fft) // hop
        if t_new > self._t_done:
            lo = self._t_done * hop - self._buf0
            hi = (t_new - 1) * hop + n_fft - self._buf0
            X_new = self._frames_tf._forward(np.ascontiguousarray(self._buf[:, lo:hi]))
            self._X = np.concatenate([self._X, X_new.astype(self._X.dtype, copy=False)],
                                     axis=-1)
            self._t_done = t_new
        # samples before the next frame's start are no longer needed (keep pad + 1 for flush)
        keep_from = min(self._t_done * hop, end - (self._pad + 1)) - self._buf0
        if keep_from > 0:
            self._buf = self._buf[:, keep_from:]
            self._buf0 += keep_from

    def _advance(self, final: bool) -> dict:
        """Masks for the frames whose context is complete; overlap-add; emit final samples.

        At most ``_max_chunk`` frames are estimated at a time, so a long block costs no more
        memory than a short one.
        """
        t_end = self._t_done if final else self._t_done - self.after
        if t_end - self._t_out < (1 if final else self._min_chunk):
            return self._emit(final)
        while self._t_out < t_end:
            self._advance_to(min(t_end, self._t_out + self._max_chunk))
        return self._emit(final)

    def _advance_to(self, t_new: int) -> None:
        lo = max(0, self._t_out - self.before)
        hi = min(self._t_done, t_new + self.after)
        X_ctx = self._X[:, :, lo - self._X0 : hi - self._X0]
        sep = self.separator
        estimate, self._state = sep._estimate_block(X_ctx, sr=self.sr, stft=self.stft,
                                                    state=self._state)
        sep._check_estimate(estimate, self.names)
        from .base import Images, SignalImages

        if not isinstance(estimate, SignalImages) and estimate.wiener_iterations:
            raise ParameterError("wiener_iterations > 0 cannot run block by block")
        a, b = self._t_out - lo, t_new - lo
        if isinstance(estimate, SignalImages):
            raise TypeError("time-domain estimates cannot run block by block")
        if isinstance(estimate, Images):
            images = [np.asarray(estimate.values[n])[..., a:b] for n in estimate.values]
        else:
            masks = sep._masks_of(estimate, X_ctx)
            images = [masks[n][..., a:b] * X_ctx[..., a:b] for n in self.names]
        del X_ctx, estimate
        self._overlap_add(images, self._t_out)
        self._t_out = t_new
        # frames before t_out - before are no longer needed
        drop = max(0, self._t_out - self.before) - self._X0
        if drop > 0:
            self._X = self._X[:, :, drop:]
            self._X0 += drop

    def _overlap_add(self, images: list, t0: int) -> None:
        """Add the windowed inverse FFTs of frames t0, t0+1, ... to the OLA buffers.

        ``images`` is one ``(n_channels, n_freq, n)`` masked STFT per source.  Frames go
        through the inverse FFT 64 at a time (bounded temporaries); when the hop divides
        ``n_fft`` the overlap-add is ``n_fft / hop`` vectorised additions per group instead
        of one per frame.
        """
        n_fft, hop = self._n_fft, self._hop
        n_frames = images[0].shape[-1]
        stop = (t0 + n_frames - 1) * hop + n_fft
        need = stop - self._ola0
        if need > self._ola.shape[-1]:
            grow = need - self._ola.shape[-1]
            self._ola = np.concatenate(
                [self._ola, np.zeros(self._ola.shape[:-1] + (grow,))], axis=-1)
            self._wss = np.concatenate([self._wss, np.zeros(grow)])
        w2 = self._window ** 2
        ratio = n_fft // hop if n_fft % hop == 0 else 0
        for g0 in range(0, n_frames, 64):
            g1 = min(n_frames, g0 + 64)
            n = g1 - g0
            # (J, C, n, n_fft): frames as rows
            frames = np.stack([scipy.fft.irfft(np.swapaxes(img[..., g0:g1], -1, -2), n=n_fft,
                                               axis=-1) for img in images])
            frames *= self._window
            base = (t0 + g0) * hop - self._ola0
            if ratio:
                # frame t, piece r (samples [r hop, (r + 1) hop)) lands on hop-block t + r
                span = (n - 1 + ratio) * hop
                out = self._ola[..., base : base + span].reshape(
                    self._ola.shape[:-1] + (n - 1 + ratio, hop))
                wout = self._wss[base : base + span].reshape(n - 1 + ratio, hop)
                pieces = frames.reshape(frames.shape[:-1] + (ratio, hop))
                w2p = w2.reshape(ratio, hop)
                for r in range(ratio):
                    out[..., r : r + n, :] += pieces[..., :, r, :]
                    wout[r : r + n] += w2p[r]
            else:
                for t in range(n):
                    s = base + t * hop
                    self._ola[..., s : s + n_fft] += frames[..., t, :]
                    self._wss[s : s + n_fft] += w2

    def _emit(self, final: bool) -> dict:
        """Return the output samples that no later frame can change."""
        hop = self._hop
        ready_padded = self._ola0 + self._ola.shape[-1] if final else self._t_out * hop
        ready = min(ready_padded - self._pad, self._n_in)  # output-sample index
        if final:
            ready = self._n_in
        n_out = ready - self._emitted
        if n_out <= 0:
            return self._empty()
        lo = self._emitted + self._pad - self._ola0
        hi = lo + n_out
        avail = self._ola.shape[-1]
        seg = np.zeros(self._ola.shape[:-1] + (n_out,))
        wss = np.zeros(n_out)
        take = max(0, min(hi, avail) - lo)
        seg[..., :take] = self._ola[..., lo : lo + take]
        wss[:take] = self._wss[lo : lo + take]
        tiny = np.finfo(self.dtype).tiny
        np.divide(seg, wss, out=seg, where=wss > tiny)
        self._emitted = ready
        # drop what was emitted
        cut = min(hi, avail)
        if cut > 0:
            self._ola = self._ola[..., cut:]
            self._wss = self._wss[cut:]
            self._ola0 += cut
        out = {}
        for j, name in enumerate(self.names):
            part = seg[j].astype(self.dtype)
            out[name] = part[0] if self._mono else part
        return out


# ---------------------------------------------------------------------------- files
_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE", "VORBIS", "OPUS", "MPEG_LAYER_III")


def _default_format(path: Path) -> str:
    ext = path.suffix.lower().lstrip(".")
    return {"wav": "wav", "flac": "flac", "ogg": "ogg", "aif": "aiff", "aiff": "aiff"}.get(
        ext, "wav")


def separate_file(separator, in_path, out_dir, *, format=None, subtype=None, prefix=None,
                  block_seconds=10.0, progress=None) -> list:
    """See :meth:`Separator.separate_file`."""
    import soundfile as sf

    from .io import ClippingWarning, _check_finite_samples, matching_subtype

    in_path = Path(in_path)
    out_dir = Path(out_dir)
    block_seconds = check_positive_float(block_seconds, "block_seconds")
    separator.check_params()
    separator._check_fitted()
    if not in_path.exists():
        raise AudioFileError(f"{in_path}: no such file")
    if in_path.is_dir():
        raise AudioFileError(f"{in_path}: is a folder, not an audio file")
    try:
        info = sf.info(str(in_path))
    except Exception as exc:  # soundfile raises RuntimeError/LibsndfileError/TypeError
        raise AudioFileError(f"{in_path}: cannot read audio ({exc})") from None
    if info.frames == 0:
        raise AudioFileError(f"{in_path}: contains no samples")
    fmt = format or _default_format(in_path)
    if subtype is None:
        subtype = matching_subtype(fmt, info.subtype)  # the same rule as the command line
    elif not sf.check_format(fmt.upper(), subtype):
        raise ParameterError(f"subtype={subtype!r}: not available for format {fmt!r}")
    prefix = f"{in_path.stem}_" if prefix is None else prefix
    names = separator.source_names(info.channels)
    targets = [out_dir / f"{prefix}{name}.{fmt}" for name in names]
    for target in targets:
        if target.resolve() == in_path.resolve():
            raise ParameterError(f"{target}: the output would overwrite the input {in_path}")
    out_dir.mkdir(parents=True, exist_ok=True)
    if separator.streaming_mode() == "offline":
        from .io import load

        y, sr = load(in_path)
        result = separator.separate(y, sr)
        return result.save(out_dir, fmt, prefix=prefix, subtype=subtype)

    sr = info.samplerate
    block = max(1, int(round(block_seconds * sr)))
    total = info.frames
    runner = separator.stream(sr, info.channels)
    temps = {}
    peaks = dict.fromkeys(names, 0.0)
    writers = {}
    try:
        for name in names:  # float temporaries: nothing is clipped while the peak is unknown
            fd, tmp = tempfile.mkstemp(prefix=f".{prefix}{name}.", suffix=".tmp.wav",
                                       dir=out_dir)
            os.close(fd)
            temps[name] = Path(tmp)
            writers[name] = sf.SoundFile(tmp, "w", sr, info.channels, subtype="FLOAT",
                                         format="RF64")
        done = 0

        def write(parts):
            for name, part in parts.items():
                if part.shape[-1]:
                    peaks[name] = max(peaks[name], float(np.max(np.abs(part))))
                    writers[name].write(part.T)

        try:
            reader = sf.SoundFile(str(in_path))
        except Exception as exc:
            raise AudioFileError(f"{in_path}: cannot read audio ({exc})") from None
        with reader:
            while True:
                data = reader.read(block, dtype="float32", always_2d=True)
                if data.shape[0] == 0:
                    break
                _check_finite_samples(in_path, data, sr, offset=done,
                                      partial=done + data.shape[0] < total)
                write(runner.process(np.ascontiguousarray(data.T)))
                done += data.shape[0]
                if progress is not None:
                    progress(done / sr, total / sr)
        write(runner.flush())
        for w in writers.values():
            w.close()
        # final files: convert from the float temporaries, block by block
        out_subtype = subtype or sf.default_subtype(fmt.upper())
        integer = out_subtype not in _FLOAT_SUBTYPES and not out_subtype.startswith("FLOAT")
        peak = max(peaks.values())
        gain = 1.0
        if integer and peak > 1.0:
            if sf.check_format(fmt.upper(), "FLOAT"):
                warnings.warn(
                    f"{in_path}: the sources peak at {peak:.3g}, beyond the [-1, 1] range of "
                    f"{out_subtype}, which would clip; all of them are written as FLOAT",
                    ClippingWarning, stacklevel=3)
                out_subtype = "FLOAT"
            else:
                gain = 1.0 / peak
                warnings.warn(
                    f"{in_path}: the sources peak at {peak:.3g}, beyond the [-1, 1] range of "
                    f"{out_subtype}, and {fmt} has no float subtype; all of them are scaled "
                    f"by {gain:.6g} (they sum to the mixture times {gain:.6g})",
                    ClippingWarning, stacklevel=3)
        written = []
        for name, target in zip(names, targets):
            fd, final_tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".{fmt}",
                                             dir=out_dir)
            os.close(fd)
            try:
                with sf.SoundFile(str(temps[name])) as src, sf.SoundFile(
                    final_tmp, "w", sr, info.channels, subtype=out_subtype,
                    format=fmt.upper()) as dst:
                    while True:
                        part = src.read(block, dtype="float32", always_2d=True)
                        if part.shape[0] == 0:
                            break
                        dst.write(part * gain if gain != 1.0 else part)
                _set_umask_mode(final_tmp)
                os.replace(final_tmp, target)
            except BaseException:
                Path(final_tmp).unlink(missing_ok=True)
                raise
            written.append(target)
        return written
    finally:
        for w in writers.values():
            if not w.closed:
                w.close()
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)


def _set_umask_mode(path) -> None:
    """Give a file made by mkstemp (mode 0600) the mode a plain open() would: 0666 & ~umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _progress_printer(label: str):
    """A ``progress`` callable that prints one line per block on stderr."""

    def report(done, total):
        pct = 100.0 * done / total if total else 100.0
        print(f"{label}: {done:.0f} / {total:.0f} s ({pct:.0f}%)", file=sys.stderr, flush=True)

    return report
