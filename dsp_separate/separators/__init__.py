"""Every separator, one module per family, and the registry that finds them.

A new method is one file here defining a :class:`~dsp_separate.base.Separator` subclass with
a ``name`` class attribute; the registry, the command line (``dsp-separate <name>``) and the
generic test battery pick it up without further registration.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..exceptions import ParameterError

__all__ = ["available_separators", "get_separator"]


def available_separators() -> dict:
    """All separators, ``{name: class}``, sorted by name.

    Examples
    --------
    >>> import dsp_separate as ds
    >>> "hpss" in ds.available_separators()
    True
    """
    from ..base import Separator

    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    found = {}
    stack = list(Separator.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.name and not cls.__name__.startswith("_") and cls.__module__.startswith(
            "dsp_separate."
        ):
            found[cls.name] = cls
    return dict(sorted(found.items()))


def get_separator(name: str):
    """The separator class registered as ``name`` (e.g. ``"hpss"``)."""
    registry = available_separators()
    if name not in registry:
        raise ParameterError(f"method={name!r}: unknown; available: {', '.join(registry)}")
    return registry[name]
