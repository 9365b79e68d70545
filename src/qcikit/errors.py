"""Errors raised by qcikit.

Every error a consultant can cause is a :class:`QcikitError` (a ``ValueError``)
whose message is a full sentence naming the file, the row or key, what was
wrong and how to fix it.  The command line prints that message and exits 2.
"""
from __future__ import annotations

from dataclasses import dataclass


class QcikitError(ValueError):
    """Base class of every error caused by the user's input."""


class RubricError(QcikitError):
    """The rubric file or model is inconsistent."""


class ScoringError(QcikitError):
    """Scores cannot be turned into QCI values as given."""


class RubricVersionError(ScoringError):
    """Scores were made under another version of the rubric."""


class SamplingError(QcikitError):
    """A sample-size, allocation or draw request cannot be met."""


class InventoryError(QcikitError):
    """A scenario schema or a classification is inconsistent."""


class ReliabilityError(QcikitError):
    """Ratings cannot give the requested agreement coefficient."""


class MetricsError(QcikitError):
    """A summary or comparison cannot be computed from the data given."""


class RenderError(QcikitError):
    """A report cannot be rendered from the engagement given."""


class CollapsedStrataWarning(UserWarning):
    """A stratum with one sampled interaction was merged with a neighbour for the variance."""


@dataclass(frozen=True)
class Problem:
    """One problem found while validating an engagement.

    Parameters
    ----------
    file : str
        The file the problem is in (relative to the engagement folder).
    where : str
        The row (``row 12``) or key (``elements[3].rules``) concerned, or ``""``.
    message : str
        What is wrong, as a sentence.
    fix : str
        How to fix it, as a sentence.
    """

    file: str
    where: str
    message: str
    fix: str

    def __str__(self) -> str:
        loc = f"{self.file}, {self.where}" if self.where else self.file
        return f"{loc}: {self.message} Fix: {self.fix}"


class ValidationError(QcikitError):
    """An engagement folder holds one or more problems; all are listed."""

    def __init__(self, folder: str, problems: list[Problem]):
        self.folder = folder
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{folder}: {n} problem{'s' if n != 1 else ''} found."
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))
