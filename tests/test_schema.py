"""The YAML records: the strict step decides only what pydantic would decide alike (issue 19's start-up)."""
import copy
import math
import subprocess
import sys

import numpy as np
import pytest
import yaml
from conftest import SAMPLES

from qcikit import _schema
from qcikit._schema import SchemaError, validate
from qcikit.engagement import EngagementConfig
from qcikit.importers._mapping import ImportSettings
from qcikit.rubric import RubricModel
from qcikit.templates import path as template

ODD_VALUES = ["0.5", "3", " 2 ", 0, -1, 2, 2.5, 150, 1e300, math.inf, math.nan, True, False, None, "", "  ",
              " padded ", "ok", "within_standard", "POL-\\d{6}", "(unclosed", "2026-13-01", "2026-06-30", "GB", "gb",
              "postgresql://u@h/db", "postgresql://u:pw@h/db", "Mars/Olympus", "Europe/London", [], ["a"], [" a"],
              [1, 2], {}, {"x": 1}, {1: "a"}, {"a": 0}, {"a": "1.5"}, {" k": 2}]


def _paths(node, prefix=()):
    """Every place in a parsed YAML tree: (container path, key) pairs."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield prefix, key
        yield from _paths(value, prefix + (key,))


def _mutated(doc, rng, n):
    """``n`` copies of ``doc``, each with one to three seeded changes: a value replaced by an odd one, a key
    dropped, an unknown key added, a string padded with spaces, or a sound change (a smaller number, a longer
    word, a shorter list)."""
    places = list(_paths(doc))
    for _ in range(n):
        out = copy.deepcopy(doc)
        for _ in range(int(rng.integers(1, 4))):
            prefix, key = places[int(rng.integers(len(places)))]
            parent = out
            try:
                for step in prefix:
                    parent = parent[step]
                parent[key]
            except (KeyError, IndexError, TypeError):
                continue
            if not isinstance(parent, (dict, list)):  # an earlier change put a string or number here
                continue
            kind, value = rng.integers(5), parent[key]
            if kind == 4:  # a sound change of the same type: the strict step's own case
                if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
                    parent[key] = value * float(rng.uniform(.5, 1))
                elif isinstance(value, str):
                    parent[key] = value + "s"
                elif isinstance(value, list) and len(value) > 1:
                    del value[-1]
            elif kind == 0:
                parent[key] = copy.deepcopy(ODD_VALUES[int(rng.integers(len(ODD_VALUES)))])
            elif kind == 1 and isinstance(parent, dict):
                del parent[key]
            elif kind == 2 and isinstance(parent, dict):
                parent["notes" if rng.random() < .5 else "colour"] = "x"
            elif isinstance(value, str):
                parent[key] = f" {parent[key]}\t"
        yield out


def _outcome(cls, data, fast):
    try:
        rec = validate(cls, data, fast=fast)
    except SchemaError as exc:
        return "problems", [(e["loc"], e["type"], e["msg"]) for e in exc.errors()]
    return "record", (_schema.as_dict(rec), {k: v for k, v in rec.__dict__.items()})


CASES = [
    (RubricModel, template("rubric.yaml")),
    *[(RubricModel, SAMPLES / name / "rubric.yaml") for name in ("northwind", "brightwave", "voltania")],
    *[(EngagementConfig, SAMPLES / name / "engagement.yaml") for name in ("northwind", "brightwave", "voltania")],
]


@pytest.mark.parametrize("cls, file", CASES, ids=lambda x: getattr(x, "__name__", None) or f"{x.parent.name}/{x.name}")
def test_the_strict_step_decides_as_pydantic_would(cls, file):
    """On 400 seeded mutations of each file (wrong types, numbers as text, padding, unknown and missing keys,
    broken constraints and checks) both steps give the same record or the same problems, word for word; and
    each step decides a fair share of them, so both are exercised."""
    doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    decided_here = 0
    rng = np.random.default_rng(19)
    for data in _mutated(doc, rng, 400):
        fast, slow = _outcome(cls, copy.deepcopy(data), True), _outcome(cls, copy.deepcopy(data), False)
        assert fast == slow, data
        try:
            _schema._strict(cls, copy.deepcopy(data))
            decided_here += 1
        except _schema._Doubt:
            pass
    assert 40 <= decided_here <= 360, decided_here


def test_import_settings_read_alike_by_both_steps():
    cases = [{}, {"touchpoints": {"web": "chat"}}, {"touchpoints": {360001234: "Billing"}}, {"teams": {"7": 8}},
             {"default_team": " Ops "}, {"default_team": 3}, {"touchpoint": {}}, {"teams": ["a"]}, None, []]
    decided = sum(1 for data in cases if _outcome(ImportSettings, copy.deepcopy(data), True)[0] == "record")
    for data in cases:
        assert _outcome(ImportSettings, copy.deepcopy(data), True) == _outcome(ImportSettings, copy.deepcopy(data), False)
    assert validate(ImportSettings, {"touchpoints": {360001234: "Billing"}}).touchpoints == {"360001234": "Billing"}
    assert decided >= 3


def test_a_record_keeps_extra_keys_and_types_numbers_as_pydantic_does():
    cfg = validate(EngagementConfig, {"client": "A", "slug": "a", "waves": ["w"], "notes": "kept", "target_qci": 90,
                                      "raters": ["ana", {"name": "ben", "role": "lead"}]})
    assert cfg.notes == "kept" and cfg.target_qci == 90.0 and isinstance(cfg.target_qci, float)
    assert [(r.name, r.role) for r in cfg.raters] == [("ana", "rater"), ("ben", "lead")]
    # A number written as text is pydantic's to read: the same record comes out.
    assert validate(EngagementConfig, {"client": "A", "slug": "a", "waves": ["w"], "confidence": "0.9"}).confidence == 0.9


def test_schema_error_names_each_key_and_pydantics_message():
    with pytest.raises(SchemaError, match=r"waves: Field required; margin: Input should be less than 1"):
        validate(EngagementConfig, {"client": "A", "slug": "a", "margin": 2})


def test_a_command_starts_and_loads_a_sound_engagement_without_pydantic():
    """pydantic is imported only when a file has something for it to decide (issue 19: its import and model
    builds were a third of a command's start)."""
    folders = [str(SAMPLES / name) for name in ("northwind", "brightwave", "voltania")]
    code = ("import sys, qcikit.cli, qcikit.engagement as e; "
            f"[e.Engagement.load(folder) for folder in {folders!r}]; "
            "print(sorted(m for m in ('pydantic', 'yaml', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['yaml']"
