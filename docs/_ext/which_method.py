"""Write docs/which_method.md ("which method when") from benchmarks/RESULTS.md.

Nothing on the page is typed by hand except the decision table at the top: the figures are
the quality tables of ``benchmarks/RESULTS.md`` (any markdown table whose first column is
``method`` or ``row`` and which has numeric columns), sorted into tasks by the heading
above them; "what it needs" and "runs" come from each separator's :class:`~dsp_separate.Tags`;
"speed" is the per-item wall time of the quality table, or the "Nx real time" of a speed
table row naming the method.  Sections that are missing (a family not benchmarked yet) are
simply absent; a task without any table says so.

Run by hand: ``python docs/_ext/which_method.py benchmarks/RESULTS.md out.md``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

# task key, title, regex on the heading right above a table (then on its section heading)
TASKS = [
    ("hpss", "Harmonic / percussive (music)", r"\bhpss\b|harmonic"),
    ("repet", "Accompaniment / melody (repeating background)", r"\brepet\b|accompaniment"),
    ("instruments", "Instruments (music, several voices)", r"\binstruments?"),
    ("speech", "Speech in noise", r"\bspeech\b|enhancement"),
    ("multichannel", "Multichannel (two or more microphones)",
     r"\bmc_|multichannel|\bica\b|\biva\b|\bduet\b|spatial"),
]

ORACLE_NAMES = {"irm", "ibm", "psm", "oracle_wiener", "irm2"}
PEER_PREFIXES = ("librosa", "nussl", "sklearn", "norbert", "logmmse", "noisereduce", "pra_",
                 "pyroomacoustics", "museval", "mir_eval", "fast_bss_eval")

# module of a separator -> docs page, where the page is not simply docs/<module>.md
PAGES = {"ft2d": "repet", "rpca": "repet", "kam": "repet", "oracle": "evaluation"}

# the hand-written part of the page (advice, not measurements)
DECISIONS = (Path(__file__).with_name("which_method_decisions.md")).read_text(encoding="utf-8")


@dataclass
class Table:
    headings: list[str]
    header: list[str]
    rows: list[list[str]]


@dataclass
class Row:
    name: str
    kind: str
    scores: dict[str, float]
    cells: dict[str, str]
    headline: float | None
    wall: float | None
    extra: dict[str, str] = field(default_factory=dict)


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [c.strip() for c in line.split("|")]


def parse_tables(text: str) -> list[Table]:
    """Every markdown table with the headings (outermost first) it sits under."""
    tables: list[Table] = []
    headings: dict[int, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(#{1,6})\s+(.*)$", line)
        if m:
            level = len(m.group(1))
            headings = {k: v for k, v in headings.items() if k < level}
            headings[level] = m.group(2).strip()
            i += 1
            continue
        if (line.lstrip().startswith("|") and i + 1 < len(lines)
                and re.match(r"^\s*\|?\s*:?-{2,}", lines[i + 1])):
            header = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = _cells(lines[i])
                if len(cells) == len(header):
                    rows.append(cells)
                i += 1
            tables.append(Table([headings[k] for k in sorted(headings)], header, rows))
            continue
        i += 1
    return tables


def _number(cell: str) -> float | None:
    cell = cell.replace("\u2212", "-").strip()
    if re.fullmatch(r"[+-]?\d+(\.\d+)?", cell):
        return float(cell)
    return None


def _kind(name: str) -> str:
    low = name.lower()
    base = re.split(r"[\s(]", low, maxsplit=1)[0]
    if base.startswith("oracle") or base in ORACLE_NAMES:
        return "oracle"
    if base.startswith("mixture"):
        return "floor"
    if base.startswith(PEER_PREFIXES):
        return "peer"
    return "ds"


def quality_rows(table: Table) -> tuple[list[str], list[Row]] | None:
    """The score columns and rows of a quality table, or None for any other table."""
    head = [h.lower() for h in table.header]
    if not head or head[0] not in ("method", "row") or len(table.rows) == 0:
        return None
    kind_col = head.index("kind") if "kind" in head else None
    wall_col = next((j for j, h in enumerate(head) if h.startswith("wall")), None)
    numeric = [j for j in range(1, len(head))
               if j not in (kind_col, wall_col)
               and all(_number(r[j]) is not None or r[j] in ("", "-") for r in table.rows)
               and any(_number(r[j]) is not None for r in table.rows)]
    if not numeric:
        return None
    score_cols = [table.header[j] for j in numeric]
    if "sdr" in head:
        headline_cols = [head.index("sdr")]
    elif "mean" in head and head.index("mean") in numeric:
        headline_cols = [head.index("mean")]
    else:   # per-source SDR columns: their mean is the headline (shown as a "mean" column)
        headline_cols = numeric
        score_cols = score_cols + ["mean"] if len(numeric) > 1 else score_cols
    rows = []
    for r in table.rows:
        scores = {table.header[j]: _number(r[j]) for j in numeric}
        vals = [_number(r[j]) for j in headline_cols]
        vals = [v for v in vals if v is not None]
        rows.append(Row(
            name=r[0],
            kind=(r[kind_col].lower() if kind_col is not None else _kind(r[0])),
            scores=scores,
            cells={table.header[j]: r[j] for j in numeric},
            headline=(sum(vals) / len(vals)) if vals else None,
            wall=_number(r[wall_col]) if wall_col is not None else None,
        ))
    return score_cols, rows


def task_of(table: Table) -> str | None:
    for heading in reversed(table.headings):
        for key, _title, pattern in TASKS:
            if re.search(pattern, heading, flags=re.IGNORECASE):
                return key
    return None


def _registry():
    try:
        import dsp_separate as ds

        return ds.available_separators(), set(ds._LAZY)
    except Exception:  # the page still builds from RESULTS.md alone
        return {}, set()


def match_separator(name: str, registry: dict):
    """The registered class a result row measures (``HPSS()``, ``ds_repet_sim``,
    ``log_mmse (noise=0.25 s)``, ``ds_nmf_blind4`` ...), or None."""
    base = re.split(r"[\s(]", name.strip(), maxsplit=1)[0].lower()
    for prefix in ("oracle_ds_", "ds_"):
        if base.startswith(prefix):
            base = base[len(prefix):]
    if base in registry:
        return registry[base]
    by_class = {cls.__name__.lower(): cls for cls in registry.values()}
    if base in by_class:
        return by_class[base]
    keys = sorted((k for k in registry if base.startswith(k + "_") or base.startswith(k)),
                  key=len, reverse=True)
    return registry[keys[0]] if keys else None


def _inputs_beyond_audio(tags) -> list:
    """What a method's tags say it needs besides the audio itself."""
    out = []
    if tags.needs_references:
        out.append("the true sources")
    if tags.requires_fit:
        out.append("training examples (`fit`)")
    if getattr(tags, "needs_score", False):
        out.append("a score")
    return out


def needs(cls) -> str:
    if cls is None:
        return ""
    tags = cls.tags
    out = _inputs_beyond_audio(tags)
    most = getattr(tags, "max_channels", None)
    if tags.min_channels == most == 2:
        out.append("stereo")                      # DUET: exactly two channels
    elif tags.min_channels > 1 and most == tags.min_channels:
        out.append(f"{tags.min_channels} channels")
    elif tags.min_channels > 1:
        out.append(f"{tags.min_channels}+ channels")
    return ", ".join(out) or "the mixture only"


# how a task's recommendation is chosen: stated on the page, applied by render()
RULE = (
    "**How the recommendation is chosen.**  Per task and per test set, the *recommended* "
    "method is this package's method with the highest median SDR (the mean over the "
    "sources where the table gives one column per source) among the methods that need "
    "nothing but the recording: no score, no training examples, no noise-only clip, not "
    "the true sources (channels count as the recording: the multichannel methods need the "
    "microphones they separate).  The settings are the ones the row names; a row without "
    "settings is the method's defaults.  Where a method that needs extra input measures "
    "higher, it is listed under it as *better with extra input*, with what it needs.  "
    "Where the library has a default for the task (`ds.denoise` for speech), the default "
    "is named with its own figure, so you can see what the default gives up on this "
    "measure (and the table what it gains on the others).  Three items per test set (twelve "
    "for speech) are few: differences under about 0.5 dB are not a ranking."
)

# task -> a function of the package whose ``method=`` default is the task's library default
TASK_DEFAULTS = {"speech": "denoise"}


def extra_input(row: Row, cls) -> str:
    """What a measured row needs beyond the recording itself ("" when nothing)."""
    out = []
    if re.search(r"\bnoise\s*=", row.name):
        out.append("a noise-only clip")
    if cls is not None:
        out += _inputs_beyond_audio(cls.tags)
    return ", ".join(out)


def library_default(task: str, registry: dict) -> tuple[str, str] | None:
    """(call, method name) of the library's default for ``task``, read from the code."""
    func_name = TASK_DEFAULTS.get(task)
    if func_name is None or not registry:
        return None
    import inspect

    import dsp_separate as ds

    func = getattr(ds, func_name, None)
    if func is None:
        return None
    param = inspect.signature(func).parameters.get("method")
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return f"ds.{func_name}(y, sr)", str(param.default)


# paths that mean something in the repository but not to a reader of the site
READER_NAMES = [
    (re.compile(r"`?(?:\.\./)?shared/peers/score\.py`?"),
     "the peers' scorer (BSS Eval v3, per channel)"),
]


def reader_text(text: str) -> str:
    """``text`` with repository-internal paths replaced by what they are."""
    for pattern, name in READER_NAMES:
        text = pattern.sub(name, text)
    return text


def runs(cls) -> str:
    if cls is None:
        return ""
    return {"causal": "real time, block by block", "bounded": "block by block",
            "offline": "whole signal"}.get(cls.tags.streaming, cls.tags.streaming)


def speed_notes(tables: list[Table], registry: dict) -> dict:
    """class -> "Nx real time (input)" from the speed tables (the latest row naming it:
    RESULTS.md appends re-runs, so a later row supersedes an earlier one)."""
    out = {}
    for t in tables:
        head = [h.lower() for h in t.header]
        if not head or head[0] != "operation":
            continue
        for r in t.rows:
            m = re.search(r"(\d+(?:\.\d+)?)x(?: / \d+x)? real time", " ".join(r))
            if not m:
                continue
            op = r[0]
            for key, cls in registry.items():
                if (op.startswith(f"{cls.__name__}(") or op.startswith(f"{key}:")
                        or op.startswith(f"{key} ")):
                    out[cls] = f"{m.group(1)}x real time"
    return out


def _test_set(table: Table) -> str:
    """The corpus test set a table measures: the first word of its own heading."""
    heading = table.headings[-1] if table.headings else ""
    found = re.search(r"`(\w+)`|^(\w+)", heading)
    return (found.group(1) or found.group(2)) if found else heading


def _fmt(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+.1f}" if signed else f"{v:.1f}"


def _method_cell(name: str, cls, lazy: set, docs: Path) -> str:
    if cls is None:
        return name
    module = cls.__module__.rsplit(".", 1)[-1]
    page = PAGES.get(module, module)
    text = name.replace("|", "\\|")
    if (docs / f"{page}.md").exists():
        text = f"[{text}]({page}.md)"
    if cls.__name__ in lazy:
        text += f" ({{py:class}}`~dsp_separate.{cls.__name__}`)"
    return text


def render(results_path: Path, docs: Path) -> str:
    results_path = Path(results_path)
    text = results_path.read_text(encoding="utf-8") if results_path.exists() else ""
    tables = parse_tables(text)
    registry, lazy = _registry()
    speeds = speed_notes(tables, registry)

    by_task: dict[str, list[tuple[Table, list[str], list[Row]]]] = {k: [] for k, *_ in TASKS}
    for t in tables:
        task = task_of(t)
        parsed = quality_rows(t)
        if task is None or parsed is None:
            continue
        by_task[task].append((t, *parsed))
    # RESULTS.md grows by appending: a method measured again on the same test set keeps
    # only its latest row, so a superseded figure never stands beside the current one
    for key, entries in by_task.items():
        seen: set[tuple[str, str]] = set()
        kept = []
        for t, cols, rows in reversed(entries):
            test_set = _test_set(t)
            fresh = [r for r in rows if (test_set, r.name) not in seen]
            seen.update((test_set, r.name) for r in fresh)
            if fresh:
                kept.append((t, cols, fresh))
        by_task[key] = kept[::-1]

    out = [
        "<!-- Generated by docs/_ext/which_method.py from benchmarks/RESULTS.md at build time;"
        " do not edit. -->",
        "",
        "# Which method when",
        "",
        "The decision table is advice; every figure under it is read from "
        "`benchmarks/RESULTS.md` when the site is built (median over the dev corpus items, "
        "BSS Eval SDR in dB unless the column says otherwise; higher is better).  *ds* rows "
        "are this package, *peer* rows other libraries run on the same items, *oracle* rows "
        "the upper bounds that know the true sources, *floor* the mixture itself.  "
        "A method that is not benchmarked yet has no row.",
        "",
        DECISIONS,
        "## Measured, per task",
        "",
        RULE,
        "",
    ]
    for key, title, _ in TASKS:
        out += [f"### {title}", ""]
        entries = by_task[key]
        if not entries:
            out += ["No measurement in `benchmarks/RESULTS.md` yet.", ""]
            continue
        # per test set (figures on different test sets -- instantaneous vs room mixtures,
        # say -- do not compare, so one maximum over all of them would mislead): the best
        # method that needs nothing but the recording, and the best of all where that one
        # needs more (a score, training examples, a noise clip)
        plain: dict[str, Row] = {}
        extra: dict[str, Row] = {}
        for t, _cols, rows in entries:
            test_set = _test_set(t)
            for row in rows:
                if row.kind != "ds" or row.headline is None:
                    continue
                pool = extra if extra_input(row, match_separator(row.name, registry)) else plain
                if test_set not in pool or row.headline > pool[test_set].headline:
                    pool[test_set] = row
        default = library_default(key, registry)

        def _recommend(row):
            cls = match_separator(row.name, registry)
            what = extra_input(row, cls) or needs(cls) or "see its page"
            return f"{_method_cell(row.name, cls, lazy, docs)} — {_fmt(row.headline)} dB ({what})"

        def _notes(test_set, indent, plain=plain, extra=extra, default=default,
                   entries=entries):
            lines = []
            best_extra = extra.get(test_set)
            top = plain.get(test_set)
            if best_extra is not None and (top is None or best_extra.headline > top.headline):
                lines.append(f"{indent}- better with extra input: {_recommend(best_extra)}")
            if default is not None:
                call, name = default
                row = next((r for _t, _c, rows in entries if _test_set(_t) == test_set
                            for r in rows if r.kind == "ds" and r.name == name), None)
                figure = (f" — {_fmt(row.headline)} dB" if row is not None
                          else " — not measured at its defaults on this test set")
                top = plain.get(test_set)
                others = [c for c in (row.scores if row is not None else {})
                          if c.lower() in ("stoi", "pesq-wb", "pesq")]
                if top is not None and top is not row and others:
                    figure += "; " + ", ".join(
                        f"{c} {row.cells.get(c, '-')} against {top.cells.get(c, '-')}"
                        for c in others)
                lines.append(f"{indent}- library default: `{call}` uses `{name}`{figure}")
            return lines

        test_sets = list(dict.fromkeys([*plain, *extra]))
        if len(test_sets) == 1:
            ts = test_sets[0]
            head = (f"{_recommend(plain[ts])}." if ts in plain
                    else "no method of this package that needs only the recording is "
                         "measured here.")
            out += [f"**Recommended** (by the rule above): {head}", ""]
            notes = _notes(ts, "")
            out += notes + ([""] if notes else [])
        elif test_sets:
            out += ["**Recommended** (by the rule above, per test set):", ""]
            for ts in test_sets:
                head = (_recommend(plain[ts]) if ts in plain
                        else "no method that needs only the recording is measured")
                out.append(f"- on *{ts}*: {head}")
                out += _notes(ts, "  ")
            out.append("")
        else:
            out += ["No method of this package is measured on this task yet: the table shows "
                    "the bounds (oracles and the mixture) it will be judged against.", ""]
        for t, cols, rows in entries:
            source = reader_text(" / ".join(h for h in t.headings[-2:]))
            out += [f"From *{source}*:", ""]
            header = ["method", "kind"] + cols + ["speed", "needs", "runs"]
            out.append("| " + " | ".join(header) + " |")
            out.append("|---|---|" + "---:|" * len(cols) + "---|---|---|")
            for row in sorted(rows, key=lambda r: -(r.headline if r.headline is not None
                                                    else -1e9)):
                cls = match_separator(row.name, registry) if row.kind != "peer" else None
                if row.kind == "oracle" and cls is None:
                    need = "the true sources"
                elif row.kind in ("peer", "floor"):
                    need = ""
                else:
                    need = needs(cls)
                if row.wall is not None:
                    speed = f"{row.wall:.2f} s per item"
                else:
                    speed = speeds.get(cls, "")
                cells = ([_method_cell(row.name, cls, lazy, docs), row.kind]
                         + [row.cells.get(c, _fmt(row.headline)) for c in cols]
                         + [speed, need, runs(cls) if row.kind in ("ds", "oracle") else ""])
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
        out += ["*Speed*: the wall time per item of the quality run where the table has one, "
                "else the real-time factor of the method's row in a speed table (its input "
                "size is on the [results](results.md) page).", ""]
    return "\n".join(out) + "\n"


def write_which_method(results_path: Path, out_path: Path) -> None:
    out_path = Path(out_path)
    text = render(results_path, out_path.parent)
    if not out_path.exists() or out_path.read_text(encoding="utf-8") != text:
        out_path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # the tree, not site-packages
    write_which_method(Path(sys.argv[1]), Path(sys.argv[2]))
