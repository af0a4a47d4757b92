"""Links from docs/*.md to files of the repository outside docs/ (``../benchmarks/RESULTS.md``).

On GitHub these are ordinary relative links; in the site they would point outside the source
folder.  ``benchmarks/RESULTS.md`` is rendered as the site page ``results`` (docs/results.md
includes it), and this extension rewrites the links to it while the pages are read, so the
markdown files stay as they are.
"""

from __future__ import annotations

import re

REWRITES = {
    r"\]\(\.\./benchmarks/RESULTS\.md(#[^)]*)?\)": r"](results.md\1)",
}


def _rewrite(app, docname, source):
    text = source[0]
    for pattern, repl in REWRITES.items():
        text = re.sub(pattern, repl, text)
    source[0] = text


def setup(app):
    app.connect("source-read", _rewrite)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
