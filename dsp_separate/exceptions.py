"""Exceptions raised by dsp_separate.

Every error a user can cause is a :class:`ParameterError`: it is a ``ValueError``, so
``except ValueError`` keeps working, and its message names the argument, the value that was
given and the rule it broke, e.g. ``hop_length=0: must be a positive integer``.
"""

__all__ = [
    "DspSeparateError",
    "ParameterError",
    "AudioFileError",
    "NotFittedError",
    "ConvergenceWarning",
]


class DspSeparateError(Exception):
    """Base class of every exception raised on purpose by dsp_separate."""


class ParameterError(DspSeparateError, ValueError):
    """An argument has a value the function cannot work with.

    The message has the form ``"<name>=<value>: <rule>"``.
    """


class AudioFileError(DspSeparateError, OSError):
    """An audio file is missing, empty, corrupt, unsupported or cannot be written.

    The message always names the file.
    """


class NotFittedError(DspSeparateError, ValueError, AttributeError):
    """A separator that learns from examples was used before :meth:`fit`.

    Both a ``ValueError`` and an ``AttributeError``, like scikit-learn's ``NotFittedError``.
    """


class ConvergenceWarning(UserWarning):
    """An iterative algorithm stopped at its iteration limit before converging."""
