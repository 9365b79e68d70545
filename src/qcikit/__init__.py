"""qcikit — the Quality of Customer Interaction (QCI) methodology kit.

>>> import qcikit
>>> eng = qcikit.Engagement.load("data/samples/northwind")      # doctest: +SKIP
>>> qcikit.score(eng.scores, eng.rubric, eng.inventory_facets())  # doctest: +SKIP
"""
from .engagement import Engagement
from .errors import (InventoryError, MetricsError, Problem, QcikitError, ReliabilityError, RenderError,
                     RubricError, RubricVersionError, SamplingError, ScoringError, ValidationError)
from .redaction import redact
from .rubric import Rubric, load_rubric
from .scoring import score

__version__ = "0.1.0"

__all__ = [
    "Engagement", "Rubric", "redact", "load_rubric", "score", "QcikitError", "ValidationError", "Problem", "RubricError",
    "RubricVersionError", "ScoringError", "SamplingError", "InventoryError", "ReliabilityError", "MetricsError",
    "RenderError",
]
