"""The ``dsp-separate`` command.

::

    dsp-separate list                               one line per method
    dsp-separate demo [-o DIR]                      synthesise, separate, score (SI-SDR)
    dsp-separate hpss INPUT [INPUT ...] -o OUTDIR [--kernel-size N --margin M ...]
    dsp-separate evaluate METHOD DATASET [--stems ...] [-o results.csv] [--oracle]

Every separator in :func:`dsp_separate.available_separators` (except the oracles) gets a
sub-command whose options are its constructor parameters (``kernel_size`` ->
``--kernel-size``; pairs as ``31,17``) plus the STFT options.  Output files are
``OUTDIR/<label>_<source>.<format>``, where the label is the input's stem, lengthened with its
parent folders where two inputs share a stem.  Progress goes to stderr, the written paths to
stdout; bad input exits with status 2 and one line on stderr naming the file.

Start-up is cheap: the parser is built from the separators' source text (:mod:`ast`, no
import), so argument and file checks run before numpy, scipy or numba are imported; only
``--help`` of a method imports that method, for its parameter descriptions and choices.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import stat
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from ._formats import FORMATS, SUBTYPES  # imports nothing: checks stay light

__all__ = ["main"]

PROG = "dsp-separate"
_STFT_OPTIONS = ("n_fft", "hop_length", "win_length", "window")
#: Inputs longer than this many seconds get progress lines while they are separated.
LONG_INPUT_SECONDS = 60.0
#: Seconds between two "still running" lines for a long input.
HEARTBEAT_SECONDS = 15.0
#: Peak memory of a separation through this command, as a multiple of the input's float32
#: size, for methods that hold the whole signal: a class's ``memory_factor`` if it has one,
#: else measured here (peak RSS over the interpreter's, 2- and 5-minute stereo 44.1 kHz
#: inputs: hpss 11.4x, wiener 24x), else ``DEFAULT_MEMORY_FACTOR``.
MEMORY_FACTORS = {"hpss": 12, "wiener": 24}
DEFAULT_MEMORY_FACTOR = 20


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message} (see --help)")


def _parse_value(text: str):
    """'31' -> 31, '2.5' -> 2.5, '31,17' -> (31, 17), 'none' -> None, 'inf' -> inf."""
    if "," in text:
        return tuple(_parse_value(part) for part in text.split(","))
    low = text.strip().lower()
    if low == "none":
        return None
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


# --------------------------------------------------------------------------- help text
_ROLE = re.compile(r":(?:[a-z]+:)?[a-z]+:`~?([^`]*)`")
_TEX = {"ge": ">=", "geq": ">=", "le": "<=", "leq": "<=", "times": "x", "cdot": "*",
        "infty": "inf", "to": "->", "varepsilon": "epsilon", "in": "in", "sum": "sum",
        # font and accent commands: their argument alone (\mathrm{DFT} -> DFT)
        "mathrm": "", "operatorname": "", "text": "", "mathbf": "", "hat": "",
        "tilde": "", "bar": ""}


def _plain(text: str) -> str:
    """Sphinx/numpydoc markup -> plain words: roles, backquotes, TeX commands, braces."""
    text = _ROLE.sub(lambda m: m.group(1), text)
    text = text.replace("``", "").replace("`", "")
    text = text.replace("\\{", "(").replace("\\}", ")")  # TeX's literal braces
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _TEX.get(m.group(1), m.group(1)), text)
    text = re.sub(r"[{}]", "", text).replace("\\", "")
    return " ".join(text.split())


def _param_doc(doc: str, param: str) -> tuple[str, tuple]:
    """``param``'s description in a numpydoc docstring as plain text, and the choices its type
    line lists (``mask : {"soft", "binary"}``), or ``()``."""
    lines = (doc or "").splitlines()
    for i, line in enumerate(lines):
        head = line.strip()
        if head == param or head.startswith(param + " :"):
            choices = ()  # only where the type is the set alone: "{...}[, default ...]"
            found = re.match(r"\{([^}]*)\}\s*(,.*)?$", head.partition(" :")[2].strip())
            if found:
                try:
                    choices = tuple(ast.literal_eval(f"({found.group(1)},)"))
                except (ValueError, SyntaxError):
                    choices = ()
            indent = len(line) - len(line.lstrip())
            body = []
            for nxt in lines[i + 1:]:
                if not nxt.strip() or len(nxt) - len(nxt.lstrip()) <= indent:
                    break
                body.append(nxt.strip())
            return _plain(" ".join(body)), choices
    return "", ()


def _say(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _emit(line: str) -> None:
    """Print a result line to stdout; a closed pipe silences stdout instead of failing."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """Point stdout at /dev/null so no later write (or the flush at exit) raises EPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- method table
@dataclass(frozen=True)
class _MethodInfo:
    """What the parser needs of a separator, read from its source without importing it."""

    name: str
    summary: str
    needs_references: bool
    params: tuple | None  # constructor parameter names; None: not readable from the source
    choices: dict  # parameter -> allowed values (param_choices, or the docstring's {...})
    needs_score: bool = False  # score-informed: the sub-command takes --score FILE


def _literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _class_facts(node: ast.ClassDef, classes: dict, seen=()) -> dict:
    """Class attributes (literals), the needs_references tag and ``__init__`` parameters of a
    class, merged over its bases defined in the same module."""
    facts = {"params": None, "attrs": {}, "needs_references": False, "needs_score": False,
             "doc": ""}
    known_base = True
    for base in node.bases:
        base_name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
        if base_name in classes and base_name not in seen:
            inherited = _class_facts(classes[base_name], classes, seen + (node.name,))
            facts["attrs"].update(inherited["attrs"])
            facts["needs_references"] = inherited["needs_references"]
            facts["needs_score"] = inherited["needs_score"]
            facts["params"] = inherited["params"]
            facts["doc"] = inherited["doc"]
            known_base = known_base and inherited["params"] is not None
        elif base_name not in ("Separator", "BaseEstimator", "object"):
            known_base = False
    if not known_base:
        facts["params"] = None
    facts["doc"] = ast.get_docstring(node) or facts["doc"]
    for item in node.body:
        if isinstance(item, (ast.Assign, ast.AnnAssign)):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            for target in targets:
                if isinstance(target, ast.Name) and item.value is not None:
                    facts["attrs"][target.id] = _literal(item.value)
                    if target.id == "needs_references":
                        facts["needs_references"] = _literal(item.value) is True
            for sub in ast.walk(item.value) if item.value is not None else ():
                if isinstance(sub, ast.keyword) and sub.arg in ("needs_references",
                                                                 "needs_score"):
                    facts[sub.arg] = _literal(sub.value) is True
        elif isinstance(item, ast.FunctionDef) and item.name == "__init__":
            args = item.args
            if args.vararg is not None or args.kwarg is not None:
                facts["params"] = None
            else:
                every = args.posonlyargs + args.args + args.kwonlyargs
                facts["params"] = tuple(a.arg for a in every[1:])
    return facts


def _method_table() -> dict:
    """``{name: _MethodInfo}`` for every separator, read with :mod:`ast` (no imports)."""
    folder = Path(__file__).parent / "separators"
    table = {}
    for file in sorted(folder.glob("*.py")):
        if file.name.startswith("_"):
            continue
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        for cname, node in classes.items():
            if cname.startswith("_"):
                continue
            facts = _class_facts(node, classes)
            name = facts["attrs"].get("name")
            if isinstance(name, str) and name:
                summary = facts["attrs"].get("summary")
                declared = facts["attrs"].get("param_choices")
                declared = declared if isinstance(declared, dict) else {}
                choices = {}
                for param in facts["params"] or ():
                    found = tuple(declared.get(param, ())) or _param_doc(facts["doc"], param)[1]
                    if found:
                        choices[param] = found
                table[name] = _MethodInfo(name, summary if isinstance(summary, str) else "",
                                          facts["needs_references"], facts["params"], choices,
                                          facts["needs_score"])
    return dict(sorted(table.items()))


def _tag(cls, name: str, default):
    """A class tag: ``cls.tags.<name>`` where the class has tags, else ``cls.<name>``."""
    tags = getattr(cls, "tags", None)
    if tags is not None and hasattr(tags, name):
        return getattr(tags, name)
    return getattr(cls, name, default)


# --------------------------------------------------------------------------- methods
def _add_common_options(p, name: str, needs_score: bool = False) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="audio file(s) to separate (any format libsndfile reads)")
    if needs_score:
        p.add_argument("--score", required=True, metavar="FILE", action="append",
                       help="the score of the input(s): a CSV file of rows source,onset_s,"
                            "offset_s,midi_pitch; or a standard MIDI file with one source per "
                            "track that has notes (track_0, track_1, ...); or --score once per "
                            "source, one MIDI file each (the source is named by the file)")
    p.add_argument("-o", "--outdir", required=True,
                   help="folder for the separated files (created if missing)")
    p.add_argument("--format", default="wav", choices=FORMATS,
                   help="output file format (default: wav)")
    p.add_argument("--subtype", default=None, type=str.upper,
                   choices=sorted({s for subs in SUBTYPES.values() for s in subs}),
                   help="output sample format; default: the input's (24-bit in, 24-bit out, "
                        "float in, float out) where the output format has it, else 16-bit")
    p.add_argument("--sr", type=int, default=None,
                   help="resample the input to this rate in Hz first (default: keep it)")
    p.add_argument("--model", default=None, metavar="FILE",
                   help="a trained separator written by dsp_separate.save_model (methods "
                        "that learn from examples need one); options given here override "
                        "its parameters")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=_run_method, method=name)


def _add_stft_options(p) -> None:
    stft = p.add_argument_group(
        "STFT", "without these options the method's own STFT is used: 2048/512 samples for "
                "most, a length in milliseconds for speech enhancement and IVA")
    stft.add_argument("--n-fft", type=int, default=None,
                      help="FFT length in samples (default: 2048 when any STFT option is "
                           "given)")
    stft.add_argument("--hop-length", type=int, default=None,
                      help="samples between two frames (default: a quarter of the FFT "
                           "length)")
    stft.add_argument("--win-length", type=int, default=None,
                      help="window length in samples (default: the FFT length)")
    stft.add_argument("--window", default=None,
                      help="window name, e.g. hann, hamming, blackman (default: hann)")


def _stft_given(args) -> bool:
    return any(getattr(args, k, None) is not None for k in _STFT_OPTIONS)


def _stft_from_args(args):
    """The STFT the options ask for (defaults 2048 / n_fft // 4 / n_fft / hann)."""
    from ._stft import STFT

    n_fft = args.n_fft if args.n_fft is not None else 2048
    hop = args.hop_length if args.hop_length is not None else max(n_fft // 4, 1)
    return STFT(n_fft=n_fft, hop_length=hop, win_length=args.win_length,
                window=args.window if args.window is not None else "hann")


#: Option names the command line gives every method; a method parameter may not reuse them.
_RESERVED = frozenset({"inputs", "outdir", "format", "subtype", "sr", "model", "quiet",
                       "n_fft", "hop_length", "win_length", "window", "help"})
#: Parameters that only make sense from Python (a function); the command line leaves them out.
_PYTHON_ONLY = frozenset({"stft", "callback"})


def _check_param_name(method: str, param: str) -> None:
    if param in _RESERVED:
        raise RuntimeError(
            f"method {method!r} has a parameter {param!r}, which is also an option every "
            f"sub-command has (--{param.replace('_', '-')}); rename the parameter"
        )


def _add_light_method_parser(sub, info: _MethodInfo) -> None:
    """The sub-command of a method from its source text: same options, short help."""
    p = sub.add_parser(info.name, help=info.summary, description=f"{info.name}: {info.summary}")
    _add_common_options(p, info.name, info.needs_score)
    group = p.add_argument_group(f"{info.name} parameters")
    for param in info.params:
        if param not in _PYTHON_ONLY:
            _check_param_name(info.name, param)
            group.add_argument("--" + param.replace("_", "-"), dest=f"param_{param}",
                               type=_parse_value, default=argparse.SUPPRESS, metavar="VALUE",
                               choices=info.choices.get(param))
    if "stft" in info.params:
        _add_stft_options(p)


def _add_method_parser(sub, name, cls) -> None:
    """The sub-command of a method from the class itself, with full help texts."""
    import inspect

    summary = getattr(cls, "summary", "")
    p = sub.add_parser(name, help=summary, description=f"{name}: {summary}")
    _add_common_options(p, name, cls.tags.needs_score)
    group = p.add_argument_group(f"{name} parameters")
    declared = getattr(cls, "param_choices", {}) or {}
    signature = inspect.signature(cls.__init__).parameters
    for param in signature.values():
        if param.name == "self" or param.name in _PYTHON_ONLY or param.kind in (
                param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        _check_param_name(name, param.name)
        desc, doc_choices = _param_doc(cls.__doc__, param.name)
        choices = tuple(declared.get(param.name, ())) or doc_choices
        words = [desc] if desc else []
        if choices:
            words.append("choices: " + ", ".join(str(c) for c in choices) + ";")
        default = "none" if param.default is None else _format_default(param.default)
        words.append(f"default: {default}")
        group.add_argument(
            "--" + param.name.replace("_", "-"),
            dest=f"param_{param.name}",
            type=_parse_value,
            default=argparse.SUPPRESS,
            choices=choices or None,
            metavar="{" + ",".join(str(c) for c in choices) + "}" if choices else "VALUE",
            help=" ".join(words).replace("%", "%%"),
        )
    if "stft" in signature:
        _add_stft_options(p)


def _format_default(value) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _input_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as an audio file, or None; stat calls only."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such file"
    except PermissionError:
        return "permission denied (cannot look into its folder)"
    except OSError as exc:
        return exc.strerror or str(exc)
    if stat.S_ISDIR(mode):
        return "is a folder, not an audio file (give the files in it, e.g. folder/*.wav)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not an audio file"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a pipe or socket); save the audio to a file first"
    if path.stat().st_size == 0:
        return "the file is empty"
    if not os.access(path, os.R_OK):
        return "permission denied (the file is not readable)"
    return None


def _check_outdir(outdir: Path) -> None:
    """Refuse an ``-o`` that is a file or cannot be created or written, before any work."""
    if outdir.exists():
        if not outdir.is_dir():
            raise _UsageError(f"{PROG}: error: -o {outdir}: must be a folder, not a file")
        if not os.access(outdir, os.W_OK | os.X_OK):
            raise _UsageError(f"{PROG}: error: -o {outdir}: the folder is not writable")
        return
    ancestor = outdir.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _UsageError(f"{PROG}: error: -o {outdir}: cannot be created: {ancestor} is a "
                          "file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise _UsageError(f"{PROG}: error: -o {outdir}: cannot be created: the folder "
                          f"{ancestor} is not writable")


def _output_labels(inputs: list) -> list:
    """A distinct file-name label per input: its stem, lengthened with parent folders (and,
    in one folder, the extension) only where two inputs would share a label.

    ``a/mixture.flac, b/mixture.flac -> a_mixture, b_mixture``; ``x/song.wav,
    x/song.flac -> song_wav, song_flac``.
    """
    parents = [path.absolute().parent.parts[1:] for path in inputs]
    depth = [0] * len(inputs)
    with_ext = [False] * len(inputs)

    def label(i):
        path = inputs[i]
        parts = list(parents[i][len(parents[i]) - depth[i]:]) if depth[i] else []
        text = "_".join(parts + [path.stem])
        return f"{text}_{path.suffix.lstrip('.').lower()}" if with_ext[i] else text

    while True:
        groups = {}
        for i in range(len(inputs)):
            groups.setdefault(label(i).casefold(), []).append(i)
        clashes = [g for g in groups.values() if len(g) > 1]
        if not clashes:
            return [label(i) for i in range(len(inputs))]
        progressed = False
        for group in clashes:
            same_folder = len({parents[i] for i in group}) == 1
            for i in group:
                if not same_folder and depth[i] < len(parents[i]):
                    depth[i] += 1
                    progressed = True
                elif same_folder and not with_ext[i]:
                    with_ext[i] = True
                    progressed = True
        if not progressed:
            names = ", ".join(str(inputs[i]) for i in clashes[0])
            raise _UsageError(f"{PROG}: error: {names}: cannot give these inputs distinct "
                              "output names; separate them into different -o folders")


def _refuse_overwriting_inputs(inputs, labels, outdir, fmt) -> None:
    """Exit 2 if an input could be overwritten by an output ``<label>_<source>.<fmt>``."""
    folder = outdir.resolve()
    for other in inputs:
        if other.resolve().parent != folder or other.suffix.lower() != f".{fmt}":
            continue
        for path, label in zip(inputs, labels):
            if other.stem.startswith(f"{label}_"):
                raise _UsageError(
                    f"{PROG}: error: {other}: an output of {path.name} could overwrite this "
                    "input file; choose another -o folder"
                )


def _memory_available() -> int | None:
    """Bytes a new allocation can get, or None: the least of the system's MemAvailable, what
    the cgroup (container) limit leaves, and what the address-space limit (ulimit -v) leaves."""
    found = []
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            found.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit != resource.RLIM_INFINITY:
            with open("/proc/self/status", encoding="ascii") as fh:
                size = next(int(line.split()[1]) * 1024 for line in fh
                            if line.startswith("VmSize:"))
            found.append(max(limit - size, 0))
    except (ImportError, OSError, ValueError, StopIteration):
        pass
    return min(found) if found else None


def _out_of_memory_message(path, method, cls, frames, channels, sr) -> str:
    """One line: the input did not fit, and roughly how long an input does."""
    import gc

    gc.collect()
    factor = float(getattr(cls, "memory_factor", None)
                   or MEMORY_FACTORS.get(method, DEFAULT_MEMORY_FACTOR))
    per_second = factor * 4 * max(channels, 1) * sr  # bytes of peak memory per input second
    minutes = frames / sr / 60
    need = frames * channels * 4 * factor
    available = _memory_available()
    message = (f"{path}: out of memory: {method} holds the whole signal in memory, about "
               f"{factor:g}x the input's float32 size ({need / 1e9:.1f} GB for these "
               f"{minutes:.1f} min of {channels}-channel audio at {sr} Hz)")
    if available:
        fits = available / per_second
        length = f"{fits / 60:.0f} min" if fits >= 120 else f"{fits:.0f} s"
        message += (f"; with {available / 1e9:.1f} GB available, inputs up to about "
                    f"{length} fit; split the file into shorter parts")
    return message


class _Heartbeat:
    """Print "still running" every ``interval`` seconds on stderr while a long step runs."""

    def __init__(self, label: str, interval: float, enabled: bool):
        self.label, self.interval, self.enabled = label, interval, enabled
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if self.enabled:
            self._t0 = time.perf_counter()
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            elapsed = time.perf_counter() - self._t0
            print(f"{PROG}: {self.label}: still running, {elapsed:.0f} s elapsed",
                  file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return False


def _run_method(args) -> int:
    fmt = args.format
    if args.subtype is not None and args.subtype not in SUBTYPES[fmt]:
        raise _UsageError(f"{PROG}: error: --subtype {args.subtype}: not available for "
                          f"--format {fmt}; choose one of {', '.join(SUBTYPES[fmt])}")
    if args.sr is not None and args.sr <= 0:
        raise _UsageError(f"{PROG}: error: --sr {args.sr}: must be a positive number of Hz")
    outdir = Path(args.outdir)
    inputs = [Path(p) for p in args.inputs]
    for path in inputs:  # check everything before doing (or importing) anything heavy
        problem = _input_problem(path)
        if problem:
            raise _UsageError(f"{PROG}: error: {path}: {problem}")
    seen = {}
    for path in inputs:
        key = path.resolve()
        if key in seen:
            raise _UsageError(f"{PROG}: error: {path}: given twice (also as {seen[key]})")
        seen[key] = path
    scores = [Path(f) for f in getattr(args, "score", None) or ()]
    for score in scores:
        if not score.is_file():
            raise _UsageError(f"{PROG}: error: --score {score}: no such file")
    _check_outdir(outdir)
    labels = _output_labels(inputs)
    _refuse_overwriting_inputs(inputs, labels, outdir, fmt)

    from .exceptions import DspSeparateError

    args.side_inputs = {"notes": _read_scores(scores)} if scores else {}
    from .separators import get_separator

    cls = get_separator(args.method)
    params = {k[6:]: v for k, v in vars(args).items() if k.startswith("param_")}
    if "stft" in _signature_names(cls) and _stft_given(args):
        params["stft"] = _stft_from_args(args)
    if args.model is not None:
        from .base import load_model

        model = Path(args.model)
        problem = None if model.is_file() else "no such model file"
        if problem:
            raise _UsageError(f"{PROG}: error: --model {model}: {problem}")
        separator = load_model(model)
        if type(separator) is not cls:
            raise _UsageError(f"{PROG}: error: --model {model}: holds a "
                              f"{type(separator).__name__}, not a {cls.__name__} "
                              f"({args.method})")
        given = {k[6:] for k in vars(args) if k.startswith("param_")}
        overrides = {k: v for k, v in params.items() if k in given}
        if _stft_given(args) and "stft" in params:  # STFT options win over the model's
            overrides["stft"] = params["stft"]
        separator.set_params(**overrides)
    else:
        if cls.tags.requires_fit:
            raise _UsageError(f"{PROG}: error: {args.method} learns from examples: give a "
                              "trained model with --model FILE (fit it in Python and write "
                              "it with dsp_separate.save_model)")
        separator = cls(**params)
    separator.check_params()  # bad parameters fail before any file is read

    created = _missing_folders(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written_all = set()
    failures = []
    for path, label in zip(inputs, labels):
        written = []
        try:
            written = _separate_one(args, separator, cls, path, label, outdir, written_all)
        except MemoryError:
            failures.append(path)
            _remove(written)
            message = _out_of_memory_message(path, args.method, cls, *_shape(path))
            print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
        except (DspSeparateError, ValueError, OSError) as exc:
            _report_failure(path, exc, failures)
    _remove_empty(created)
    if failures:
        if len(inputs) > 1:
            print(f"{PROG}: {len(failures)} of {len(inputs)} inputs failed (see above)",
                  file=sys.stderr, flush=True)
        return 2
    return 0


def _read_scores(paths) -> dict:
    """The ``notes=`` of a score-informed method from one or more --score files."""
    import numpy as np

    midi = [p.suffix.lower() in (".mid", ".midi") for p in paths]
    if len(paths) == 1 or not all(midi):
        notes = {}
        for path in paths:
            for name, rows in _read_score(path).items():
                notes[name] = np.concatenate([notes[name], rows]) if name in notes else rows
        return notes
    from .exceptions import DspSeparateError
    from .separators.nmf import midi_notes

    names = [p.stem for p in paths]
    if len(set(names)) < len(names):
        raise _UsageError(f"{PROG}: error: --score: the MIDI files name the sources, and two "
                          f"have the same name ({', '.join(map(str, paths))})")
    notes = {}
    for path in paths:
        try:
            notes[path.stem] = midi_notes(path)
        except (DspSeparateError, ValueError, OSError) as exc:
            raise _UsageError(f"{PROG}: error: --score {path}: {exc}") from None
    return notes


def _read_score(path: Path) -> dict:
    """``{source: (n_notes, 3) rows of onset_s, offset_s, midi_pitch}`` from --score FILE.

    A ``.mid``/``.midi`` file gives one source per track that has notes (``track_<k>``); any
    other file is read as CSV rows ``source,onset_s,offset_s,midi_pitch`` (a header line and
    ``#`` comments are allowed).  Problems are a one-line usage error naming the file.
    """
    import numpy as np

    from .exceptions import DspSeparateError

    if path.suffix.lower() in (".mid", ".midi"):
        from .separators.nmf import midi_notes

        try:
            n_tracks = int.from_bytes(path.read_bytes()[10:12], "big")
            notes = {f"track_{k}": midi_notes(path, track=k) for k in range(n_tracks)}
        except (DspSeparateError, ValueError, OSError) as exc:
            raise _UsageError(f"{PROG}: error: --score {path}: {exc}") from None
        notes = {k: v for k, v in notes.items() if len(v)}
    else:
        rows = {}
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise _UsageError(f"{PROG}: error: --score {path}: {exc}") from None
        for number, line in enumerate(lines, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            fields = [f.strip() for f in text.split(",")]
            try:
                if len(fields) != 4:
                    raise ValueError(f"{len(fields)} fields")
                values = [float(f) for f in fields[1:]]
            except ValueError as exc:
                if number == 1 and len(fields) == 4 and not any(
                        _is_number(f) for f in fields[1:]):  # a header line
                    continue
                raise _UsageError(
                    f"{PROG}: error: --score {path}: line {number}: {text!r} is not "
                    f"source,onset_s,offset_s,midi_pitch ({exc})") from None
            rows.setdefault(fields[0], []).append(values)
        notes = {k: np.asarray(v, dtype=np.float64) for k, v in rows.items()}
    if not notes:
        raise _UsageError(f"{PROG}: error: --score {path}: holds no notes")
    return notes


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _missing_folders(folder: Path) -> list:
    """``folder`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_empty(folders) -> None:
    """Remove the folders this run created (deepest first) that it left empty."""
    for folder in folders:
        try:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        except OSError:
            return


def _report_failure(path, exc, failures) -> None:
    """One line on stderr for an input that failed, naming the file; the batch goes on."""
    failures.append(path)
    message = " ".join(str(exc).split())
    # a file is read block by block: "block=<array ...>: rule" is about the file's audio
    message = re.sub(r"^block=<array[^>]*>: ", "its audio: ", message)
    if str(path) not in message:
        message = f"{path}: {message}"
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


def _signature_names(cls) -> tuple:
    import inspect

    return tuple(inspect.signature(cls.__init__).parameters)


def _shape(path) -> tuple:
    """(frames, channels, sr) of an audio file, for messages; zeros if unreadable."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
        return info.frames, info.channels, info.samplerate
    except Exception:  # noqa: BLE001 - only for a message
        return 0, 1, 1


def _remove(paths) -> None:
    for target in paths:
        try:
            target.unlink()
        except OSError:
            pass


def _separate_one(args, separator, cls, path, label, outdir, written_all) -> list:
    """Read, separate and write one input; returns the files written."""
    import numpy as np
    import soundfile as sf

    from .io import load, matching_subtype, save

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        from .exceptions import AudioFileError

        raise AudioFileError(f"{path}: cannot be read as audio ({exc}); is it a corrupt or "
                             "unsupported file?") from None
    subtype = args.subtype or matching_subtype(args.format, info.subtype)
    seconds = info.frames / info.samplerate
    long_input = seconds > LONG_INPUT_SECONDS and not args.quiet
    if separator.streaming_mode() != "offline" and args.sr is None:
        return _separate_file_in_blocks(args, separator, path, label, outdir, written_all,
                                        info, subtype, long_input)
    if long_input:
        _say(args, f"{path}: reading {seconds / 60:.1f} min of audio ...")
    t0 = time.perf_counter()
    y, sr = load(path, sr=args.sr)
    _say(args, f"{path}: {y.shape[-1] / sr:.1f} s, {y.shape[0]} channel(s), {sr} Hz "
               f"(read in {time.perf_counter() - t0:.2f} s)")
    if long_input:
        _say(args, f"{path}: separating with {args.method}; a line every "
                   f"{HEARTBEAT_SECONDS:g} s until done")
    t1 = time.perf_counter()
    with _Heartbeat(f"{path}: {args.method}", HEARTBEAT_SECONDS, long_input):
        result = separator.separate(y, sr, **getattr(args, "side_inputs", {}))
    took = time.perf_counter() - t1
    _say(args, f"{path}: {args.method} in {took:.2f} s ({seconds / max(took, 1e-9):.1f}x "
               "real time)")
    del y
    sources = dict(result.items())
    peak = max(float(np.max(np.abs(a))) for a in sources.values())
    if subtype not in ("FLOAT", "DOUBLE", "VORBIS", "OPUS") and peak > 1.0 \
            and "FLOAT" not in SUBTYPES[args.format]:
        # no float subtype (FLAC): one common scale so the sources still sum to the mixture
        warnings.warn(f"{path}: the sources peak at {peak:.3g}, beyond the [-1, 1] range of "
                      f"{subtype}; all of them are scaled by {1 / peak:.6g} (they sum to the "
                      f"mixture times {1 / peak:.6g}); use --format wav for float output",
                      UserWarning, stacklevel=1)
        sources = {k: v / peak for k, v in sources.items()}
    elif subtype not in ("FLOAT", "DOUBLE", "VORBIS", "OPUS") and peak > 1.0:
        warnings.warn(f"{path}: the sources peak at {peak:.3g}, beyond the [-1, 1] range of "
                      f"{subtype}, which would clip; all of them are written as FLOAT",
                      UserWarning, stacklevel=1)
        subtype = "FLOAT"
    written = []
    try:
        for i, (name, audio) in enumerate(sources.items()):
            target = outdir / f"{label}_{name}.{args.format}"
            if target.resolve() in written_all:
                raise _OutputClash(f"{target}: already written for another input in this run; "
                                   "not overwritten")
            save(target, audio, sr, subtype=subtype)
            written.append(target)
            written_all.add(target.resolve())
            if long_input:
                _say(args, f"{path}: wrote {i + 1} of {len(sources)}: {target.name}")
    except BaseException:
        _remove(written)
        raise
    for target in written:
        _emit(str(target))
    return written


class _OutputClash(ValueError):
    pass


def _separate_file_in_blocks(args, separator, path, label, outdir, written_all, info,
                             subtype, long_input) -> list:
    """A streamable method: :meth:`Separator.separate_file`, bounded memory, atomic files."""
    names = separator.source_names(info.channels)
    for name in names:
        target = outdir / f"{label}_{name}.{args.format}"
        if target.resolve() in written_all:
            raise _OutputClash(f"{target}: already written for another input in this run; "
                               "not overwritten")
    seconds = info.frames / info.samplerate
    _say(args, f"{path}: {seconds:.1f} s, {info.channels} channel(s), {info.samplerate} Hz "
               f"(block by block)")

    def progress(done, total):
        _say(args, f"{path}: {args.method}: {done:.0f} of {total:.0f} s")

    t1 = time.perf_counter()
    written = separator.separate_file(path, outdir, format=args.format, subtype=subtype,
                                      prefix=f"{label}_",
                                      progress=progress if long_input else None)
    took = time.perf_counter() - t1
    _say(args, f"{path}: {args.method} in {took:.2f} s ({seconds / max(took, 1e-9):.1f}x "
               "real time)")
    for target in written:
        written_all.add(target.resolve())
        _emit(str(target))
    return written


# --------------------------------------------------------------------------- denoise
DENOISE_METHODS = ("spectral_subtraction", "wiener_dd", "mmse_stsa", "log_mmse", "omlsa",
                   "spectral_gating")


def _add_denoise_parser(sub):
    p = sub.add_parser(
        "denoise", help="remove noise from recordings; writes <stem>_denoised.<format>",
        description="Denoise each INPUT block by block (bounded memory, atomic outputs) "
        "with a speech-enhancement method; writes <stem>_denoised.<format> (and "
        "<stem>_noise.<format> with --keep-noise).  A method's own parameters "
        "(e.g. --xi-estimator cepstral) are options of its own command: "
        "dsp-separate log_mmse --help.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="noisy audio file(s)")
    p.add_argument("-o", "--outdir", required=True,
                   help="folder for the denoised files (created if missing)")
    p.add_argument("--method", default=None, choices=DENOISE_METHODS,
                   help="enhancement method (default: that of dsp_separate.denoise)")
    p.add_argument("--noise-clip", default=None, metavar="FILE",
                   help="a noise-only recording at the inputs' rate (default: the noise is "
                        "tracked during the signal)")
    p.add_argument("--noise-seconds", type=float, default=None, metavar="S",
                   help="take the noise from the first S seconds of each input instead")
    p.add_argument("--keep-noise", action="store_true",
                   help="also write the removed noise as <stem>_noise.<format>")
    p.add_argument("--format", default="wav", choices=FORMATS,
                   help="output file format (default: wav)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=_run_denoise)


def _run_denoise(args) -> int:
    import shutil
    import tempfile

    inputs = [Path(p) for p in args.inputs]
    for path in inputs + ([Path(args.noise_clip)] if args.noise_clip else []):
        problem = _input_problem(path)
        if problem:
            raise _UsageError(f"{PROG}: error: {path}: {problem}")
    if args.noise_clip and args.noise_seconds is not None:
        raise _UsageError(f"{PROG}: error: --noise-clip and --noise-seconds: give one")
    if args.noise_seconds is not None and not args.noise_seconds > 0:
        raise _UsageError(f"{PROG}: error: --noise-seconds {args.noise_seconds:g}: must be a "
                          "positive number of seconds")
    outdir = Path(args.outdir)
    _check_outdir(outdir)
    labels = _output_labels(inputs)
    for path, label in zip(inputs, labels):
        for kind in ("denoised", "noise"):
            if (outdir / f"{label}_{kind}.{args.format}").resolve() in \
                    {p.resolve() for p in inputs}:
                raise _UsageError(f"{PROG}: error: {path}: its output would overwrite an "
                                  "input; choose another -o folder")

    from .exceptions import DspSeparateError
    from .separators import get_separator
    from .separators.enhance import DEFAULT_METHOD

    method = args.method or DEFAULT_METHOD
    params = {}
    if args.noise_clip:
        from .io import load

        params["noise"], clip_sr = load(args.noise_clip)
    elif args.noise_seconds is not None:
        params["noise"] = float(args.noise_seconds)
    separator = get_separator(method)(**params)
    separator.check_params()
    created = _missing_folders(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    failures = []
    for path, label in zip(inputs, labels):
        tmp = Path(tempfile.mkdtemp(prefix=".denoise.", dir=outdir))
        try:
            if args.noise_clip:
                import soundfile as sf

                sr = sf.info(str(path)).samplerate
                if sr != clip_sr:
                    raise DspSeparateError(f"{path}: at {sr} Hz but --noise-clip "
                                           f"{args.noise_clip} is at {clip_sr} Hz")
            _say(args, f"{path}: denoising with {method} (block by block)")
            t0 = time.perf_counter()

            def progress(done, total, path=path):
                _say(args, f"{path}: {method}: {done:.0f} of {total:.0f} s")

            signal, noise = separator.separate_file(path, tmp, format=args.format,
                                                    prefix="", progress=progress)
            targets = [(signal, outdir / f"{label}_denoised.{args.format}")]
            if args.keep_noise:
                targets.append((noise, outdir / f"{label}_noise.{args.format}"))
            for src, target in targets:
                os.replace(src, target)
                _emit(str(target))
            _say(args, f"{path}: done in {time.perf_counter() - t0:.2f} s")
        except (DspSeparateError, ValueError, OSError) as exc:
            _report_failure(path, exc, failures)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    _remove_empty(created)
    return 2 if failures else 0


# --------------------------------------------------------------------------- list / demo
def _run_list(args) -> int:
    from .separators import available_separators

    registry = available_separators()
    width = max(len(n) for n in registry)
    for name, cls in registry.items():
        tag = " [oracle: needs true sources]" if cls.tags.needs_references else ""
        print(f"{name:<{width}}  {cls.tags.kind:<6}  {cls.summary}{tag}")
    return 0


def _run_demo(args) -> int:
    if not args.seconds > 0:  # also refuses NaN
        raise _UsageError(f"{PROG}: error: --seconds {args.seconds:g}: must be a positive "
                          "number of seconds")
    _check_outdir(Path(args.outdir))
    import numpy as np

    from ._validation import check_positive_float
    from .io import save
    from .metrics import si_sdr
    from .separators.hpss import HPSS
    from .synth import harmonic_percussive_mixture

    sr = 22050
    check_positive_float(args.seconds, "--seconds")
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    _say(args, f"synthesising {args.seconds:g} s of chords over drums at {sr} Hz ...")
    y, truth = harmonic_percussive_mixture(sr=sr, seconds=args.seconds, seed=args.seed)
    t0 = time.perf_counter()
    # the chords change every second: a harmonic window under twice the note length (1 s,
    # not the 2 s default measured on real recordings; docs/hpss.md)
    result = HPSS(harmonic_seconds=1.0, percussive_hz=700.0).separate(y, sr)
    took = time.perf_counter() - t0
    _say(args, f"HPSS separated it in {took:.2f} s (includes numba compilation on a first run)")
    save(outdir / "mixture.wav", y, sr)
    for name in truth:
        save(outdir / f"true_{name}.wav", truth[name], sr)
    written = result.save(outdir, prefix="estimate_")
    rows = []
    for name in truth:
        ref = truth[name].astype(np.float64)
        est = float(si_sdr(ref, result[name].astype(np.float64)))
        base = float(si_sdr(ref, y.astype(np.float64)))
        rows.append((name, est, base, est - base))
    print("| source     | SI-SDR (dB) | mixture as estimate (dB) | improvement (dB) |")
    print("|------------|------------:|-------------------------:|-----------------:|")
    for name, est, base, imp in rows:
        print(f"| {name:<10} | {est:11.2f} | {base:24.2f} | {imp:16.2f} |")
    print(f"files in {outdir}/: mixture.wav, true_*.wav, "
          + ", ".join(p.name for p in written))
    return 0


ORACLES = ("mixture", "irm", "ibm", "psm", "oracle_wiener")


def _add_evaluate_parser(sub):
    p = sub.add_parser(
        "evaluate",
        help="score a method on a dataset (BSS Eval, SI-SDR); prints the median table",
        description="Separate every track of a dataset and score the estimates against the "
        "true stems.  DATASET is a folder of track folders (mixture.<ext> + one file per "
        "stem, the MUSDB18-HQ layout), a manifest .json, or a folder holding manifest.json.",
    )
    p.add_argument("method", metavar="METHOD", help="a method name from 'dsp-separate list'")
    p.add_argument("dataset", metavar="DATASET", help="dataset folder or manifest")
    p.add_argument("--task", nargs="+", default=None, help="manifest task(s), e.g. hpss")
    p.add_argument("--stems", nargs="+", default=None, help="stems to load and score")
    p.add_argument("--map", nargs="+", default=None, metavar="SOURCE=STEM",
                   help="pair method sources with stems, e.g. percussive=drums")
    p.add_argument("--metrics", nargs="+", default=["sdr", "sir", "sar", "si_sdr"])
    p.add_argument("--frame-seconds", type=float, default=None, metavar="SECONDS",
                   help="score BSS Eval on frames of this many seconds and report each "
                   "track's median over its frames (1.0 is the SiSEC 2018 convention; "
                   "default: the whole signal)")
    p.add_argument("--oracle", action="store_true",
                   help="also score the oracle separators: " + ", ".join(ORACLES))
    p.add_argument("--accompaniment", action="store_true",
                   help="folder datasets: derive an 'accompaniment' stem (all but vocals)")
    p.add_argument("-o", "--output", default=None, help="write every score to this CSV file")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-track progress")
    p.set_defaults(handler=_run_evaluate)


def _run_evaluate(args) -> int:
    if args.output:  # a CSV that cannot be written is found before any track is separated
        out = Path(args.output)
        folder = out.absolute().parent
        problem = None
        if out.is_dir():
            problem = f"is a folder; give a file name, e.g. {out / 'scores.csv'}"
        elif not folder.is_dir():
            problem = (f"the folder {folder} does not exist" if not folder.exists()
                       else f"{folder} is a file, not a folder")
        elif out.exists() and not os.access(out, os.W_OK):
            problem = "the file is not writable"
        elif not out.exists() and not os.access(folder, os.W_OK | os.X_OK):
            problem = f"the folder {folder} is not writable"
        if problem:
            raise _UsageError(f"{PROG}: error: -o {args.output}: {problem}")
    from .datasets import open_dataset
    from .evaluation import evaluate, median_table, to_csv
    from .separators import get_separator

    get_separator(args.method)  # unknown names fail before any file is read
    stem_map = None
    if args.map:
        pairs = [item.split("=", 1) for item in args.map]
        if any(len(pair) != 2 or not all(pair) for pair in pairs):
            raise _UsageError(f"{PROG}: error: --map {' '.join(args.map)}: use SOURCE=STEM")
        stem_map = dict(pairs)
    dataset = open_dataset(args.dataset, task=args.task, stems=args.stems,
                           accompaniment=args.accompaniment)
    methods = [args.method] + [m for m in ORACLES if args.oracle and m != args.method]
    table = evaluate(methods, dataset, metrics=tuple(args.metrics), stem_map=stem_map,
                     frame_seconds=args.frame_seconds, progress=not args.quiet)
    print(median_table(table))
    if args.output:
        to_csv(table, args.output)
        _say(args, f"wrote {args.output}")
    return 0


# --------------------------------------------------------------------------- parser
def build_parser(full: str | None = None) -> argparse.ArgumentParser:
    """The command's parser.

    Method sub-commands are described from the separators' source text, so building the
    parser imports nothing heavy; the method named ``full`` (for its ``--help``) is imported
    and described from its class: parameter descriptions, choices and defaults.
    """
    from . import __version__

    parser = _Parser(
        prog=PROG,
        description="Separate audio into sources with classical signal processing.",
        epilog="Run 'dsp-separate METHOD --help' for a method's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    p = sub.add_parser("list", help="list the separation methods, one line each")
    p.set_defaults(handler=_run_list)
    p = sub.add_parser("demo", help="separate a synthesised mixture and print SI-SDR")
    p.add_argument("-o", "--outdir", default="dsp_separate_demo",
                   help="folder for the audio files (default: ./dsp_separate_demo)")
    p.add_argument("--seconds", type=float, default=6.0,
                   help="length of the mixture in seconds (default: 6)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=_run_demo)
    _add_evaluate_parser(sub)
    _add_denoise_parser(sub)
    for name, info in _method_table().items():
        if info.needs_references:
            continue
        if name == full or info.params is None:
            from .separators import get_separator

            _add_method_parser(sub, name, get_separator(name))
        else:
            _add_light_method_parser(sub, info)
    return parser


def _help_target(argv) -> str | None:
    """The method whose --help is asked for, if any (it is then imported for its help)."""
    if not any(a in ("-h", "--help") for a in argv):
        return None
    words = [a for a in argv if not a.startswith("-")]
    return words[0] if words else None


def main(argv=None) -> int:
    """Entry point of ``dsp-separate``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            parser = build_parser(full=_help_target(argv))
            args = parser.parse_args(argv)
            code = args.handler(args)
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            # the reader of stdout went away (e.g. `dsp-separate list | head -1`): stop quietly
            _silence_stdout()
            return 0
        except _UsageError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        except MemoryError:
            print(f"{PROG}: error: out of memory", file=sys.stderr)
            return 2
        except (ValueError, OSError) as exc:  # DspSeparateError's subclasses are both
            message = " ".join(str(exc).split())
            print(f"{PROG}: error: {message}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    raise SystemExit(main())
