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
from types import SimpleNamespace
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd

from . import inventory as inv
from ._frame import filter_rows, from_arrow, group_codes, isin, to_number
from .errors import Problem, QcikitError, ValidationError
from ._schema import SchemaError, record, spec, validate
from .rubric import Rubric, check_positive, check_regex, checked_rubric, schema_problems
from .scoring import score

MAX_ROWS_LISTED = 10
# From this size on a CSV is read by Arrow's reader: a score file of a few hundred kilobytes in a third of pandas'
# time, a population file in an eighth, both to the same frame (a malformed file falls back to the careful
# line-aware reader, which names what is wrong). Below it pandas is as fast as Arrow's start.
ARROW_CSV_BYTES = 65_536
STORE = "scores.sqlite"

REQUIRED = {
    "interactions.csv": ["interaction_id", "started_at", "touchpoint", "agent_id", "team", "wave", "transcript"],
    "sample.csv": ["interaction_id", "stratum", "weight"],
    "interactions.parquet": ["interaction_id", "started_at", "touchpoint", "agent_id", "team", "wave", "transcript"],
    "inventory.csv": ["interaction_id"],
    "scores.csv": ["interaction_id", "rater", "element", "points"],
    "gold.csv": ["interaction_id", "element", "points"],
    "mystery_shops.csv": ["competitor", "interaction_id", "element", "points"],
}


def delimiter(text: str) -> str:
    """The column delimiter of a CSV text, read off its header line.

    Excel saves "CSV" with ';' in most European locales and some tools write
    tabs; a header with one of those and no comma is read with it.

    >>> delimiter("interaction_id;rater;element;points\\n"), delimiter("a,b\\n")
    (';', ',')
    """
    head = text.partition("\n")[0]
    if "," in head:
        return ","
    for sep in (";", "\t", "|"):
        if sep in head:
            return sep
    return ","


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Store rows as the CSV reader would give them: strings, empty cells as NaN."""
    out = df[["interaction_id", "rater", "element", "points", "wave", "rubric_version"]].copy()
    out["points"] = out["points"].map(lambda x: np.nan if pd.isna(x) else f"{x:g}")
    for c in ("interaction_id", "rater", "element", "wave", "rubric_version"):
        out[c] = out[c].where(out[c].notna(), np.nan)
    return out.reset_index(drop=True)


def _unknown_scenario_elements(rubric: Rubric) -> np.ndarray:
    """The elements that apply where an interaction's scenario is not known (the rubric's weights before any
    scenario rule), as a (1 × elements) mask."""
    return rubric.scenario_factor_arrays(pd.DataFrame(index=[0]))[1] > 0


def _store_where(df: pd.DataFrame) -> Callable[[int], str]:
    """A store row has no line number; it is named by its interaction, rater and element."""
    return lambda i: f"interaction {df['interaction_id'].iloc[i]}, rater {df['rater'].iloc[i]}, element {df['element'].iloc[i]}"


@record
class BrandVoice:
    __extra__ = "allow"
    tone: str = ""
    signature_phrases: list[str] = spec(factory=list)
    avoid: list[str] = spec(factory=list)
    sign_off: str = ""


def _redaction_compiles(redaction: "Redaction") -> None:
    for label, pattern in redaction.patterns.items():
        check_regex(pattern, f"the pattern for '{label}'", "e.g. 'POL-\\d{6}'")


@record
class Redaction:
    """``redact:`` in engagement.yaml: what client-facing text loses besides e-mail addresses and phone numbers."""

    # A label and a regular expression per identifier of the client's, e.g. {"policy number": "POL-\\d{6}"}.
    patterns: dict[str, str] = spec(factory=dict)
    # The customer and agent names of interactions.csv's customer_name / agent_name columns.
    names: bool = True

    __after__ = _redaction_compiles


RaterRole = Literal["rater", "lead", "gold"]


def _rater_from_name(v: Any) -> Any:
    return {"name": v} if isinstance(v, str) else v


@record
class Rater:
    """One person who scores: a name and a role (rater, lead — settles disputes —, or gold)."""

    __strip__ = True
    name: str = spec(min_length=1)
    role: RaterRole = "rater"

    __before__ = _rater_from_name


def _server_url(value: str | None) -> str | None:
    from urllib.parse import urlsplit

    if value is None:
        return value
    if not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("store must be a PostgreSQL URL, postgresql://host/database (or absent: scores.sqlite)")
    if urlsplit(value).password is not None:
        raise ValueError("store must not hold a password: put it in ~/.pgpass or PGPASSWORD, and write "
                         "postgresql://user@host/database")
    return value


def _positive_standards(value: dict[str, float]) -> dict[str, float]:
    return check_positive(value, "response standards must be seconds greater than 0")


def _known_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not an IANA time zone; write it as Europe/London, America/New_York or UTC"
                         ) from None
    return value


@record
class EngagementConfig:
    """The contents of ``engagement.yaml`` (read one with :meth:`validate`)."""

    __extra__ = "allow"
    __strip__ = True
    client: str = spec(min_length=1)
    slug: str = spec(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    industry: str = ""
    brand_voice: BrandVoice = spec(factory=BrandVoice)
    value_focus: list[str] = spec(factory=list)
    specific_extras: list[str] = spec(factory=list)
    waves: list[str] = spec(min_length=1)
    competitors: list[str] = spec(factory=list)
    seed: int = 0
    confidence: float = spec(0.95, gt=0, lt=1)
    margin: float = spec(0.05, gt=0, lt=1)
    strata: str | None = "touchpoint"
    target_qci: float = spec(80.0, ge=0, le=100)
    # Report a wave only when at least this share of each stratum's sample is scored (0: always report).
    min_scored_share: float = spec(0.0, ge=0, le=1)
    raters: list[Rater] = spec(factory=list)
    country: str | None = spec(None, pattern=r"^[A-Z]{2}$")
    # The IANA time zone imported timestamps are written in (`qcikit import`); transcripts carry no offset.
    timezone: str = "UTC"
    redact: Redaction = spec(factory=Redaction)
    # The auto-scorer whose machine scores, corrected by the human sample, give the report's headline QCI.
    assisted: str | None = None
    # A rater team's shared store: postgresql://host/database (QCIKIT_STORE overrides); default scores.sqlite.
    store: str | None = None
    # Seconds within which a first response meets the channel's standard, per touchpoint level (the rules
    # scorer's timing rules); merged over the starter rubric's email 4 h, chat 60 s, phone 90 s, in person 3 min.
    response_standards: dict[str, float] = spec(factory=dict)

    __checks__ = {"store": _server_url, "response_standards": _positive_standards, "timezone": _known_zone}

    @classmethod
    def validate(cls, data: Any) -> "EngagementConfig":
        """``data`` (engagement.yaml's mapping) checked; :class:`~qcikit._schema.SchemaError` lists the problems."""
        return validate(cls, data)

    @property
    def rater_names(self) -> list[str]:
        return [r.name for r in self.raters]


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
    ratings: pd.DataFrame | None = field(default=None, repr=False)
    scores_source: str = "none"

    @classmethod
    def load(cls, path: str | Path, on_population: Callable | None = None,
             on_rubric: Callable | None = None) -> "Engagement":
        """Load and validate the folder; raise :class:`ValidationError` listing every problem.

        ``on_population(frame, config, rubric)`` is called once interactions.csv (or .parquet) is read and
        before it is checked, when engagement.yaml and rubric.yaml loaded cleanly: ``qcikit autoscore`` starts
        scoring the population there (:func:`qcikit.assist.start_rules`) while the rest is checked. What it
        starts must be undone by its caller if the load then fails. ``on_rubric(config, rubric)`` is called
        when those two loaded cleanly, before the population is read: ``qcikit autoscore`` makes its rules on
        a thread there (:func:`qcikit.assist.prepare_rules`). An error either hook raises is ignored."""
        loader = _Loader(Path(path), on_population, on_rubric)
        loader.run()
        if loader.problems:
            raise ValidationError(str(path), loader.problems)
        return loader.build(cls)

    @classmethod
    def check(cls, path: str | Path) -> tuple[list[Problem], "Engagement | None"]:
        """Every problem in the folder, and the loaded engagement when there is none: one read of the files
        (``qcikit validate`` on a million interactions reads them once, not twice)."""
        loader = _Loader(Path(path))
        loader.run()
        return (loader.problems, None) if loader.problems else ([], loader.build(cls))

    @staticmethod
    def validate(path: str | Path) -> list[Problem]:
        """Every problem in the folder, as a list (empty when it is clean)."""
        loader = _Loader(Path(path))
        loader.run()
        return loader.problems

    @property
    def slug(self) -> str:
        return self.config.slug

    @property
    def own_ratings(self) -> pd.DataFrame | None:
        """Each rater's own latest ratings, before any dispute was settled: what agreement is computed on.

        ``scores`` holds the settled values (what metrics use); the two differ only
        where a dispute was settled in the store.
        """
        return self.ratings if self.ratings is not None else self.scores

    def open_store(self):
        """The engagement's score store (``scores.sqlite``, created on first use, or the configured server).

        A new store first takes in the rows of scores.csv, so the scores typed
        in the form join those already scored and none is left behind.
        """
        from .store import Store, locate

        location, key = locate(self.path, self.config.store, self.config.slug)
        if key is not None:  # a team's server: made by `qcikit store init`, which takes in scores.csv
            return Store(location, key=key, create=False)
        new = not Path(location).exists()
        store = Store(location)
        if new and self.scores is not None and self.scores_source == "scores.csv":
            store.import_scores(self.scores)
        return store

    def has_store(self) -> bool:
        """Whether the scores live in a store (a file in the folder, or a configured server) rather than scores.csv."""
        from .store import in_use, locate

        return in_use(*locate(self.path, self.config.store, self.config.slug))

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

    # -- personal data out of what the client and the raters read ----------------------------------
    NAME_COLUMNS = ("customer_name", "agent_name")

    def _names(self, interaction_id) -> list[str]:
        if interaction_id is None or not self.config.redact.names:
            return []
        cols = [c for c in self.NAME_COLUMNS if c in self.interactions.columns]
        if not cols:
            return []
        cache = self.__dict__.setdefault("_name_index", {})
        if "index" not in cache:
            cache["index"] = self.interactions.set_index("interaction_id")[cols]
        try:
            row = cache["index"].loc[interaction_id]
        except KeyError:
            return []
        return [str(v) for v in row.to_numpy().ravel() if isinstance(v, str) and v.strip()]

    def redact(self, text, interaction_id=None) -> str:
        """``text`` with e-mail addresses, phone numbers, engagement.yaml's ``redact: patterns`` and (with an
        ``interaction_id``) that interaction's customer and agent names replaced by placeholders."""
        return self.redact_counted(text, interaction_id)[0]

    def redact_counted(self, text, interaction_id=None) -> tuple[str, dict[str, int]]:
        from .redaction import redact_counted

        return redact_counted(text, self.config.country, self.config.redact.patterns, self._names(interaction_id))

    def redaction_kinds(self) -> list[str]:
        """What :meth:`redact` looks for, in words (a label may only claim what was done)."""
        kinds = ["e-mail addresses", "phone numbers"]
        kinds += [k if k.endswith("s") else k + "s" for k in self.config.redact.patterns]
        if self.config.redact.names and any(c in self.interactions.columns for c in self.NAME_COLUMNS):
            kinds.append("names")
        return kinds

    def inventory_facets(self) -> pd.DataFrame | None:
        if self.inventory is None:
            return None
        return self.inventory[["interaction_id", *self.schema.names]]


def read_scores_csv(path: str | Path) -> pd.DataFrame:
    """Read a scores CSV as validation reads it (delimiter, BOM, numbers with row numbers).

    Raises :class:`ValidationError` listing every problem of the file itself
    (rubric and sample checks belong to :meth:`Engagement.validate`).
    """
    path = Path(path)
    loader = _Loader(path.parent)
    df = loader.csv(path.name, required=True)
    if df is not None:
        loader._score_checks(path.name, df)
    if loader.problems:
        raise ValidationError(str(path), loader.problems)
    return df


class _Loader:
    """Reads an engagement folder file by file, collecting problems instead of stopping."""

    def __init__(self, folder: Path, on_population: Callable | None = None, on_rubric: Callable | None = None):
        self.folder = folder
        self.on_population, self.on_rubric = on_population, on_rubric
        self.problems: list[Problem] = []
        self.data: dict[str, Any] = {}
        self.dialect: dict[str, str] = {}
        # The population's file, named in messages about ids (interactions.parquet for large populations).
        self.population = "interactions.csv"
        # The score store as messages name it: the file, or a server's URL (without password) and engagement key.
        self.store_name = STORE

    # -- helpers ---------------------------------------------------------
    def add(self, file: str, where: str, message: str, fix: str) -> None:
        self.problems.append(Problem(file, where, message, fix))

    def rows(self, file: str, mask: np.ndarray, message: Callable[[int], str], fix: str,
             where: Callable[[int], str] | None = None) -> None:
        """One problem per flagged row, up to MAX_ROWS_LISTED, then a count of the rest.

        ``where`` names a row (default: its line in the CSV, header = line 1)."""
        idx = np.flatnonzero(mask)
        for i in idx[:MAX_ROWS_LISTED]:
            self.add(file, where(int(i)) if where else f"row {i + 2}", message(int(i)), fix)
        if len(idx) > MAX_ROWS_LISTED:
            self.add(file, "", f"{len(idx) - MAX_ROWS_LISTED} more row(s) have the same kind of problem.", fix)

    def values(self, file: str, df: pd.DataFrame, col: str, bad: np.ndarray, message: Callable[[str], str],
               fix: Callable[[str], str], where: Callable[[int], str] | None = None) -> None:
        """One problem per distinct wrong value of ``col`` (a typo repeated on 200 rows is one mistake), at its
        first row, with how many rows share it."""
        idx = np.flatnonzero(bad)
        if not len(idx):
            return
        vals = df[col].to_numpy()[idx]
        firsts = pd.Series(idx).groupby(pd.Series(vals, dtype=object).fillna("")).agg(["first", "size"])
        for value, (i, n) in list(firsts.sort_values("first").iterrows())[:MAX_ROWS_LISTED]:
            more = f" ({n} rows)" if n > 1 else ""
            self.add(file, where(int(i)) if where else f"row {int(i) + 2}", message(str(value)) + more + ".", fix(str(value)))

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
        import yaml

        try:
            # libyaml's loader when PyYAML has it: a rubric parses ten times faster than in pure Python.
            return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else ""
            self.add(name, where, f"this is not valid YAML ({getattr(exc, 'problem', None) or exc}).",
                     "Correct the indentation or quoting on that line.")
            return None

    def _arrow_csv(self, name: str) -> tuple[pd.DataFrame, str, str] | None:
        """A CSV read by Arrow's multithreaded reader into Arrow-backed strings: no Python string per cell and no
        copy of the whole file in memory (a million transcripts). None when pyarrow is missing, the file is small
        or malformed, or its header has a blank or repeated name (which pandas names apart: "Unnamed: 3", "a.1");
        the careful reader below then reads it, and reports every problem with its line."""
        path = self.folder / name
        if not path.is_file() or path.stat().st_size < ARROW_CSV_BYTES:
            return None
        try:
            import pyarrow as pa
            import pyarrow.csv as pacsv
        except ImportError:
            return None
        with open(path, "rb") as fh:
            head = fh.read(65536).decode("utf-8-sig", errors="replace")
        import csv as csvlib

        sep = delimiter(head)
        header_line = head.partition("\n")[0]
        header = next(csvlib.reader([header_line], delimiter=sep), [])
        names = [c.strip() for c in header]
        if "" in names or len(set(names)) < len(names):
            return None
        try:
            # Read through a memory map: the parser reads the page cache in place, where reading the file copied
            # it first (a million transcripts: 1.6 GB, about half a second of the kernel's time). Arrow copies
            # the values it keeps, so nothing holds the map once the table is made.
            with pa.memory_map(str(path)) as source:
                table = pacsv.read_csv(
                    source, read_options=pacsv.ReadOptions(use_threads=True),
                    parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
                    convert_options=pacsv.ConvertOptions(column_types={c: pa.large_string() for c in header},
                                                         null_values=[""], strings_can_be_null=True,
                                                         quoted_strings_can_be_null=True))
        except (pa.ArrowInvalid, UnicodeDecodeError, ValueError):
            return None
        df = from_arrow(table)
        df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
        return df, sep, header_line

    def csv(self, name: str, required: bool) -> pd.DataFrame | None:
        fast = self._arrow_csv(name)
        if fast is not None:
            df, sep, header_line = fast
            return self._checked_frame(name, df, sep, header_line, required)
        text = self.text(name, required)
        if text is None:
            return None
        sep = delimiter(text)
        try:
            # Strings everywhere: ids stay ids ("007" is not 7); numbers are converted below with row numbers.
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""], sep=sep)
        except pd.errors.ParserError as exc:
            self.add(name, "", f"the CSV cannot be parsed ({str(exc).strip()}).",
                     "Check that every row has as many fields as the header and that quotes are closed.")
            return None
        except pd.errors.EmptyDataError:
            self.add(name, "", "the file has no header row.", "Add the header line with the column names.")
            return None
        df.columns = [str(c).strip() for c in df.columns]
        return self._checked_frame(name, df, sep, text.partition("\n")[0], required)

    def _checked_frame(self, name: str, df: pd.DataFrame, sep: str, header_line: str,
                       required: bool = True) -> pd.DataFrame | None:
        """The required columns and at least one row, whichever reader read the file."""
        self.dialect[name] = sep
        missing = [c for c in REQUIRED.get(name, []) if c not in df.columns]
        if missing:
            other = [d for d in (";", "\t", "|") if d != sep and d in header_line]
            if other:
                shown = {"\t": "a tab", ";": "';'", "|": "'|'"}[other[0]]
                self.add(name, "header", f"the header mixes ',' and {shown} between columns, so the columns "
                         f"{', '.join(missing)} cannot be found.",
                         "Save it as 'CSV UTF-8 (comma delimited)' (Excel) with one delimiter throughout.")
            else:
                self.add(name, "header", f"missing column(s) {', '.join(missing)}.",
                         f"Add the column(s); the file needs {', '.join(REQUIRED[name])}.")
            return None
        if len(df) == 0:
            fix = (f"Add one row per interaction of the period with the columns {', '.join(REQUIRED[name])} (see "
                   "docs/formats.md); it is required, since the sample is drawn from it."
                   if required else "Add the data rows, or delete the file (it is optional).")
            self.add(name, "", "the file has a header but no rows.", fix)
            return None
        return df

    def numeric(self, name: str, df: pd.DataFrame, col: str, allow_empty: bool, fix: str, where=None) -> pd.Series:
        raw = df[col]
        if self.dialect.get(name) == ";":
            # Where ';' separates columns (Excel in most European locales), ',' is the decimal mark: 2,5 = 2.5.
            raw = raw.str.replace(r"^(-?\d+),(\d+)$", r"\1.\2", regex=True)
        vals = to_number(raw)
        empty = df[col].isna().to_numpy()
        self.rows(name, np.isnan(vals.to_numpy(dtype=float)) & ~empty, lambda i: f"{col} '{df[col].iloc[i]}' is not a number.",
                  fix, where)
        if not allow_empty:
            self.rows(name, empty, lambda i: f"{col} is empty.", fix, where)
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
        self._call(self.on_rubric)
        self.load_interactions()
        self.load_sample()
        self.load_inventory()
        self.load_scores("scores.csv", required=False)
        self.load_scores("gold.csv", required=False)
        self.load_mystery_shops()
        self.load_answers()
        self.load_import_settings()
        self.load_autoscores()
        self.check_raters()
        self.check_inventory()
        for name in ("scores", "gold"):
            self.check_complete(name)

    def _call(self, hook: Callable | None, *frame) -> None:
        """A caller's hook (see :meth:`Engagement.load`), with the config and rubric, when both loaded cleanly."""
        if hook is not None and not self.problems and {"config", "rubric"} <= self.data.keys():
            try:
                hook(*frame, self.data["config"], self.data["rubric"])
            except Exception:  # noqa: BLE001 - an early start is an optimisation: its caller works without it
                pass

    def load_autoscores(self) -> None:
        """autoscores.csv or autoscores.parquet (machine scores): ids, elements and points are checked like scores'."""
        inter, rubric = self.data.get("interactions"), self.data.get("rubric")
        if inter is None or rubric is None:
            return
        from . import assist

        try:
            path = assist.autoscores_file(self.folder)
            if path is None:
                return
            key = assist.file_key(path)
            rows = assist.read_autoscores(path)
        except QcikitError as exc:
            named = next((n for n in (assist.AUTOSCORES, assist.AUTOSCORES_PARQUET) if (self.folder / n).is_file()), "")
            text = str(exc)
            for prefix in (f"{self.folder / named}, ", f"{self.folder / named}: ", f"{self.folder}: "):
                text = text.removeprefix(prefix)
            where, _, rest = text.partition(": ") if text.startswith("row ") else ("", "", text)
            message, _, fix = rest.partition(" Fix: ")
            self.add(named, where, message, fix or "Correct the file (docs/formats.md, 'autoscores.csv').")
            return
        for message, fix in assist.autoscore_problems(SimpleNamespace(interactions=inter, rubric=rubric), rows):
            self.add(path.name, "", message, fix)
        self.data["autoscores_file"] = (key, rows)  # the engagement keeps what was read (assist.keep_file_rows)

    def load_import_settings(self) -> None:
        """import.yaml (how `qcikit import` maps channels and groups): checked here so a mistake shows before an import."""
        if not (self.folder / "import.yaml").is_file():
            return
        from .importers._mapping import Mapper, load_settings

        schema = self.data.get("schema")
        try:
            settings = load_settings(self.folder)
            if schema is not None and "touchpoint" in schema.facets:
                Mapper(settings, schema.facets["touchpoint"])
        except QcikitError as exc:
            text = str(exc).removeprefix("import.yaml, ").removeprefix("import.yaml: ")
            where, _, rest = text.partition(": ")
            message, _, fix = rest.partition(" Fix: ")
            self.add("import.yaml", where, message, fix or "Correct the key (docs/formats.md, 'import.yaml').")

    def load_config(self) -> None:
        data = self.yaml("engagement.yaml")
        if data is None:
            return
        if not isinstance(data, dict):
            self.add("engagement.yaml", "", "the file must be a mapping of keys to values.", "Start from src/qcikit/templates/engagement.yaml.")
            return
        try:
            self.data["config"] = validate(EngagementConfig, data)
        except SchemaError as exc:
            self.problems.extend(schema_problems("engagement.yaml", exc))

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
        model, p = checked_rubric(data, "rubric.yaml", schema.facets if schema else None)
        self.problems.extend(p)
        if not p:
            self.data["rubric"] = Rubric(model, "rubric.yaml")

    def _waves(self, name: str, df: pd.DataFrame, where=None) -> None:
        cfg = self.data.get("config")
        if cfg is None or "wave" not in df.columns:
            return
        bad = df["wave"].notna().to_numpy() & ~isin(df["wave"], cfg.waves)
        self.values(name, df, "wave", bad, lambda v: f"wave '{v}' is not listed in engagement.yaml",
                    lambda v: f"Use one of {', '.join(cfg.waves)}, or add the wave to 'waves' in engagement.yaml.", where)

    def _duplicates(self, name: str, df: pd.DataFrame, keys: list[str], what: str) -> None:
        if len(keys) == 1 and isinstance(df[keys[0]].dtype, pd.StringDtype) and df[keys[0]].dtype.storage == "pyarrow":
            import pyarrow as pa
            import pyarrow.compute as pc

            # A million ids with no repeat (the usual case) are told by Arrow's hash table in two thirds of the
            # time pandas takes to flag each row; a repeat is then found row by row below. A missing value
            # counts once in both, as a value of its own.
            if len(pc.unique(pa.array(df[keys[0]].array))) == len(df):
                return
        dup = df.duplicated(keys, keep="first").to_numpy()
        self.rows(name, dup, lambda i: f"{what} {', '.join(str(df[k].iloc[i]) for k in keys)} appears again.",
                  "Keep one row for each; delete or merge the repeat.")

    def parquet(self, name: str) -> pd.DataFrame | None:
        """A Parquet population file as the same frame of strings a CSV gives (every column cast to text), so
        that every check below reads it alike; columns a step never uses cost no Python objects either."""
        try:
            import pyarrow as pa
            import pyarrow.compute as pc
            import pyarrow.parquet as pq
        except ImportError:
            self.add(name, "", "reading a Parquet file needs pyarrow, which a plain install leaves out.",
                     "pip install 'qcikit[parquet]', or save the population as interactions.csv.")
            return None
        try:
            table = pq.read_table(self.folder / name)
        except (pa.ArrowException, OSError) as exc:
            self.add(name, "", f"the file cannot be read as Parquet ({str(exc).splitlines()[0]}).",
                     "Write it again with pandas' to_parquet or pyarrow, or save it as interactions.csv.")
            return None
        text = pa.table({f.name: (pc.cast(table[f.name], pa.large_string()) if not pa.types.is_large_string(f.type)
                                  else table[f.name]) for f in table.schema})
        df = from_arrow(text)  # every column is text here
        for col in (c for c in df.columns if c != "transcript"):  # an empty cell is missing, as in a CSV
            df[col] = df[col].mask(df[col] == "")
        return self._checked_frame(name, df, ",", "")

    def load_interactions(self) -> None:
        name = "interactions.csv"
        if (self.folder / "interactions.parquet").is_file():
            # Columnar files for large populations: accepted wherever interactions.csv is (docs/formats.md).
            csv = self.folder / name
            if csv.is_file() and len(csv.read_bytes()[:4096].splitlines()) > 1:
                self.add(name, "", "both interactions.csv and interactions.parquet hold interactions, so which is "
                         "the population cannot be told.", "Keep one: delete or rename the other.")
                return
            name = self.population = "interactions.parquet"
            df = self.parquet(name)
        else:
            df = self.csv(name, required=True)
        if df is None:
            return
        self._call(self.on_population, df)
        self._duplicates(name, df, ["interaction_id"], "interaction_id")
        self.rows(name, df["interaction_id"].isna().to_numpy(), lambda i: "interaction_id is empty.",
                  "Give every interaction a unique id.")
        when = pd.to_datetime(df["started_at"], errors="coerce", format="ISO8601")
        bad = (when.isna() & df["started_at"].notna()) | df["started_at"].isna()
        # Day/month/year as Excel shows it: name it as such when it reads as a date either way round. Only the
        # rows that failed are parsed again (format="mixed" goes row by row through dateutil).
        text = df["started_at"].fillna("")[bad]
        excel = pd.Series(False, index=df.index)
        excel[bad] = text.str.match(r"^\s*\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b") & (
            pd.to_datetime(text, errors="coerce", dayfirst=True, format="mixed").notna()
            | pd.to_datetime(text, errors="coerce", dayfirst=False, format="mixed").notna())
        self.rows(name, (bad & excel).to_numpy(),
                  lambda i: f"started_at '{df['started_at'].iloc[i]}' is written day/month/year (or month/day/year) "
                            "as Excel shows dates; which number is the month cannot be told safely.",
                  "Write dates as ISO 8601, e.g. 2026-05-04 14:30 (in Excel, format the column as yyyy-mm-dd hh:mm "
                  "before saving).")
        self.rows(name, (bad & ~excel).to_numpy(), lambda i: f"started_at '{df['started_at'].iloc[i]}' is not a date and time.",
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
            bad = ~isin(df["touchpoint"], levels)
            self.values(name, df, "touchpoint", bad, lambda v: f"touchpoint '{v}' is not a level in scenarios.yaml",
                        lambda v: f"Use one of {', '.join(levels)}, or add '{v}' to the touchpoint facet in scenarios.yaml.")
        self._waves(name, df)
        df["transcript"] = df["transcript"].fillna("")
        self.data["interactions"] = df

    def _known_ids(self, name: str, df: pd.DataFrame, ids: pd.Series | None, where: str, row=None) -> None:
        """Ids must be known to ``where``; when that is the sample, an id missing from interactions.csv too is a
        wrong id (the fix is to correct it, never to add it to the sample)."""
        if ids is None:
            return
        bad = ~isin(df["interaction_id"], ids)
        inter = self.data.get("interactions")
        if where == "sample.csv" and inter is not None:
            unknown = bad & ~isin(df["interaction_id"], inter["interaction_id"])
            pop = self.population
            self.values(name, df, "interaction_id", unknown,
                        lambda v: f"interaction '{v}' is not in {pop}, so it cannot have been sampled",
                        lambda v: f"Correct the id: every scored interaction is one of {pop}, drawn into sample.csv.", row)
            self.values(name, df, "interaction_id", bad & ~unknown,
                        lambda v: f"interaction '{v}' is in {pop} but not in sample.csv (it was not sampled)",
                        lambda v: "Score only sampled interactions; if the sample is out of date, redraw it with "
                                  "`qcikit sample --force` before scoring.", row)
            return
        self.values(name, df, "interaction_id", bad, lambda v: f"interaction '{v}' is not in {where}",
                    lambda v: f"Correct the id, or add the interaction to {where}.", row)

    def load_sample(self) -> None:
        name = "sample.csv"
        df = self.csv(name, required=False)
        if df is None:
            return
        self._duplicates(name, df, ["interaction_id"], "interaction_id")
        inter = self.data.get("interactions")
        self._known_ids(name, df, None if inter is None else inter["interaction_id"], self.population)
        w = self.numeric(name, df, "weight", False, "Write the design weight (stratum size ÷ stratum sample) as a number; `qcikit sample` writes it.")
        self.rows(name, (w.notna() & (w < 1)).to_numpy(), lambda i: f"weight {w.iloc[i]:g} is below 1.",
                  "A design weight is N_h / n_h, at least 1; redraw with `qcikit sample`.")
        df["weight"] = w
        self.data["sample"] = df

    def _sample_ids(self) -> tuple[pd.Series | None, str]:
        if self.data.get("sample") is not None:
            return self.data["sample"]["interaction_id"], "sample.csv"
        if self.data.get("interactions") is not None:
            return self.data["interactions"]["interaction_id"], self.population
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
        if name == "scores.csv" and self._store_location() is not None:
            self.load_store()
            return
        df = self.csv(name, required)
        if df is None:
            return
        if name == "scores.csv":
            self.data["scores_source"] = "scores.csv"
        if name == "gold.csv":
            self.data["gold_has_rater"] = "rater" in df.columns
            if "rater" not in df.columns:
                df["rater"] = "gold"
        self._score_checks(name, df)
        if name == "scores.csv":
            ids, where = self._sample_ids()
            self._known_ids(name, df, ids, where)
        else:
            scores = self.data.get("scores")
            if scores is not None:
                self._known_ids(name, df, scores["interaction_id"], "scores.csv")
            if "rules" in df.columns:
                self._rule_checks(name, df)
        if name == "scores.csv" and ("rules" in df.columns or "evidence" in df.columns):
            # A rater's rules and quote are optional; given, they must be the element's rules and the transcript's words.
            self._rule_checks(name, df, arithmetic=False)
        self._duplicates(name, df, ["interaction_id", "rater", "element"], "interaction, rater and element")
        self._waves(name, df)
        self.data[name.removesuffix(".csv")] = df

    def _rule_checks(self, file: str, df: pd.DataFrame, arithmetic: bool = True) -> None:
        """``rules`` name rules of the row's element and, for gold (``arithmetic``), give its points by the rubric's
        arithmetic; ``evidence`` quotes the transcript verbatim."""
        rubric = self.data.get("rubric")
        if rubric is None:
            return
        signed = {e: rubric.rule_deltas(e) for e in rubric.element_ids}
        text = (df["rules"] if "rules" in df.columns else pd.Series("", index=df.index)).fillna("").astype(str)
        element = df["element"].astype(str)
        points = pd.to_numeric(df["points"], errors="coerce").to_numpy(dtype=float)
        # The rubric's arithmetic once per distinct element and rules text (a gold file repeats them), not per row:
        # the text is split into rule ids for those alone.
        codes, first = group_codes(pd.DataFrame({"element": element, "rules": text}), ["element", "rules"])
        combos = [(e, tuple(r.split())) for e, r in zip(element.to_numpy()[first].tolist(), text.to_numpy()[first].tolist())]
        known_u = np.array([e in signed for e, _ in combos], dtype=bool)
        unknown_u = np.array([e in signed and any(r not in signed[e] for r in ids) for e, ids in combos], dtype=bool)
        worth_u = np.array([rubric.points_for(e, list(ids)) if k and not u else np.nan
                            for (e, ids), k, u in zip(combos, known_u, unknown_u)], dtype=float)
        unknown = unknown_u[codes]
        missing = np.isnan(points)
        expect = np.where(missing, np.nan, worth_u[codes])
        has_rules = np.array([bool(ids) for _, ids in combos], dtype=bool)[codes]
        wrong = (known_u[codes] & ~unknown & arithmetic
                 & ((has_rules & missing) | (~missing & (expect != points))))
        if "evidence" in df.columns:
            self._evidence_check(file, df, has_rules, required=arithmetic)
        self.rows(file, unknown, lambda i: f"rules '{df['rules'].iloc[i]}' name a rule that element "
                  f"'{df['element'].iloc[i]}' does not have (its rules: {', '.join(signed[df['element'].iloc[i]])}).",
                  "Use the rule ids from rubric.yaml, separated by spaces.")
        said = lambda i: f"rules '{df['rules'].iloc[i]}' give" if has_rules[i] else "no rule fired, which gives"  # noqa: E731
        self.rows(file, wrong, lambda i: f"{said(i)} {expect[i]:g} point(s) for "
                  f"'{df['element'].iloc[i]}' by the rubric, but points is '{df['points'].iloc[i]}'."
                  if not np.isnan(expect[i]) else f"rules are given for '{df['element'].iloc[i]}' but points is empty "
                  "(not applicable).", "Correct the points or the rules so that one follows from the other.")

    def _evidence_check(self, file: str, df: pd.DataFrame, has_rules: np.ndarray, required: bool) -> None:
        """Evidence must be a verbatim quote of the interaction's transcript (gold's is what trainees are shown as
        the words that decided the points); in gold (``required``) a row whose rules fired must quote something."""
        from .scoring import squash

        evidence = df["evidence"].fillna("").astype(str)
        fired = has_rules & required
        self.rows(file, fired & (evidence.str.strip() == "").to_numpy(),
                  lambda i: f"rules '{df['rules'].iloc[i]}' fired for '{df['element'].iloc[i]}' but evidence is empty.",
                  "Quote the transcript's words that made the rule fire, verbatim, in the evidence column.")
        inter = self.data.get("interactions")
        if inter is None:
            return
        # Duplicate ids are reported where interactions.csv is read; the first row's transcript stands here. Each
        # transcript is squashed once (a gold interaction has a row per element), and only the ones quoted from.
        ids = df["interaction_id"]
        # The quoted interactions' rows alone (a boolean filter: a million transcripts are never copied).
        quoted_from = filter_rows(inter, isin(inter["interaction_id"], ids), ["interaction_id", "transcript"])
        # A duplicated or unknown id is reported where it is checked; its evidence cannot be judged here.
        dup = isin(ids, quoted_from.loc[quoted_from["interaction_id"].duplicated(), "interaction_id"]) | ~isin(ids, quoted_from["interaction_id"])
        quoted_from = quoted_from.drop_duplicates("interaction_id")
        text = {i: squash(t) for i, t in zip(*(quoted_from[c].to_numpy().tolist() for c in quoted_from))}
        given = np.flatnonzero((evidence != "").to_numpy())  # an empty quote is judged above
        quoted = np.ones(len(df), dtype=bool)
        quoted[given] = [not (q := squash(e)) or q in text.get(i, "")
                         for e, i in zip(evidence.to_numpy()[given].tolist(), ids.to_numpy()[given].tolist())]
        quoted |= dup
        self.rows(file, ~quoted,
                  lambda i: f"evidence '{evidence.iloc[i][:60]}' for '{df['element'].iloc[i]}' is not a verbatim quote of "
                            f"interaction {df['interaction_id'].iloc[i]}'s transcript.",
                  "Copy the words from the transcript exactly (paste, do not retype or paraphrase).")

    def _store_location(self):
        """Where the scores are kept, when in a store: (path or URL, engagement key), else None (scores.csv).
        A configured server is always read, never swapped for a file; a broken setting is a problem."""
        from ._backends import StoreError, safe_url
        from .store import in_use, locate

        if "store_location" in self.data:
            return self.data["store_location"]
        cfg = self.data.get("config")
        try:
            # "" when engagement.yaml, already read, names no store: locate need not read the file again.
            location, key = locate(self.folder, (cfg.store or "") if cfg else None, cfg.slug if cfg else None)
        except StoreError as exc:
            # Unless engagement.yaml's own check already named the key (the environment's setting is not in it).
            if not any(p.file == "engagement.yaml" and p.where == "key store" for p in self.problems):
                message, _, fix = str(exc).partition(" Fix: ")
                source, _, message = message.partition(": ")
                if source == "QCIKIT_STORE":
                    self.add("QCIKIT_STORE (environment)", "", message, fix)
                else:
                    self.add("engagement.yaml", "key store", message, fix)
            location, key = None, None
        if key is not None:
            self.store_name = f"{safe_url(str(location))} (engagement '{key}')"
        found = (location, key) if in_use(location, key) else None
        self.data["store_location"] = found
        return found

    def load_store(self) -> None:
        """The store is the source of truth: its latest (settled) scores are the engagement's scores,
        each rater's own latest ratings are kept apart for agreement, and a scores.csv beside it must
        hold nothing the store lacks (else an edit to the CSV would be silently ignored)."""
        from ._backends import StoreError
        from .store import Store

        location, key = self._store_location()
        try:
            store = Store(location, key=key, create=False)
            settled, own = store.latest(settled=True), store.latest(settled=False)
        except StoreError as exc:  # a server that refuses: its message names the URL and the fix
            message, _, fix = str(exc).partition(" Fix: ")
            self.add(self.store_name, "", message.split(": ", 1)[-1], fix)
            return
        except Exception as exc:  # noqa: BLE001 - a damaged or locked database is the user's to fix
            self.add(self.store_name, "", f"the score store cannot be read ({exc}).",
                     "Restore scores.sqlite from a backup, or close the program that holds it open.")
            return
        if settled.empty:
            self.data["scores_source"] = f"{self.store_name} (empty)"
        else:
            df = _as_text(settled)
            self._score_checks(self.store_name, df, where=_store_where(df))
            ids, where = self._sample_ids()
            self._known_ids(self.store_name, df, ids, where, _store_where(df))
            self._waves(self.store_name, df, _store_where(df))
            self.data["scores"] = df
            own = _as_text(own)
            own["points"] = pd.to_numeric(own["points"], errors="coerce")
            self.data["ratings"] = own
            self.data["scores_source"] = f"{self.store_name} ({len(df)} current scores)"
        csv = self.csv("scores.csv", required=False) if (self.folder / "scores.csv").is_file() else None
        if csv is not None:
            if "rater" not in csv.columns or "points" not in csv.columns:
                return
            pending = store.holds(csv.assign(points=pd.to_numeric(csv["points"], errors="coerce")))
            if len(pending):
                first = int(pending.index[0])
                self.add("scores.csv", f"row {first + 2}",
                         f"{len(pending)} row(s) are not in the score store {self.store_name}, which the kit reads instead of "
                         "scores.csv; they would be ignored.",
                         f"Run `qcikit scores import {self.folder}` to add them to the store, or delete scores.csv "
                         f"if it is an old export (`qcikit scores export {self.folder}` writes a fresh one).")

    def _score_checks(self, name: str, df: pd.DataFrame, where=None) -> None:
        rubric: Rubric | None = self.data.get("rubric")
        raw = df["points"].copy()
        pts = self.numeric(name, df, "points", True, "Write points as a number from 0 to the element's maximum, or leave empty for not applicable.", where)
        df["points"] = pts
        if rubric is None:
            return
        # Each row's element as a position in the rubric (-1: not in it), found once for every check below.
        at = pd.Index(rubric.element_ids).get_indexer(df["element"])
        known = at >= 0

        def element_fix(value: str) -> str:
            import difflib

            close = difflib.get_close_matches(value, rubric.element_ids, n=1, cutoff=0.6)
            return (f"Did you mean {close[0]}? " if close else "") + f"Use an element id of the rubric ({', '.join(rubric.element_ids)})."

        self.values(name, df, "element", ~known, lambda v: f"element '{v}' is not in rubric.yaml", element_fix, where)
        per_element = rubric.elements  # indexed by element id, in element_ids order
        maxp = np.where(known, per_element["max_points"].to_numpy(dtype=float)[np.maximum(at, 0)], np.nan)
        p = pts.to_numpy(dtype=float)
        over = known & ~np.isnan(p) & ((p < 0) | (p > maxp))
        self.rows(name, over,
                  lambda i: f"element '{df['element'].iloc[i]}' has {p[i]:g} points, outside 0–{maxp[i]:g}.",
                  "Correct the points to lie between 0 and the element's maximum (see rubric.yaml).", where)
        na_ok = per_element["na_allowed"].fillna(True).to_numpy(dtype=bool)[np.maximum(at, 0)]
        bad_na = known & raw.isna().to_numpy() & ~na_ok
        self.rows(name, bad_na, lambda i: f"element '{df['element'].iloc[i]}' is left empty (not applicable), which the rubric does not allow.",
                  "Score the element, or set na_allowed: true for it in rubric.yaml.", where)
        if "rubric_version" in df.columns:
            # An earlier version in rubric.yaml's changes: stands for an earlier wave; any other never mixes in.
            other = df["rubric_version"].notna() & ~isin(df["rubric_version"], rubric.versions)
            if other.any():
                versions = ", ".join(sorted(df.loc[other, "rubric_version"].unique()))
                first = int(np.argmax(other.to_numpy()))
                self.add(name, where(first) if where else f"row {first + 2}",
                         f"{int(other.sum())} row(s) were scored under rubric version {versions}, not the current {rubric.version}.",
                         "Re-score them with the current rubric, list the earlier version in rubric.yaml's changes: "
                         "(version, date, what, why), or keep them in a separate engagement; versions are not mixed.")
            elif "wave" in df.columns:
                # Distinct (wave, version) pairs counted per wave, on integer codes (a groupby costs more here).
                has = df["rubric_version"].notna().to_numpy()
                wave_at, waves = pd.factorize(df["wave"].to_numpy()[has])
                version_at, versions = pd.factorize(df["rubric_version"].to_numpy()[has])
                pairs = np.unique((wave_at * len(versions) + version_at)[wave_at >= 0])
                mixed = np.bincount(pairs // max(len(versions), 1), minlength=len(waves)) > 1
                for wave in sorted(waves[mixed]):
                    found = ", ".join(sorted(df.loc[df["wave"] == wave, "rubric_version"].dropna().unique()))
                    self.add(name, f"wave {wave}", f"the wave holds scores under rubric versions {found}.",
                             "Re-score the wave's interactions under one version; versions are never mixed within a wave.")

    def load_mystery_shops(self) -> None:
        name = "mystery_shops.csv"
        df = self.csv(name, required=False)
        if df is None:
            return
        df["rater"] = df.get("rater", "shopper")
        self._score_checks(name, df)
        cfg = self.data.get("config")
        if cfg is not None:
            bad = ~isin(df["competitor"], cfg.competitors)
            self.values(name, df, "competitor", bad, lambda v: f"competitor '{v}' is not listed in engagement.yaml",
                        lambda v: f"Use one of {', '.join(cfg.competitors) or '(none listed)'}, or add it to 'competitors'.")
        self._duplicates(name, df, ["competitor", "interaction_id", "element"], "competitor, shop and element")
        self.data["mystery_shops"] = df

    def check_raters(self) -> None:
        """Every rater named in scores, gold or the store is declared in engagement.yaml."""
        import difflib

        cfg = self.data.get("config")
        if cfg is None:
            return
        declared = cfg.rater_names
        for key, file in (("scores", None), ("gold", "gold.csv")):
            df = self.data.get(key)
            if df is None or (key == "gold" and not self.data.get("gold_has_rater")):
                continue
            file = file or ("scores.csv" if self.data.get("scores_source") == "scores.csv" else self.store_name)
            names = sorted(df["rater"].dropna().unique())
            if not declared:
                self.add("engagement.yaml", "key raters", f"no raters are declared, so the {len(names)} name(s) in {file} "
                         f"({', '.join(names[:8])}) cannot be checked for typos.",
                         "Add a 'raters:' list naming everyone who scores, e.g. raters: [" + ", ".join(names[:3]) + "].")
                return
            for name in names:
                if name in declared:
                    continue
                rows = np.flatnonzero((df["rater"] == name).to_numpy())
                close = difflib.get_close_matches(name, declared, n=1, cutoff=0.5)
                hint = f"did you mean {close[0]}? " if close else ""
                where = _store_where(df)(rows[0]) if file == self.store_name else f"row {rows[0] + 2}"
                if file == self.store_name:
                    # The store is append-only: the fix is a correction event, never an edit.
                    fix = (f"Run `qcikit scores correct {self.folder} --rater {name} --to {close[0] if close else '<name>'}`"
                           f" (an append-only correction), or add '{name}' to 'raters' in engagement.yaml.")
                else:
                    fix = f"Correct the name{' to ' + close[0] if close else ''}, or add '{name}' to 'raters' in engagement.yaml."
                self.add(file, where, f"rater '{name}' ({len(rows)} row(s)) is not declared in engagement.yaml; {hint}".rstrip(" ;") + ".",
                         fix)

    def check_inventory(self) -> None:
        """Scenario rules need every scored interaction classified; facets in both files agree."""
        rubric, inter, inv = self.data.get("rubric"), self.data.get("interactions"), self.data.get("inventory")
        scores, schema = self.data.get("scores"), self.data.get("schema")
        if rubric is not None and rubric.model.scenario_rules and scores is not None:
            # An id that is itself unknown is reported once, where it is checked; not here again. Vectorized:
            # sets built from Arrow strings iterate them one by one.
            ids, _ = self._sample_ids()
            scored = pd.Series(scores["interaction_id"].dropna().unique())
            keep = isin(scored, ids) if ids is not None else np.ones(len(scored), bool)
            if inv is not None:  # not in place: Arrow's is_in can hand back a read-only array
                keep = keep & ~isin(scored, inv["interaction_id"])
            missing = sorted(scored[keep])
            if missing:
                self.add("inventory.csv", "" if inv is None else "interaction_id",
                         f"{len(missing)} scored interaction(s) are not classified ({', '.join(missing[:5])}"
                         f"{' …' if len(missing) > 5 else ''}), but rubric.yaml has scenario rules, which then cannot apply.",
                         "Classify them in inventory.csv (one column per facet of scenarios.yaml; notebook 02 has a form).")
        if inter is None or inv is None or schema is None:
            return
        shared = [f for f in schema.names if f in inter.columns and f in inv.columns]
        if not shared:
            return
        # Each inventory row against its interaction, by position (no merge), among the classified interactions'
        # rows of the population alone: an id the population holds twice is reported once, where
        # interactions.csv is read, and compared with nothing here.
        pop = filter_rows(inter, isin(inter["interaction_id"], inv["interaction_id"]), ["interaction_id", *shared])
        once = ~pop["interaction_id"].duplicated(keep=False).to_numpy()
        at = pd.Index(pop["interaction_id"].to_numpy()[once]).get_indexer(inv["interaction_id"])
        mine = np.flatnonzero(at >= 0)
        theirs = np.flatnonzero(once)[at[mine]]
        m = inv[["interaction_id", *shared]].iloc[mine].reset_index(drop=True)
        for f in shared:
            m[f + "@i"] = pop[f].iloc[theirs].reset_index(drop=True)
        conflicts = set()
        for f in shared:
            bad = (m[f] != m[f + "@i"]).to_numpy()
            conflicts |= set(m.loc[bad, "interaction_id"])
            rows = np.flatnonzero(isin(inv["interaction_id"], m.loc[bad, "interaction_id"]))
            mm = m[bad].reset_index(drop=True)
            for k, r in enumerate(rows[:MAX_ROWS_LISTED]):
                self.add("inventory.csv", f"row {r + 2}",
                         f"interaction {mm['interaction_id'].iloc[k]} has {f} '{mm[f].iloc[k]}' here but "
                         f"'{mm[f + '@i'].iloc[k]}' in {self.population}.",
                         "Correct the one that is wrong; the two files must agree on every facet they both hold.")
            if len(rows) > MAX_ROWS_LISTED:
                self.add("inventory.csv", "", f"{len(rows) - MAX_ROWS_LISTED} more row(s) disagree with {self.population} on {f}.",
                         "Correct them the same way.")
        self.data["facet_conflicts"] = conflicts

    def check_complete(self, key: str) -> None:
        """Each interaction a rater scored has a row for every element that applies in its scenario, and no
        row for an element its scenario excludes (that row would be silently ignored).

        Vectorized: one presence matrix (rater's form × element) against the elements active in each distinct
        scenario. A mistake reported elsewhere is not reported again through what follows from it: forms with
        an unknown element, interactions with an undeclared rater (a typo there leaves "missing" rows behind)
        and unclassified interactions under scenario rules are left out here.
        """
        df, rubric = self.data.get(key), self.data.get("rubric")
        if df is None or rubric is None or df.empty:
            return
        file = "gold.csv" if key == "gold" else ("scores.csv" if self.data.get("scores_source") == "scores.csv" else self.store_name)
        cfg = self.data.get("config")
        elements = list(rubric.element_ids)
        pair_code, first = group_codes(df, ["interaction_id", "rater"])  # one group per rater's form
        el_code = pd.Index(elements).get_indexer(df["element"])
        pair_iid = df["interaction_id"].to_numpy()[first]
        pair_rater = df["rater"].to_numpy()[first]
        # Root causes reported elsewhere.
        skip = np.zeros(len(first), bool)
        skip[np.unique(pair_code[el_code < 0])] = True
        if cfg is not None and cfg.rater_names and not (key == "gold" and not self.data.get("gold_has_rater")):
            typo_iids = set(df.loc[~isin(df["rater"], cfg.rater_names), "interaction_id"])
            skip |= pd.Series(pair_iid).isin(typo_iids).to_numpy()
        skip |= pd.Series(pair_iid).isin(self.data.get("facet_conflicts", set())).to_numpy()
        table = self._scenario_table()
        if table is None:
            if rubric.model.scenario_rules:
                skip[:] = True  # no classification at all: reported once by check_inventory; scenarios cannot be known
            scen_code, active = np.zeros(len(first), dtype=np.int64), _unknown_scenario_elements(rubric)
            scenario = lambda code: None  # noqa: E731
        else:
            ids, row_scenario, scenario, unknown, active = table
            at = ids.get_indexer(pair_iid)
            # An interaction the inventory does not hold has the last scenario: unknown (every element applies).
            scen_code = np.where(at >= 0, row_scenario[np.maximum(at, 0)], len(unknown) - 1)
            if rubric.model.scenario_rules:
                skip |= unknown[scen_code]
        have = np.zeros((len(first), len(elements)), dtype=bool)
        ok = el_code >= 0
        have[pair_code[ok], el_code[ok]] = True
        want = active[scen_code]
        want[skip] = False
        missing_p, missing_e = np.nonzero(want & ~have)
        extra = have & ~active[scen_code]
        extra[skip] = False
        self._excluded_rows(file, rubric, elements, extra, pair_iid, pair_rater, scen_code, scenario)
        if len(missing_p) == 0:
            return
        gap = pd.DataFrame({"interaction_id": pair_iid[missing_p], "rater": pair_rater[missing_p],
                            "element": np.asarray(elements, dtype=object)[missing_e]})
        gap = gap.sort_values(["interaction_id", "rater", "element"], ignore_index=True)
        critical = set(rubric.elements.index[rubric.elements["critical"].notna()])
        # One message per rater and element: a column left out of a whole import is one mistake.
        groups = list(gap.groupby(["rater", "element"], sort=False))
        groups.sort(key=lambda kv: kv[1].index[0])
        for (rater, element), part in groups[:MAX_ROWS_LISTED]:
            crit = " (a critical element: without it a fail cannot be seen)" if element in critical else ""
            first = part["interaction_id"].iloc[0]
            others = (f"; {len(part) - 1} more of this rater's interactions lack it too "
                      f"({', '.join(part['interaction_id'].iloc[1:4])}{' …' if len(part) > 4 else ''})") if len(part) > 1 else ""
            self.add(file, f"interaction {first}, rater {rater}",
                     f"there is no row for element '{element}'{crit}{others}; a missing row is not the same as not applicable.",
                     "Add the row: the points, or an empty points cell when the element does not apply.")
        if len(groups) > MAX_ROWS_LISTED:
            self.add(file, "", f"{len(groups) - MAX_ROWS_LISTED} more rater/element combination(s) have missing rows "
                     f"({gap['interaction_id'].nunique()} interaction(s) in all).",
                     "Add the missing rows the same way.")

    def _scenario_table(self):
        """The inventory's classifications, worked out once per load for scores and gold alike: the distinct
        interaction ids (first row of each), each one's scenario number, a function giving a scenario's facet
        levels from its number (None when unclassified), which scenarios are unknown, and the elements each
        keeps. The last scenario stands for an interaction the inventory does not hold. None when the inventory cannot classify (no file, no schema, or a facet column missing)."""
        if "scenario_table" in self.data:
            return self.data["scenario_table"]
        inv, schema, rubric = self.data.get("inventory"), self.data.get("schema"), self.data.get("rubric")
        table = None
        if inv is not None and schema is not None and rubric is not None and all(f in inv.columns for f in schema.names):
            facets = schema.names
            # Duplicate ids are reported where inventory.csv is read; the first row's classification stands here.
            once = inv.drop_duplicates("interaction_id")
            cls = once[facets]
            row_scenario, scen_first = group_codes(cls, facets)
            distinct = cls.iloc[scen_first].reset_index(drop=True)
            unclassified = distinct.isna().any(axis=1).to_numpy()
            unknown = np.append(unclassified, True)
            every = _unknown_scenario_elements(rubric)
            active = np.vstack([rubric.scenario_factor_arrays(distinct)[1] > 0, every])
            active[unknown] = every[0]

            def scenario(code: int) -> dict[str, str] | None:  # only asked for where a message names a rule
                return None if unknown[code] else {f: distinct[f].iloc[code] for f in facets}

            table = (pd.Index(once["interaction_id"]), row_scenario, scenario, unknown, active)
        self.data["scenario_table"] = table
        return table

    def _excluded_rows(self, file, rubric, elements, extra, pair_iid, pair_rater, scen_code, scenario) -> None:
        """Rows for an element the interaction's scenario excludes: one message per element and rule."""
        p_idx, e_idx = np.nonzero(extra)
        if len(p_idx) == 0:
            return
        groups: dict[tuple[str, str], list[int]] = {}
        for p, e in zip(p_idx, e_idx):
            element = elements[e]
            rule = rubric.excluded_by(scenario(scen_code[p])).get(element, "a scenario rule")
            groups.setdefault((element, rule), []).append(int(p))
        for (element, rule), ps in sorted(groups.items()):
            p = ps[0]
            fix = ("Delete those rows (they are not counted), or correct the interaction's classification in "
                   "inventory.csv if its scenario is wrong." if file != self.store_name else
                   f"They are not counted: correct the classification in inventory.csv if the scenario is wrong, or "
                   f"withdraw the form with `qcikit scores retract {self.folder} --interaction {pair_iid[p]} "
                   f"--rater {pair_rater[p]} --reason ...`.")
            self.add(file, f"interaction {pair_iid[p]}, rater {pair_rater[p]}",
                     f"{len(ps)} form(s) score element '{element}', which the rubric's scenario rule '{rule}' excludes "
                     "in their scenario, so the row would be silently ignored.", fix)

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
        eng = cls(
            path=self.folder.resolve(), config=d["config"], rubric=d["rubric"], schema=d["schema"],
            interactions=d["interactions"], sample=d.get("sample"), inventory=d.get("inventory"),
            scores=d.get("scores"), gold=d.get("gold"), mystery_shops=d.get("mystery_shops"),
            answers=d.get("answers") or {}, ratings=d.get("ratings"),
            scores_source=d.get("scores_source", "none"),
        )
        if "autoscores_file" in d:
            from . import assist

            assist.keep_file_rows(eng, *d["autoscores_file"])
        return eng
