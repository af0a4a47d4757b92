"""Datasets of mixtures with their true stems, read one track at a time.

Two layouts are read:

Folder of track folders (:class:`FolderDataset`, the MUSDB18-HQ layout)::

    root/
      Track A/
        mixture.wav          <- mixture.<ext>, any format soundfile reads
        vocals.wav           <- one file per stem, named after the stem
        drums.wav
        ...                  (stems may also sit in a stems/ subfolder)
      Track B/
        ...

  For MUSDB18-HQ, point ``root`` at its ``train`` or ``test`` folder.  The
  ``"accompaniment"`` stem (everything but the vocals) is derived on request.

Manifest (:class:`ManifestDataset`): a JSON file listing, for each track, the mixture file
and one file per stem, with paths relative to the manifest's folder — the layout of this
project's evaluation corpus.

A :class:`Track` holds paths only; :meth:`Track.load` reads the audio (float32,
channel-first) after checking from the file headers that every stem has the mixture's
sampling rate, length and channel count, so a bad file is named before anything big is
read.  Iterating over a dataset yields tracks, so an evaluation holds one track in memory
at a time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._validation import check_bool, describe
from .exceptions import AudioFileError, ParameterError

__all__ = ["AUDIO_EXTENSIONS", "Track", "FolderDataset", "ManifestDataset", "open_dataset"]

#: File extensions recognised as audio when a folder is scanned.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")

#: Name of the derived stem "everything but the vocals" (MUSDB18 convention).
ACCOMPANIMENT = "accompaniment"
_VOCALS = "vocals"


@dataclass(frozen=True)
class Track:
    """One item of a dataset: a mixture file and one file per stem.

    Attributes
    ----------
    name : str
        Track name (folder name, or the manifest's item id).
    mixture : pathlib.Path
        The mixture file.
    stems : dict of str to pathlib.Path or tuple of pathlib.Path
        Stem name -> file, in the dataset's stem order.  A tuple of files is a derived stem,
        the sum of those files (e.g. MUSDB18's accompaniment: drums + bass + other).
    meta : dict
        Anything else the dataset knows about the track (the manifest entry).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> import dsp_separate as ds
    >>> from dsp_separate.datasets import Track
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> a = np.full((2, 800), 0.25, dtype=np.float32)
    >>> ds.save(folder / "a.wav", a, 8000); ds.save(folder / "mix.wav", 2 * a, 8000)
    >>> track = Track("demo", folder / "mix.wav", {"a": folder / "a.wav"})
    >>> mixture, stems, sr = track.load()
    >>> mixture.shape, list(stems), sr, float(stems["a"][0, 0])
    ((2, 800), ['a'], 8000, 0.25)
    """

    name: str
    mixture: Path
    stems: dict
    meta: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def stem_names(self) -> tuple:
        """Names of the stems :meth:`load` returns, in order."""
        return tuple(self.stems)

    def _stem_files(self):
        """``(stem name, path)`` for every file a stem is read from."""
        for name, paths in self.stems.items():
            for path in paths if isinstance(paths, tuple) else (paths,):
                yield name, Path(path)

    def check(self) -> dict:
        """Check the files from their headers, without reading the audio.

        Returns
        -------
        info : dict
            ``{"sr": int, "channels": int, "n_samples": int}`` of the mixture.

        Raises
        ------
        AudioFileError
            A file is missing or unreadable, or a stem's sampling rate, length or channel
            count differs from the mixture's; the message names the file.
        """
        import soundfile as sf

        def header(path: Path):
            if not path.is_file():
                raise AudioFileError(f"{path}: no such file (track {self.name!r})")
            try:
                return sf.info(str(path))
            except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
                raise AudioFileError(f"{path}: cannot be read as audio ({exc})") from None

        mix = header(Path(self.mixture))
        for name, path in self._stem_files():
            info = header(path)
            for what, got, want in (
                ("sampling rate", f"{info.samplerate} Hz", f"{mix.samplerate} Hz"),
                ("length", f"{info.frames} samples", f"{mix.frames} samples"),
                ("channel count", f"{info.channels} channel(s)", f"{mix.channels} channel(s)"),
            ):
                if got != want:
                    raise AudioFileError(
                        f"{path}: stem {name!r} of track {self.name!r} has {what} {got}, but "
                        f"the mixture {self.mixture} has {want}"
                    )
        return {"sr": int(mix.samplerate), "channels": int(mix.channels),
                "n_samples": int(mix.frames)}

    def load(self):
        """Read the mixture and the stems.

        Returns
        -------
        mixture : ndarray, shape (n_channels, n_samples), float32
        stems : dict of str to ndarray, each shape (n_channels, n_samples), float32
            In :attr:`stem_names` order; a derived stem is the sum of its files.
        sr : int
            Sampling rate in Hz.

        Raises
        ------
        AudioFileError
            As :meth:`check`: a missing file, or a stem whose sampling rate, length or
            channel count differs from the mixture's, named in the message.
        """
        from .io import load

        self.check()
        mixture, sr = load(self.mixture)
        stems = {}
        for name, paths in self.stems.items():
            if isinstance(paths, tuple):
                total = np.zeros_like(mixture)
                for path in paths:
                    total += load(path)[0]
                stems[name] = total
            else:
                stems[name] = load(paths)[0]
        return mixture, stems, sr


def _audio_files(folder: Path) -> dict:
    """``{stem: path}`` of the audio files directly in ``folder`` (lower-case extension)."""
    found = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith(".") and (
            path.suffix.lower() in AUDIO_EXTENSIONS
        ):
            if path.stem in found:
                raise AudioFileError(
                    f"{path}: two files for {path.stem!r} in {folder} ({found[path.stem].name} "
                    "and this one); keep one"
                )
            found[path.stem] = path
    return found


def _check_stems(stems, name="stems"):
    if stems is None:
        return None
    if isinstance(stems, str):
        stems = (stems,)
    try:
        stems = tuple(stems)
    except TypeError:
        raise ParameterError(
            f"{name}={describe(stems)}: must be a sequence of stem names"
        ) from None
    if not stems or not all(isinstance(s, str) and s for s in stems):
        raise ParameterError(f"{name}={stems!r}: must be non-empty stem names")
    if len(set(stems)) != len(stems):
        raise ParameterError(f"{name}={stems!r}: names repeat")
    return stems


class _Dataset:
    """Shared behaviour: a sequence of :class:`Track` objects."""

    tracks: list

    def __iter__(self):
        return iter(self.tracks)

    def __len__(self) -> int:
        return len(self.tracks)

    def __getitem__(self, key):
        """A track by position or by name."""
        if isinstance(key, str):
            for track in self.tracks:
                if track.name == key:
                    return track
            raise KeyError(f"no track named {key!r} in {self!r}")
        return self.tracks[key]

    @property
    def names(self) -> tuple:
        """Track names, in order."""
        return tuple(t.name for t in self.tracks)

    def check(self) -> None:
        """Check every track's files from their headers (see :meth:`Track.check`)."""
        for track in self.tracks:
            track.check()


class FolderDataset(_Dataset):
    """A folder of track folders, each with ``mixture.<ext>`` and one file per stem.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding one folder per track (hidden folders and folders without any
        audio file are skipped).  Stem files are looked for in each track folder and in
        its ``stems/`` subfolder.
    stems : sequence of str, optional
        Stems to load, in this order; every track must have them.  Default: every audio
        file other than the mixture, in alphabetical order (the stems of the first track;
        every other track must have the same ones).
    accompaniment : bool, default False
        Also give an ``"accompaniment"`` stem (after the others): the sum of every stem file
        except ``vocals`` (MUSDB18's accompaniment), or the ``accompaniment`` file if the
        track has one.  Naming ``"accompaniment"`` in ``stems`` derives it too.

    Raises
    ------
    AudioFileError
        No track folder is found, a track folder has no ``mixture.<ext>`` or lacks a stem;
        the message names the folder or file.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> import dsp_separate as ds
    >>> from dsp_separate.datasets import FolderDataset
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for song in ["song A", "song B"]:
    ...     (root / song).mkdir()
    ...     parts = {n: 0.1 * rng.standard_normal((2, 4000)) for n in ["vocals", "drums"]}
    ...     for n, x in parts.items():
    ...         ds.save(root / song / f"{n}.wav", x, 8000, subtype="FLOAT")
    ...     ds.save(root / song / "mixture.wav", sum(parts.values()), 8000, subtype="FLOAT")
    >>> data = FolderDataset(root, stems=["vocals", "accompaniment"])
    >>> data.names, data[0].stem_names
    (('song A', 'song B'), ('vocals', 'accompaniment'))
    >>> mixture, stems, sr = data[0].load()
    >>> bool(np.allclose(stems["vocals"] + stems["accompaniment"], mixture, atol=1e-6))
    True
    """

    def __init__(self, root, stems=None, accompaniment=False):
        self.root = Path(root)
        self.stems = _check_stems(stems)
        self.accompaniment = check_bool(accompaniment, "accompaniment")
        if not self.root.is_dir():
            raise AudioFileError(f"{self.root}: no such folder")
        self.tracks = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if folder.name.startswith("."):
                continue
            track = self._track(folder)
            if track is not None:
                self.tracks.append(track)
        if not self.tracks:
            raise AudioFileError(
                f"{self.root}: no track folders (folders holding mixture.<ext> and one file "
                "per stem) found; for MUSDB18-HQ give its train/ or test/ folder"
            )

    def __repr__(self) -> str:
        return (f"FolderDataset({str(self.root)!r}, stems={self.stems!r}, "
                f"accompaniment={self.accompaniment!r}) with {len(self.tracks)} tracks")

    def _track(self, folder: Path):
        files = _audio_files(folder / "stems")
        for name, path in _audio_files(folder).items():
            if name in files:
                raise AudioFileError(
                    f"{path}: {name!r} is both here and in {folder / 'stems'}; keep one"
                )
            files[name] = path
        if not files:
            return None
        mixture = files.pop("mixture", None)
        if mixture is None:
            exts = "|".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)
            raise AudioFileError(
                f"{folder / 'mixture'}.<{exts}>: missing; a track folder needs a mixture "
                f"file (found {', '.join(sorted(files))})"
            )
        if not files:
            raise AudioFileError(f"{folder}: has {mixture.name} but no stem files")
        wanted = self.stems
        if wanted is None:
            wanted = tuple(files)
            if self.tracks:
                first = set(self.tracks[0].stems) - {ACCOMPANIMENT}
                if set(wanted) - {ACCOMPANIMENT} != first:
                    raise AudioFileError(
                        f"{folder}: stems {sorted(wanted)} differ from those of the first "
                        f"track {sorted(first)}; pass stems= to choose"
                    )
        if self.accompaniment and ACCOMPANIMENT not in wanted:
            wanted = wanted + (ACCOMPANIMENT,)
        stems = {}
        for name in wanted:
            if name in files:
                stems[name] = files[name]
            elif name == ACCOMPANIMENT:
                if _VOCALS not in files:
                    raise AudioFileError(
                        f"{folder / _VOCALS}.<ext>: missing; the accompaniment is derived "
                        "as the sum of every stem but the vocals"
                    )
                parts = tuple(path for n, path in files.items() if n != _VOCALS)
                if not parts:
                    raise AudioFileError(
                        f"{folder}: no stem besides vocals to make the accompaniment from"
                    )
                stems[name] = parts
            else:
                raise AudioFileError(
                    f"{folder / name}.<ext>: missing; track {folder.name!r} has the stems "
                    f"{', '.join(sorted(files)) or '(none)'}"
                )
        return Track(folder.name, mixture, stems)


class ManifestDataset(_Dataset):
    """Tracks listed in a JSON manifest.

    Two manifest layouts are read (paths relative to the manifest's folder):

    * this project's corpus: ``{"tasks": {task: {"items": [item, ...]}}}`` where each item
      has an ``"id"`` and ``"files": {"mixture": {"path": ...}, "stems": {name: {"path":
      ...}}}``;
    * a plain list: ``{"tracks": [track, ...]}`` (or a bare JSON list) where each track has
      a ``"name"``, ``"mixture": path`` and ``"stems": {name: path}`` (a path may also be
      ``{"path": ...}``).

    Parameters
    ----------
    manifest_path : str or os.PathLike
        The JSON file.
    task : str or sequence of str, optional
        Corpus manifests only: the task(s) to read; default every task.
    stems : sequence of str, optional
        Stems to load, in this order; default every stem of each item.

    Raises
    ------
    AudioFileError
        The manifest cannot be read or an item lacks a mixture or a requested stem.
    ParameterError
        ``task`` names no task of the manifest.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.datasets import ManifestDataset
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> x = np.zeros(800, dtype=np.float32)
    >>> for name in ["mix", "speech", "noise"]:
    ...     ds.save(root / f"{name}.flac", x, 8000)
    >>> manifest = {"tracks": [{"name": "one", "mixture": "mix.flac",
    ...                         "stems": {"speech": "speech.flac", "noise": "noise.flac"}}]}
    >>> _ = (root / "manifest.json").write_text(json.dumps(manifest))
    >>> data = ManifestDataset(root / "manifest.json")
    >>> data.names, data[0].stem_names
    (('one',), ('speech', 'noise'))
    """

    def __init__(self, manifest_path, task=None, stems=None):
        self.manifest_path = Path(manifest_path)
        self.stems = _check_stems(stems)
        self.task = task
        self._tasks = None if task is None else _check_stems(task, "task")
        try:
            content = json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            raise AudioFileError(f"{self.manifest_path}: no such file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AudioFileError(f"{self.manifest_path}: not a readable JSON manifest "
                                 f"({exc})") from None
        base = self.manifest_path.parent
        self.tracks = [self._track(item, base) for item in self._items(content)]
        if not self.tracks:
            raise AudioFileError(f"{self.manifest_path}: lists no tracks")

    def __repr__(self) -> str:
        return (f"ManifestDataset({str(self.manifest_path)!r}, task={self.task!r}, "
                f"stems={self.stems!r}) with {len(self.tracks)} tracks")

    def _items(self, content):
        where = self.manifest_path
        if isinstance(content, Mapping) and "tasks" in content:
            tasks = content["tasks"]
            if not isinstance(tasks, Mapping):
                raise AudioFileError(f"{where}: 'tasks' must map task names to tasks")
            chosen = self._tasks if self._tasks is not None else tuple(tasks)
            unknown = [t for t in chosen if t not in tasks]
            if unknown:
                raise ParameterError(
                    f"task={unknown[0]!r}: not in {where}; tasks: {', '.join(tasks)}"
                )
            return [item for t in chosen for item in tasks[t].get("items", [])]
        if self.task is not None:
            raise ParameterError(f"task={self.task!r}: {where} has no 'tasks' to choose from")
        if isinstance(content, Mapping):
            content = content.get("tracks", content.get("items"))
        if not isinstance(content, list):
            raise AudioFileError(
                f"{where}: expected {{'tasks': ...}}, {{'tracks': [...]}} or a list of tracks"
            )
        return content

    def _track(self, item, base: Path) -> Track:
        where = self.manifest_path
        if not isinstance(item, Mapping):
            raise AudioFileError(f"{where}: a track entry is not a JSON object: {item!r:.60}")
        name = item.get("id", item.get("name"))
        if not isinstance(name, str) or not name:
            raise AudioFileError(f"{where}: a track entry has no 'id' or 'name'")
        files = item.get("files", item)
        mixture = files.get("mixture") if isinstance(files, Mapping) else None
        stems = files.get("stems") if isinstance(files, Mapping) else None
        if mixture is None:
            raise AudioFileError(f"{where}: track {name!r} lists no mixture file")
        if not isinstance(stems, Mapping) or not stems:
            raise AudioFileError(f"{where}: track {name!r} lists no stems")

        def path_of(entry, label):
            if isinstance(entry, Mapping):
                entry = entry.get("path")
            if not isinstance(entry, str) or not entry:
                raise AudioFileError(f"{where}: track {name!r}: {label} has no path")
            return base / entry

        stem_paths = {k: path_of(v, f"stem {k!r}") for k, v in stems.items()}
        if self.stems is not None:
            missing = [s for s in self.stems if s not in stem_paths]
            if missing:
                raise AudioFileError(
                    f"{where}: track {name!r} has no stem {missing[0]!r}; it has "
                    f"{', '.join(stem_paths)}"
                )
            stem_paths = {s: stem_paths[s] for s in self.stems}
        return Track(name, path_of(mixture, "the mixture"), stem_paths, meta=dict(item))


def open_dataset(path, *, task=None, stems=None, accompaniment=False):
    """A dataset from a path: a manifest file, a folder holding ``manifest.json``, or a
    folder of track folders.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.json`` manifest; a folder with a ``manifest.json`` (read as a
        :class:`ManifestDataset`); otherwise a :class:`FolderDataset` root.
    task : str or sequence of str, optional
        Manifest datasets: the task(s) to read.
    stems : sequence of str, optional
        Stems to load.
    accompaniment : bool, default False
        Folder datasets: derive the ``"accompaniment"`` stem.

    Returns
    -------
    FolderDataset or ManifestDataset

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.datasets import open_dataset
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "track1").mkdir()
    >>> for name in ["mixture", "speech", "noise"]:
    ...     ds.save(root / "track1" / f"{name}.wav", np.zeros(800, np.float32), 8000)
    >>> data = open_dataset(root)
    >>> type(data).__name__, data.names, data[0].stem_names
    ('FolderDataset', ('track1',), ('noise', 'speech'))
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".json":
        manifest = path
    elif path.is_dir() and (path / "manifest.json").is_file():
        manifest = path / "manifest.json"
    else:
        manifest = None
    if manifest is not None:
        if accompaniment:
            raise ParameterError("accompaniment=True: only folder datasets derive stems")
        return ManifestDataset(manifest, task=task, stems=stems)
    if task is not None:
        raise ParameterError(f"task={task!r}: only manifest datasets have tasks ({path} has "
                             "no manifest.json)")
    return FolderDataset(path, stems=stems, accompaniment=accompaniment)
