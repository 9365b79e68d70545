"""Starter files shipped with qcikit: rubric, scenario schema, concept catalogue,
engagement and answers skeletons, model-answer templates and report styling."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """Absolute path of a shipped template file (e.g. ``"rubric.yaml"``)."""
    return HERE / name


def starter_rubric():
    """The starter rubric (four dimensions, 16 elements) as a :class:`~qcikit.rubric.Rubric`."""
    from ..rubric import load_rubric

    return load_rubric(path("rubric.yaml"))


def starter_schema():
    """The starter scenario schema."""
    from ..inventory import load_schema

    return load_schema(path("scenarios.yaml"))


def concepts() -> pd.DataFrame:
    """The catalogue of service-improvement concepts, one row per concept and dimension."""
    data = yaml.safe_load(path("concepts.yaml").read_text(encoding="utf-8"))["concepts"]
    rows = [
        {"concept": c["concept"], "dimension": d, "description": c["description"], "prompt": " ".join(c["prompts"]),
         "serves": [w.lower() for w in c.get("serves", [])]}
        for c in data
        for d in c["dimensions"]
    ]
    return pd.DataFrame(rows)
