"""Sphinx configuration of the dsp_separate documentation.

Build (needs ``pip install ".[docs]"``; works offline)::

    python -m sphinx -W -b html docs docs/_build/html

Three things are generated at build time (none of them is committed):

* ``docs/api.rst`` -- the API reference: one autosummary table per submodule over the public
  names of ``dsp_separate._LAZY`` (plus ``metrics``, ``synth`` and the exceptions), so a name
  added to ``_LAZY`` appears without editing anything here;
* ``docs/which_method.md`` -- "which method when", parsed from ``benchmarks/RESULTS.md`` by
  ``docs/_ext/which_method.py``;
* ``docs/auto_examples/`` -- sphinx-gallery runs ``examples/plot_*.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))          # document the tree being built
sys.path.insert(0, str(DOCS / "_ext"))

from api_page import write_api_page  # noqa: E402
from which_method import write_which_method  # noqa: E402

import dsp_separate  # noqa: E402

project = "dsp_separate"
author = "dsp_separate developers"
copyright = "dsp_separate developers, BSD-3-Clause"  # noqa: A001
release = version = dsp_separate.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",   # MathJax 3 copied into the build: equations render offline
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "repo_links",          # docs/_ext: ../benchmarks/RESULTS.md -> the results page
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "_ext", "README.md",
                    "auto_examples/*.ipynb", "auto_examples/*.py", "**/*.md5"]

# --- generated pages -----------------------------------------------------------------------
autosummary_filename_map = write_api_page(DOCS / "api.rst")
write_which_method(ROOT / "benchmarks" / "RESULTS.md", DOCS / "which_method.md")

# --- autodoc / autosummary / numpydoc -------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"            # the numpydoc Parameters sections say the types
numpydoc_show_class_members = False   # the class template lists the members itself
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

# No network on the build machines and no inventories shipped: intersphinx is off, so
# numpy / scipy / librosa names in docstrings render as code, not links.

# --- MyST: docs/*.md stay markdown ----------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# --- sphinx-gallery --------------------------------------------------------------------------
# The examples write their PNGs where DSP_SEPARATE_EXAMPLES_OUT says: keep them out of the tree.
_out = DOCS / "_build" / "example_output"
_out.mkdir(parents=True, exist_ok=True)
os.environ["DSP_SEPARATE_EXAMPLES_OUT"] = str(_out)
os.environ.setdefault("MPLBACKEND", "Agg")
# The gallery runs in this process.  One BLAS thread: the examples' matrices are small, and
# on a shared machine two BLAS threads per process made NMF 8x slower here (oversubscription).
try:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
    pass

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": str(DOCS / "auto_examples"),
    "filename_pattern": r"/plot_",          # execute every examples/plot_*.py
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "gallery_order.TutorialsFirst",   # docs/_ext
    "capture_repr": ("_repr_html_", "__repr__"),   # a Separation at the end of a cell plays
    "image_scrapers": ("matplotlib",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "show_memory": False,
    "plot_gallery": "True",
    "write_computation_times": False,   # no sg_execution_times page at the top of docs/
}

# --- HTML ------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"dsp_separate {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    # the wide generated tables get the whole width
    "secondary_sidebar_items": {"**": ["page-toc"], "which_method": [], "results": []},
}
html_sidebars = {"which_method": [], "results": []}
html_static_path = ["_static"]
html_css_files = ["custom.css"]   # compact audio tables, scrolling long equations
html_show_sourcelink = False


# --- a page added to docs/ joins the contents without editing index.md ----------------------
def _append_new_pages(app, docname, source):
    if docname != root_doc:
        return
    text = source[0]
    start = text.find("```{toctree}")
    end = text.find("```", start + 3) if start >= 0 else -1
    if end < 0:
        return
    listed = set(text[start:end].split())
    generated = {"api", "which_method", "results"}
    extra = sorted(p.stem for p in DOCS.glob("*.md")
                   if p.stem != root_doc and p.stem not in listed and p.stem not in generated)
    if extra:
        source[0] = text[:end] + "".join(f"{name}\n" for name in extra) + text[end:]


def _reread_index(app, env, added, changed, removed):
    # the contents depend on which pages exist, not only on index.md's own text
    return [root_doc]


def _public_bases(app, name, obj, options, bases):
    # "Bases: _RepetBase" names a class the reference leaves out: show the first public
    # class above it instead (Separator, for every separator)
    for i, base in enumerate(bases):
        if getattr(base, "__name__", "").startswith("_"):
            bases[i] = next((c for c in base.__mro__[1:]
                             if not c.__name__.startswith("_")), object)


def _reader_names(app, relative_path, parent_docname, content):
    # benchmarks/RESULTS.md, included by results.md, names the scorer by its repository path
    from which_method import reader_text

    content[0] = reader_text(content[0])


def _reader_names_page(app, docname, source):
    from which_method import reader_text

    source[0] = reader_text(source[0])


def setup(app):
    app.connect("include-read", _reader_names)
    app.connect("source-read", _reader_names_page)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("source-read", _append_new_pages)
    app.connect("env-get-outdated", _reread_index)
