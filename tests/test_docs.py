"""The documentation site: its generated pages, and the whole build checked as a reader sees it.

The fast tests need no Sphinx: the "which method when" generator (docs/_ext/which_method.py),
the API page generator (docs/_ext/api_page.py) and the rendered-HTML checker
(docs/check_render.py).  The build test is slow and needs the ``docs`` extra; without it
it is skipped with the reason (``.ci/run`` installs the extra and runs this file again).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


which_method = _load("_docs_which_method", DOCS / "_ext" / "which_method.py")
api_page = _load("_docs_api_page", DOCS / "_ext" / "api_page.py")
check_render = _load("_docs_check_render", DOCS / "check_render.py")

PARTIAL_RESULTS = """\
# Benchmark results

## Speed

| operation | input | ours (s) | peer | peer (s) | ratio (peer/ours) | target | note |
|---|---|---:|---|---:|---:|---|---|
| HPSS().separate(y, sr) | 180 s stereo | 2.318 | - | - | - |  | 78x real time |

## Quality

### hpss (3 items)

| method | harmonic | percussive |
|---|---:|---:|
| HPSS() | 1.19 | 2.63 |
| librosa_hpss | 1.10 | 2.50 |
| irm | 13.71 | 15.92 |
| mixture | -1.35 | 1.35 |

### speech, per input SNR

| row | -5 dB | +0 dB |
|---|---|---|
| omlsa | +5.6 / 1.04 / 0.617 | +6.5 / 1.03 / 0.712 |
"""


def test_which_method_with_missing_sections(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text(PARTIAL_RESULTS)
    page = which_method.render(results, DOCS)
    # the one quality table is there, with its numbers as written and the mean computed
    assert "| [HPSS()](hpss.md)" in page
    assert "| 1.19 | 2.63 | 1.9 |" in page
    assert "| 78x real time |" in page                    # speed from the speed table
    assert "**Recommended** (by the rule above): [HPSS()]" in page
    assert "How the recommendation is chosen" in page
    assert "| librosa_hpss | peer |" in page
    assert "| the true sources |" in page                  # the oracle row's needs
    # every other task is present and says it has no figures; the per-SNR table of
    # "a / b / c" cells is not mistaken for a quality table
    for _key, title, _pattern in which_method.TASKS[1:]:
        section = page.split(f"### {title}")[1].split("###")[0]
        assert "No measurement" in section, title
    assert "+5.6 / 1.04" not in page
    # a missing RESULTS.md still gives a page
    empty = which_method.render(tmp_path / "nothing.md", DOCS)
    assert empty.count("No measurement") == len(which_method.TASKS)


MULTICHANNEL_RESULTS = """\
# Benchmark results

## Quality

### mc_instantaneous (3 items)

| method | src0 | src1 |
|---|---:|---:|
| ds_fastica | 42.0 | 40.0 |

### mc_convolutive (3 items)

| method | src0 | src1 |
|---|---:|---:|
| ds_fastica | -1.0 | -2.0 |
| ds_ilrma | 9.0 | 10.0 |
"""


def test_which_method_recommends_per_test_set(tmp_path):
    # 41 dB on instantaneous mixtures says nothing about a room: one maximum over both test
    # sets would recommend FastICA for the room recordings, where it scores -1.5 dB
    results = tmp_path / "RESULTS.md"
    results.write_text(MULTICHANNEL_RESULTS)
    page = which_method.render(results, DOCS)
    section = page.split("### Multichannel")[1].split("###")[0]
    assert "per test set" in section
    lines = [line for line in section.splitlines() if line.startswith("- on *")]
    assert len(lines) == 2
    conv = next(line for line in lines if "*mc_convolutive*" in line)
    inst = next(line for line in lines if "*mc_instantaneous*" in line)
    assert "ILRMA" in conv and "9.5 dB" in conv
    assert "FastICA" in inst and "41.0 dB" in inst


def test_which_method_shows_only_the_latest_figure_of_a_method(tmp_path):
    # RESULTS.md is appended to: a re-run's row replaces the earlier row of the same method
    # on the same test set (a stale 1.0 dB beside the current 9.0 dB would contradict it)
    results = tmp_path / "RESULTS.md"
    results.write_text(MULTICHANNEL_RESULTS + """
## IVA re-run after a fix

### mc_convolutive (3 items) — median SDR (dB) per source

| method | src0 | src1 |
|---|---:|---:|
| ds_ilrma | 11.0 | 12.0 |
""")
    page = which_method.render(results, DOCS)
    section = page.split("### Multichannel")[1]
    assert section.count("[ds_ilrma]") == 2            # the recommendation and one row
    assert "| 11.0 | 12.0 | 11.5 |" in section and "| 9.0 | 10.0 |" not in section
    assert "ILRMA`) — 11.5 dB" in section
    assert section.count("[ds_fastica]") == 3          # other rows stay: 2 rows + 1 line


SPEECH_RESULTS = """\
# Benchmark results

## Speech enhancement

### speech (12 items) — median over items

| method | SDR | STOI |
|---|---:|---:|
| omlsa | 8.0 | 0.86 |
| wiener_dd | 9.0 | 0.85 |
| wiener_dd (noise=0.25 s) | 10.0 | 0.87 |
| irm | 16.0 | 0.97 |
"""

SCORE_RESULTS = """\
# Benchmark results

## Quality

### instruments (3 items)

| method | soprano | bass |
|---|---:|---:|
| ds_score_nmf | 7.0 | 5.0 |
| ds_nmf_blind4 | -1.0 | -2.0 |
| irm | 9.0 | 8.0 |
"""


def test_which_method_rule_recommends_without_extra_input(tmp_path):
    # the rule: the highest SDR among methods needing only the recording; a method needing a
    # noise clip (or a score) that scores higher is listed as "better with extra input", and
    # the library default (ds.denoise's method=) is named with its own figure and STOI
    results = tmp_path / "RESULTS.md"
    results.write_text(SPEECH_RESULTS)
    page = which_method.render(results, DOCS)
    section = page.split("### Speech in noise")[1].split("###")[0]
    rec = next(line for line in section.splitlines() if line.startswith("**Recommended**"))
    assert "[wiener_dd](enhance.md)" in rec and "9.0 dB (the mixture only)" in rec
    assert "noise=" not in rec and "oracle" not in rec.lower()
    assert ("better with extra input: [wiener_dd (noise=0.25 s)](enhance.md)" in section
            and "10.0 dB (a noise-only clip)" in section)
    assert "library default: `ds.denoise(y, sr)` uses `omlsa` — 8.0 dB" in section
    assert "STOI 0.86 against 0.85" in section

    results.write_text(SCORE_RESULTS)
    page = which_method.render(results, DOCS)
    section = page.split("### Instruments")[1].split("###")[0]
    rec = next(line for line in section.splitlines() if line.startswith("**Recommended**"))
    assert "BlindNMF" in rec and "-1.5 dB" in rec            # honest, even when it is poor
    assert "better with extra input: [ds_score_nmf](nmf.md)" in section
    assert "6.0 dB (a score)" in section
    assert "library default" not in section                  # no default for this task


def test_which_method_extra_input():
    import dsp_separate as ds

    def row(name):
        return which_method.Row(name=name, kind="ds", scores={}, cells={}, headline=1.0,
                                wall=None)

    assert which_method.extra_input(row("log_mmse (noise=0.25 s)"), ds.LogMMSE) == \
        "a noise-only clip"
    assert which_method.extra_input(row("log_mmse"), ds.LogMMSE) == ""
    assert which_method.extra_input(row("ds_score_nmf"), ds.ScoreNMF) == "a score"
    assert "training examples" in which_method.extra_input(row("x"), ds.SupervisedNMF)
    assert which_method.extra_input(row("ds_ilrma"), ds.ILRMA) == ""     # channels are input


def test_which_method_reader_text():
    # captions read from RESULTS.md name the scorer, not its path in the repository
    text = ("median SDR, scored with `../shared/peers/score.py`; "
            "blind mode of ../shared/peers/score.py")
    out = which_method.reader_text(text)
    assert "score.py" not in out
    assert out.count("the peers' scorer (BSS Eval v3, per channel)") == 2


def test_which_method_needs_from_the_tags():
    import dsp_separate as ds

    assert which_method.needs(ds.DUET) == "stereo"              # max_channels=2
    assert which_method.needs(ds.AuxIVA) == "2+ channels"
    assert which_method.needs(ds.HPSS) == "the mixture only"
    assert which_method.needs(ds.ScoreNMF) == "a score"


def test_which_method_from_the_repository_results():
    results = ROOT / "benchmarks" / "RESULTS.md"
    page = which_method.render(results, DOCS)
    tables = which_method.parse_tables(results.read_text(encoding="utf-8"))
    n_rows = 0
    for table in tables:
        parsed = which_method.quality_rows(table)
        if parsed is None or which_method.task_of(table) is None:
            continue
        for row in parsed[1]:
            if row.kind == "ds":
                assert row.name.replace("|", "\\|") in page, row.name   # no ds row dropped
                n_rows += 1
    assert n_rows >= 5
    assert page.count("**Recommended**") >= 3
    # the speech section names the library default (ds.denoise) with its own figure
    speech = page.split("### Speech in noise")[1].split("###")[0]
    assert "library default: `ds.denoise(y, sr)` uses `omlsa`" in speech


def test_api_page_lists_every_public_name(tmp_path):
    import dsp_separate

    out = tmp_path / "api.rst"
    names = api_page.write_api_page(out)
    text = out.read_text()
    listed = {line.strip() for line in text.splitlines() if line.startswith("   ")}
    missing = [name for name in dsp_separate._LAZY if name not in listed]
    assert not missing
    assert "dsp_separate.metrics" in text and "si_sdr" in listed
    # names differing only by case get distinct page names
    assert names.get("dsp_separate.stft") == "dsp_separate.stft-function"
    assert "dsp_separate.STFT" not in names


def test_check_render_reports_each_kind_of_problem(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "ok.png").write_bytes(b"png")
    (tmp_path / "other.html").write_text('<html><body><h1 id="here">x</h1></body></html>')
    (tmp_path / "index.html").write_text(
        '<html><body>'
        '<img src="img/ok.png"><img src="img/gone.png">'
        '<a href="other.html#here">fine</a><a href="missing.html">broken</a>'
        '<a href="other.html#nowhere">bad anchor</a><a href="https://example.org">ext</a>'
        '<a href="#"><code class="xref py py-obj">dsp_separate.HPSS</code></a>'
        '<code class="xref py py-obj docutils literal">dsp_separate.nothing</code>'
        '<code class="xref py py-obj docutils literal">numpy.fft.rfft</code>'
        '<code class="xref py py-func docutils literal">dsp_separate._bss.private()</code>'
        '</body></html>')
    problems = check_render.check_html(tmp_path)
    assert len(problems) == 4, problems
    joined = "\n".join(problems)
    assert "missing image img/gone.png" in joined
    assert "broken link missing.html" in joined
    assert "no anchor #nowhere" in joined
    assert "unresolved reference dsp_separate.nothing" in joined


def _docs_tools_missing() -> str | None:
    for module in ("sphinx", "numpydoc", "myst_parser", "sphinx_gallery",
                   "pydata_sphinx_theme", "matplotlib"):
        if importlib.util.find_spec(module) is None:
            return f'{module} is not installed (pip install ".[docs]")'
    if importlib.util.find_spec("sphinx-mathjax-offline") is None:
        return 'sphinx-mathjax-offline is not installed (pip install ".[docs]")'
    return None


@pytest.mark.slow  # the whole site with the executed gallery: about a minute warm, 2-3 cold
def test_docs_build_and_render(tmp_path):
    reason = _docs_tools_missing()
    if reason and os.environ.get("DSP_SEPARATE_REQUIRE_DOCS"):
        pytest.fail(reason)                # .ci/run's docs step: a skip would check nothing
    if reason:
        pytest.skip(reason)
    # .ci/run sets DSP_SEPARATE_DOCS_HTML=docs/_build/html to take screenshots of this build
    html = Path(os.environ.get("DSP_SEPARATE_DOCS_HTML") or tmp_path / "html").resolve()
    out = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(html)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, (out.stdout[-3000:] + out.stderr[-6000:])
    assert check_render.check_html(html) == []
    for page in ["index", "api", "which_method", "results", "auto_examples/index",
                 "generated/dsp_separate.HPSS", "generated/dsp_separate.metrics.si_sdr",
                 "hpss", "repet", "nmf", "enhance"]:
        assert (html / f"{page}.html").is_file(), page
    tutorials = sorted(p.stem for p in (ROOT / "examples").glob("plot_tutorial_*.py"))
    assert len(tutorials) >= 5
    for stem in tutorials:
        text = (html / "auto_examples" / f"{stem}.html").read_text(encoding="utf-8")
        assert "<img" in text, stem                         # its figures were drawn
        assert "<audio" in text, stem                       # and its Separation plays
    which = (html / "which_method.html").read_text(encoding="utf-8")
    assert "Recommended" in which and "<table" in which
    assert "How the recommendation is chosen" in which
    # readers see what the scorer is, not a path into the repository's sibling folders
    for page in ("which_method", "results", "hpss", "repet", "iva", "ica", "spatial"):
        assert "peers/score.py" not in (html / f"{page}.html").read_text(encoding="utf-8"), page
    # the family pages say how each method fails, and the gallery has the Wiener example
    for page in ("hpss", "repet", "nmf", "enhance", "wiener", "iva", "ica", "spatial"):
        text = (html / f"{page}.html").read_text(encoding="utf-8")
        assert "When it fails" in text or "When they fail" in text, page
    wiener = (html / "auto_examples" / "plot_wiener.html").read_text(encoding="utf-8")
    assert "<img" in wiener and "<audio" in wiener and "math" in wiener
    # the compact audio table and scrolling equations (docs/_static/custom.css)
    assert "custom.css" in (html / "index.html").read_text(encoding="utf-8")
    assert (html / "_static" / "custom.css").is_file()
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()   # math offline
    # a separator's page says how to call it (separate() is inherited from Separator) and
    # names no private base class the reference leaves out
    repet = (html / "generated" / "dsp_separate.REPET.html").read_text(encoding="utf-8")
    assert "Like every separator" in repet and "dsp_separate.Separator.separate" in repet
    assert "_RepetBase" not in repet
