"""qcikit — the Quality of Customer Interaction (QCI) methodology kit.

>>> import qcikit
>>> eng = qcikit.Engagement.load("data/samples/northwind")      # doctest: +SKIP
>>> qcikit.score(eng.scores, eng.rubric, eng.inventory_facets())  # doctest: +SKIP
"""
from .errors import (InventoryError, MetricsError, Problem, QcikitError, ReliabilityError, RenderError,
                     RubricError, RubricVersionError, SamplingError, ScoringError, ValidationError)

# The rest is imported on first use (PEP 562), so `qcikit --help` does not pay for pandas and scipy.
_LAZY = {"Engagement": "engagement", "redact": "redaction", "Rubric": "rubric", "load_rubric": "rubric",
         "score": "scoring"}


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    try:  # submodules as attributes (qcikit.metrics, qcikit.report …), as an eager package would have them
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise  # the submodule exists but a library it needs is missing: say so, do not hide it
        raise AttributeError(f"module 'qcikit' has no attribute '{name}'") from None


def __dir__():
    return sorted([*globals(), *_LAZY])


__version__ = "0.1.0"

__all__ = [
    "Engagement", "Rubric", "redact", "load_rubric", "score", "QcikitError", "ValidationError", "Problem", "RubricError",
    "RubricVersionError", "ScoringError", "SamplingError", "InventoryError", "ReliabilityError", "MetricsError",
    "RenderError",
]
