"""Order of the gallery: the tutorials first, in teaching order, then every other example by
file name (sphinx-gallery's ``within_subsection_order``)."""

from __future__ import annotations

import os

TUTORIALS = ["hpss", "repet", "nmf", "iva", "denoise", "oracle"]


class TutorialsFirst:
    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename: str):
        name = os.path.basename(filename)
        if name.startswith("plot_tutorial_"):
            topic = name[len("plot_tutorial_"):].rsplit(".", 1)[0]
            rank = TUTORIALS.index(topic) if topic in TUTORIALS else len(TUTORIALS)
            return (0, rank, name)
        return (1, 0, name)

    def __repr__(self):
        return "TutorialsFirst"
