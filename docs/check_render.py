"""Check the built documentation as a reader would meet it.

Usage::

    python -m sphinx -W -b html docs docs/_build/html
    python docs/check_render.py docs/_build/html                  # links, images, references
    python docs/check_render.py docs/_build/html --screenshots DIR  # + headless Chromium PNGs

The HTML check (no browser needed) fails on

* an ``<img src>`` whose file is not in the build (a figure the gallery did not write);
* an internal ``<a href>`` to a page that does not exist, or to an ``#anchor`` that is not
  on that page;
* an unresolved cross-reference to this package's public API: Sphinx renders a reference it
  could not resolve as a bare ``<code class="xref ...">`` with no link around it.  References
  to other libraries (numpy, scipy, ...) are expected to stay unresolved: intersphinx is off,
  because the build machines have no network; so are references to private helpers
  (``dsp_separate._bss...``), which the API reference leaves out by design.

``--screenshots DIR`` also opens the index, one API page and one gallery page in headless
Chromium (Debian's ``chromium``) and writes ``DIR/<name>.png``; it is skipped, with a
message, when no Chromium is installed.  Exit status 1 on any problem.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

SCREENSHOT_PAGES = {
    "index": "index.html",
    "api_hpss": "generated/dsp_separate.HPSS.html",
    "gallery_hpss_tutorial": "auto_examples/plot_tutorial_hpss.html",
}
INTERNAL_PREFIXES = ("dsp_separate",)


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.images: list[str] = []
        self.links: list[str] = []
        self.unresolved: list[str] = []
        self.audio = 0
        self._stack: list[tuple[str, bool]] = []   # (tag, is an unresolved xref)
        self._in_a = 0
        self._xref_text: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag == "audio" or (tag == "source" and "audio" in (attrs.get("type") or "")):
            self.audio += tag == "audio"
        if tag == "a":
            self._in_a += 1
            if attrs.get("href"):
                self.links.append(attrs["href"])
        classes = (attrs.get("class") or "").split()
        is_xref = "xref" in classes and self._in_a == 0 and self._xref_text is None
        if is_xref:
            self._xref_text = []
        if tag not in ("img", "br", "hr", "meta", "link", "input", "source"):
            self._stack.append((tag, is_xref))

    def handle_endtag(self, tag):
        if tag == "a" and self._in_a:
            self._in_a -= 1
        while self._stack:
            open_tag, was_xref = self._stack.pop()
            if was_xref and self._xref_text is not None:
                self.unresolved.append("".join(self._xref_text).strip())
                self._xref_text = None
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._xref_text is not None:
            self._xref_text.append(data)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    page.close()
    return page


def check_html(html_dir) -> list[str]:
    """Problems found in a built site (empty list: none)."""
    html_dir = Path(html_dir)
    problems: list[str] = []
    pages = {p: _parse(p) for p in sorted(html_dir.rglob("*.html"))}
    if not pages:
        return [f"{html_dir}: no HTML pages"]
    for path, page in pages.items():
        rel = path.relative_to(html_dir)
        for src in page.images:
            parts = urlsplit(src)
            if parts.scheme in ("http", "https", "data") or src.startswith("//"):
                continue
            if not (path.parent / unquote(parts.path)).resolve().is_file():
                problems.append(f"{rel}: missing image {src}")
        for href in page.links:
            parts = urlsplit(href)
            if parts.scheme or href.startswith(("//", "mailto:", "javascript:")):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{rel}: broken link {href}")
                continue
            if parts.fragment and target.suffix == ".html":
                target_page = pages.get(target) or _parse(target)
                if unquote(parts.fragment) not in target_page.ids:
                    problems.append(f"{rel}: link {href}: no anchor #{parts.fragment}")
        for text in page.unresolved:
            name = text.lstrip("~.").split("(")[0]
            private = any(part.startswith("_") for part in name.split("."))
            if name.startswith(INTERNAL_PREFIXES) and not private:   # private: not in the API
                problems.append(f"{rel}: unresolved reference {text}")
    return problems


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshots(html_dir, out_dir, pages=None, timeout=120) -> list[Path]:
    """PNG screenshots of built pages with headless Chromium; [] if there is none."""
    chromium = find_chromium()
    if chromium is None:
        print("check_render: no chromium on PATH; screenshots skipped", file=sys.stderr)
        return []
    html_dir, out_dir = Path(html_dir).resolve(), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rel in (pages or SCREENSHOT_PAGES).items():
        page = html_dir / rel
        if not page.exists():
            raise FileNotFoundError(page)
        png = (out_dir / f"{name}.png").resolve()
        with tempfile.TemporaryDirectory() as profile:
            cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-background-networking", "--no-first-run",
                   f"--user-data-dir={profile}", "--hide-scrollbars",
                   "--window-size=1280,1600", "--virtual-time-budget=5000",
                   f"--screenshot={png}", page.as_uri()]
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
        if not png.is_file() or png.stat().st_size < 5000:
            raise RuntimeError(f"chromium wrote no usable screenshot of {rel}")
        written.append(png)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html_dir", nargs="?", default="docs/_build/html")
    parser.add_argument("--screenshots", metavar="DIR", default=None,
                        help="also write PNG screenshots there (needs chromium)")
    args = parser.parse_args(argv)
    problems = check_html(args.html_dir)
    for p in problems:
        print(p)
    n_pages = sum(1 for _ in Path(args.html_dir).rglob("*.html"))
    print(f"check_render: {n_pages} pages, {len(problems)} problems")
    if args.screenshots:
        for png in screenshots(args.html_dir, args.screenshots):
            print(f"check_render: wrote {png}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
