"""One engagement folder: load every file, validate, hand out typed DataFrames.

Validation collects **every** problem it can find (missing files and columns,
non-UTF-8 or empty files, bad dates, duplicate ids, unknown elements, points
out of range, scores for interactions outside the sample, unknown facet
levels, other rubric versions …) and reports them all at once in one
:class:`~qcikit.errors.ValidationError`.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError as PydanticError

from . import inventory as inv
from .errors import Problem, ValidationError
from .rubric import Rubric, RubricModel, validate_rubric_dict, _pydantic_problems
from .scoring import score

MAX_ROWS_LISTED = 10

REQUIRED = {
    "interactions.csv": ["interaction_id", "started_at", "touchpoint", "agent_id", "team", "wave", "transcript"],
    "sample.csv": ["interaction_id", "stratum", "weight"],
    "inventory.csv": ["interaction_id"],
    "scores.csv": ["interaction_id", "rater", "element", "points"],
    "gold.csv": ["interaction_id", "element", "points"],
    "mystery_shops.csv": ["competitor", "interaction_id", "element", "points"],
}


class BrandVoice(BaseModel):
    model_config = ConfigDict(extra="allow")
    tone: str = ""
    signature_phrases: list[str] = []
    avoid: list[str] = []
    sign_off: str = ""


class EngagementConfig(BaseModel):
    """The contents of ``engagement.yaml``."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)
    client: str = Field(min_length=1)
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    industry: str = ""
    brand_voice: BrandVoice = BrandVoice()
    value_focus: list[str] = []
    specific_extras: list[str] = []
    waves: list[str] = Field(min_length=1)
    competitors: list[str] = []
    seed: int = 0
    confidence: float = Field(default=0.95, gt=0, lt=1)
    margin: float = Field(default=0.05, gt=0, lt=1)
    strata: str | None = "touchpoint"
    target_qci: float = Field(default=80.0, ge=0, le=100)


@dataclass
class Engagement:
    """A loaded, validated engagement folder.

    Examples
    --------
    >>> import qcikit
    >>> eng = qcikit.Engagement.load("data/samples/northwind")  # doctest: +SKIP
    >>> eng.scored().head()  # doctest: +SKIP
    """

    path: Path
    config: EngagementConfig
    rubric: Rubric
    schema: inv.ScenarioSchema
    interactions: pd.DataFrame
    sample: pd.DataFrame | None = None
    inventory: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None
    gold: pd.DataFrame | None = None
    mystery_shops: pd.DataFrame | None = None
    answers: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> "Engagement":
        """Load and validate the folder; raise :class:`ValidationError` listing every problem."""
        loader = _Loader(Path(path))
        loader.run()
        if loader.problems:
            raise ValidationError(str(path), loader.problems)
        return loader.build(cls)

    @staticmethod
    def validate(path: str | Path) -> list[Problem]:
        """Every problem in the folder, as a list (empty when it is clean)."""
        loader = _Loader(Path(path))
        loader.run()
        return loader.problems

    @property
    def slug(self) -> str:
        return self.config.slug

    def scored(self, scores: pd.DataFrame | None = None) -> pd.DataFrame:
        """QCI per interaction and rater, with scenario weights from the inventory.

        The engagement's own scores are scored once and the result reused
        (a copy is returned, so callers cannot change the cache).
        """
        cached = getattr(self, "_scored", None)
        # Keyed on the scores object: assigning new scores to the engagement invalidates it.
        if scores is None and cached is not None and cached[0] is self.scores:
            return cached[1].copy()
        s = self.scores if scores is None else scores
        if s is None:
            raise ValidationError(str(self.path), [Problem("scores.csv", "", "there are no scores yet.",
                                                           "Score the sample (scoring form) or add scores.csv.")])
        out = score(s, self.rubric, self.inventory_facets(), source="scores.csv")
        if scores is None:
            self._scored = (self.scores, out)
        return out.copy()

    def inventory_facets(self) -> pd.DataFrame | None:
        if self.inventory is None:
            return None
        return self.inventory[["interaction_id", *self.schema.names]]


class _Loader:
    """Reads an engagement folder file by file, collecting problems instead of stopping."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.problems: list[Problem] = []
        self.data: dict[str, Any] = {}

    # -- helpers ---------------------------------------------------------
    def add(self, file: str, where: str, message: str, fix: str) -> None:
        self.problems.append(Problem(file, where, message, fix))

    def rows(self, file: str, mask: np.ndarray, message: Callable[[int], str], fix: str) -> None:
        """One problem per flagged row, up to MAX_ROWS_LISTED, then a count of the rest."""
        idx = np.flatnonzero(mask)
        for i in idx[:MAX_ROWS_LISTED]:
            self.add(file, f"row {i + 2}", message(int(i)), fix)
        if len(idx) > MAX_ROWS_LISTED:
            self.add(file, "", f"{len(idx) - MAX_ROWS_LISTED} more row(s) have the same kind of problem.", fix)

    def text(self, name: str, required: bool) -> str | None:
        path = self.folder / name
        if not path.is_file():
            if required:
                self.add(name, "", "the file is missing.",
                         "Create it (run `qcikit new` for a scaffold, or copy it from src/qcikit/templates/).")
            return None
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            self.add(name, f"line {line}", f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded).",
                     "Save it as UTF-8 (Excel: 'CSV UTF-8 (comma delimited)'; an editor: 'Save with encoding UTF-8').")
            return None
        if not text.strip():
            self.add(name, "", "the file is empty.", "Fill it in, or delete it if it is optional.")
            return None
        return text

    def yaml(self, name: str, required: bool = True) -> Any:
        text = self.text(name, required)
        if text is None:
            return None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else ""
            self.add(name, where, f"this is not valid YAML ({getattr(exc, 'problem', None) or exc}).",
                     "Correct the indentation or quoting on that line.")
            return None

    def csv(self, name: str, required: bool) -> pd.DataFrame | None:
        text = self.text(name, required)
        if text is None:
            return None
        try:
            # Strings everywhere: ids stay ids ("007" is not 7); numbers are converted below with row numbers.
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
        except pd.errors.ParserError as exc:
            self.add(name, "", f"the CSV cannot be parsed ({str(exc).strip()}).",
                     "Check that every row has as many fields as the header and that quotes are closed.")
            return None
        except pd.errors.EmptyDataError:
            self.add(name, "", "the file has no header row.", "Add the header line with the column names.")
            return None
        df.columns = [str(c).strip() for c in df.columns]
        missing = [c for c in REQUIRED.get(name, []) if c not in df.columns]
        if missing:
            self.add(name, "header", f"missing column(s) {', '.join(missing)}.",
                     f"Add the column(s); the file needs {', '.join(REQUIRED[name])}.")
            return None
        if len(df) == 0:
            self.add(name, "", "the file has a header but no rows.", "Add the data rows, or delete the file if it is optional.")
            return None
        return df

    def numeric(self, name: str, df: pd.DataFrame, col: str, allow_empty: bool, fix: str) -> pd.Series:
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = vals.isna() & df[col].notna()
        self.rows(name, bad.to_numpy(), lambda i: f"{col} '{df[col].iloc[i]}' is not a number.", fix)
        if not allow_empty:
            self.rows(name, df[col].isna().to_numpy(), lambda i: f"{col} is empty.", fix)
        return vals.astype(float)

    # -- the files -------------------------------------------------------
    def run(self) -> None:
        if not self.folder.is_dir():
            self.add(str(self.folder), "", "the engagement folder does not exist.",
                     "Check the path, or create one with `qcikit new DIR --client NAME`.")
            return
        self.load_config()
        self.load_schema()
        self.load_rubric()
        self.load_interactions()
        self.load_sample()
        self.load_inventory()
        self.load_scores("scores.csv", required=False)
        self.load_scores("gold.csv", required=False)
        self.load_mystery_shops()
        self.load_answers()

    def load_config(self) -> None:
        data = self.yaml("engagement.yaml")
        if data is None:
            return
        if not isinstance(data, dict):
            self.add("engagement.yaml", "", "the file must be a mapping of keys to values.", "Start from src/qcikit/templates/engagement.yaml.")
            return
        try:
            self.data["config"] = EngagementConfig.model_validate(data)
        except PydanticError as exc:
            self.problems.extend(_pydantic_problems("engagement.yaml", exc))

    def load_schema(self) -> None:
        data = self.yaml("scenarios.yaml")
        if data is None:
            return
        p = inv.validate_schema_dict(data)
        self.problems.extend(p)
        if not p:
            self.data["schema"] = inv.ScenarioSchema.from_dict(data)

    def load_rubric(self) -> None:
        data = self.yaml("rubric.yaml")
        if data is None:
            return
        schema = self.data.get("schema")
        p = validate_rubric_dict(data, "rubric.yaml", schema.facets if schema else None)
        self.problems.extend(p)
        if not p:
            self.data["rubric"] = Rubric(RubricModel.model_validate(data), "rubric.yaml")

    def _waves(self, name: str, df: pd.DataFrame) -> None:
        cfg = self.data.get("config")
        if cfg is None or "wave" not in df.columns:
            return
        bad = df["wave"].notna() & ~df["wave"].isin(cfg.waves)
        self.rows(name, bad.to_numpy(), lambda i: f"wave '{df['wave'].iloc[i]}' is not listed in engagement.yaml.",
                  f"Use one of {', '.join(cfg.waves)}, or add the wave to 'waves' in engagement.yaml.")

    def _duplicates(self, name: str, df: pd.DataFrame, keys: list[str], what: str) -> None:
        dup = df.duplicated(keys, keep="first").to_numpy()
        self.rows(name, dup, lambda i: f"{what} {', '.join(str(df[k].iloc[i]) for k in keys)} appears again.",
                  "Keep one row for each; delete or merge the repeat.")

    def load_interactions(self) -> None:
        name = "interactions.csv"
        df = self.csv(name, required=True)
        if df is None:
            return
        self._duplicates(name, df, ["interaction_id"], "interaction_id")
        self.rows(name, df["interaction_id"].isna().to_numpy(), lambda i: "interaction_id is empty.",
                  "Give every interaction a unique id.")
        when = pd.to_datetime(df["started_at"], errors="coerce", format="ISO8601")
        bad = (when.isna() & df["started_at"].notna()) | df["started_at"].isna()
        self.rows(name, bad.to_numpy(), lambda i: f"started_at '{df['started_at'].iloc[i]}' is not a date and time.",
                  "Write dates as ISO 8601, e.g. 2026-05-04 14:30.")
        df["started_at"] = when
        if "effort" in df.columns:
            eff = self.numeric(name, df, "effort", True, "Write the Customer Effort answer as a whole number 1–7, or leave it empty.")
            out = eff.notna() & ~eff.isin(range(1, 8))
            self.rows(name, out.to_numpy(), lambda i: f"effort {eff.iloc[i]:g} is outside 1–7.",
                      "Write the Customer Effort answer as a whole number 1–7, or leave it empty.")
            df["effort"] = eff
        schema = self.data.get("schema")
        if schema is not None and "touchpoint" in schema.facets:
            levels = schema.facets["touchpoint"]
            bad = ~df["touchpoint"].isin(levels)
            self.rows(name, bad.to_numpy(), lambda i: f"touchpoint '{df['touchpoint'].iloc[i]}' is not a level in scenarios.yaml.",
                      f"Use one of {', '.join(levels)}.")
        self._waves(name, df)
        df["transcript"] = df["transcript"].fillna("")
        self.data["interactions"] = df

    def _known_ids(self, name: str, df: pd.DataFrame, ids: pd.Series | None, where: str) -> None:
        if ids is None:
            return
        bad = ~df["interaction_id"].isin(ids)
        self.rows(name, bad.to_numpy(), lambda i: f"interaction '{df['interaction_id'].iloc[i]}' is not in {where}.",
                  f"Correct the id, or add the interaction to {where}.")

    def load_sample(self) -> None:
        name = "sample.csv"
        df = self.csv(name, required=False)
        if df is None:
            return
        self._duplicates(name, df, ["interaction_id"], "interaction_id")
        inter = self.data.get("interactions")
        self._known_ids(name, df, None if inter is None else inter["interaction_id"], "interactions.csv")
        w = self.numeric(name, df, "weight", False, "Write the design weight (stratum size ÷ stratum sample) as a number; `qcikit sample` writes it.")
        self.rows(name, (w.notna() & (w < 1)).to_numpy(), lambda i: f"weight {w.iloc[i]:g} is below 1.",
                  "A design weight is N_h / n_h, at least 1; redraw with `qcikit sample`.")
        df["weight"] = w
        self.data["sample"] = df

    def _sample_ids(self) -> tuple[pd.Series | None, str]:
        if self.data.get("sample") is not None:
            return self.data["sample"]["interaction_id"], "sample.csv"
        if self.data.get("interactions") is not None:
            return self.data["interactions"]["interaction_id"], "interactions.csv"
        return None, ""

    def load_inventory(self) -> None:
        name = "inventory.csv"
        df = self.csv(name, required=False)
        if df is None:
            return
        self._duplicates(name, df, ["interaction_id"], "interaction_id")
        ids, where = self._sample_ids()
        self._known_ids(name, df, ids, where)
        schema = self.data.get("schema")
        if schema is not None:
            p = inv.classification_problems(df, schema, name)
            self.problems.extend(p)
            if not p:
                df["scenario"] = inv.scenario_names(df, schema.names)
        self.data["inventory"] = df

    def load_scores(self, name: str, required: bool) -> None:
        df = self.csv(name, required)
        if df is None:
            return
        if name == "gold.csv" and "rater" not in df.columns:
            df["rater"] = "gold"
        self._score_checks(name, df)
        if name == "scores.csv":
            ids, where = self._sample_ids()
            self._known_ids(name, df, ids, where)
        else:
            scores = self.data.get("scores")
            if scores is not None:
                self._known_ids(name, df, scores["interaction_id"], "scores.csv")
        self._duplicates(name, df, ["interaction_id", "rater", "element"], "interaction, rater and element")
        self._waves(name, df)
        self.data[name.removesuffix(".csv")] = df

    def _score_checks(self, name: str, df: pd.DataFrame) -> None:
        rubric: Rubric | None = self.data.get("rubric")
        raw = df["points"].copy()
        pts = self.numeric(name, df, "points", True, "Write points as a number from 0 to the element's maximum, or leave empty for not applicable.")
        df["points"] = pts
        if rubric is None:
            return
        known = df["element"].isin(rubric.element_ids)
        self.rows(name, (~known).to_numpy(), lambda i: f"element '{df['element'].iloc[i]}' is not in rubric.yaml.",
                  f"Use an element id of the rubric ({', '.join(rubric.element_ids)}).")
        maxp = df["element"].map(rubric.max_points)
        over = known & pts.notna() & ((pts < 0) | (pts > maxp))
        self.rows(name, over.to_numpy(),
                  lambda i: f"element '{df['element'].iloc[i]}' has {pts.iloc[i]:g} points, outside 0–{maxp.iloc[i]:g}.",
                  "Correct the points to lie between 0 and the element's maximum (see rubric.yaml).")
        na_ok = df["element"].map(rubric.elements["na_allowed"]).fillna(True).astype(bool)
        bad_na = known & raw.isna() & ~na_ok
        self.rows(name, bad_na.to_numpy(), lambda i: f"element '{df['element'].iloc[i]}' is left empty (not applicable), which the rubric does not allow.",
                  "Score the element, or set na_allowed: true for it in rubric.yaml.")
        if "rubric_version" in df.columns:
            other = df["rubric_version"].notna() & (df["rubric_version"] != rubric.version)
            if other.any():
                versions = ", ".join(sorted(df.loc[other, "rubric_version"].unique()))
                first = int(np.argmax(other.to_numpy()))
                self.add(name, f"row {first + 2}",
                         f"{int(other.sum())} row(s) were scored under rubric version {versions}, not the current {rubric.version}.",
                         "Re-score them with the current rubric, or keep them in a separate engagement with their own rubric; versions are not mixed.")

    def load_mystery_shops(self) -> None:
        name = "mystery_shops.csv"
        df = self.csv(name, required=False)
        if df is None:
            return
        df["rater"] = df.get("rater", "shopper")
        self._score_checks(name, df)
        cfg = self.data.get("config")
        if cfg is not None:
            bad = ~df["competitor"].isin(cfg.competitors)
            self.rows(name, bad.to_numpy(), lambda i: f"competitor '{df['competitor'].iloc[i]}' is not listed in engagement.yaml.",
                      f"Use one of {', '.join(cfg.competitors) or '(none listed)'}, or add it to 'competitors'.")
        self._duplicates(name, df, ["competitor", "interaction_id", "element"], "competitor, shop and element")
        self.data["mystery_shops"] = df

    def load_answers(self) -> None:
        data = self.yaml("answers.yaml", required=False)
        if data is None:
            return
        if not isinstance(data, dict):
            self.add("answers.yaml", "", "the file must map element ids to snippets.", "Start from src/qcikit/templates/answers.yaml.")
            return
        rubric = self.data.get("rubric")
        if rubric is not None:
            for key in data.get("elements", {}) or {}:
                if key not in rubric.element_ids:
                    self.add("answers.yaml", f"key elements.{key}", f"element '{key}' is not in rubric.yaml.",
                             "Use an element id of the rubric.")
        self.data["answers"] = data

    def build(self, cls):
        d = self.data
        return cls(
            path=self.folder.resolve(), config=d["config"], rubric=d["rubric"], schema=d["schema"],
            interactions=d["interactions"], sample=d.get("sample"), inventory=d.get("inventory"),
            scores=d.get("scores"), gold=d.get("gold"), mystery_shops=d.get("mystery_shops"),
            answers=d.get("answers") or {},
        )
