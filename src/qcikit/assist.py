"""Auto-scorers: a machine score for every interaction, beside the human ones and never mixed with them.

A machine score is an auxiliary variable, not a measurement: :func:`qcikit.metrics.qci_estimate` corrects it
by the human scores of the sample (the difference / GREG estimator), so the QCI's interval stays valid
whatever the machine's quality, and a good machine narrows it. Three kinds of scorer:

- ``rules``: the rubric's own rules decided from the transcript. Timing rules (``timing:`` in rubric.yaml)
  come from the timestamps: the first response against the channel standard, and silent gaps of more than
  a minute in live channels. Phrase rules come from their ``patterns:`` (regular expressions matched,
  case-insensitive, against the agent's lines; ``{signature_phrases}``, ``{sign_off}`` and ``{avoid}`` stand
  for the brand voice's lists). An element's points follow the rubric's arithmetic from the rules decided;
  an element none of whose rules can be decided is left empty.
- ``model``: per element, a TF-IDF + ridge regression of the human points on the agent's words, trained on
  the human-scored sample by *cross-fitting* (Zrnic & Candès 2024): the sample is cut in folds, each sampled
  interaction is predicted by the model that did not see its fold, and every other interaction by the
  average of the fold models. Each residual on the sample is then honest.
- a plug-in: any callable ``(transcript, rubric) -> {element: points}`` registered with
  :func:`register_scorer` (a consultant's own LLM client, say). The kit ships no network client.

A run records the scorer's ``version`` (for ``rules`` a hash of the patterns, the brand voice and the
standards) and ``frozen_at``, the first time that version ran. A scorer that is not cross-fitted must be
frozen before the wave's human scoring began; otherwise it may have been tuned on the very scores that
judge it, and :func:`check_frozen` refuses the estimate.

References
----------
Zrnic, T. & Candès, E. J. (2024). Cross-prediction-powered inference. *PNAS* 121(15), e2322083121.
Angelopoulos, A. N., Bates, S., Fannjiang, C., Jordan, M. I. & Zrnic, T. (2023). Prediction-powered
inference. *Science* 382, 669–674.
"""
from __future__ import annotations

import csv as csvlib
import functools
import hashlib
import itertools
import json
import os
import re
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Literal, Mapping

import numpy as np
import pandas as pd

from ._frame import (arrow_categories, decode, filter_rows, from_arrow, group_codes, in_wave, isin, lookup, per_category,
                     to_number)
from .errors import QcikitError
from .rubric import BRAND_PLACEHOLDERS, Rubric

AUTOSCORES = "autoscores.csv"
AUTOSCORES_PARQUET = "autoscores.parquet"
# A run longer than a spreadsheet opens (a million interactions x 15 elements) is kept as Parquet: the same
# table as a 1.3 GB CSV in some 50 MB, written in a sixth of the time.
SPREADSHEET_ROWS = 1_048_576
COLUMNS = ["interaction_id", "element", "points", "scorer", "version", "crossfit", "frozen_at"]
# The channel standards of the starter rubric's `within_standard` rule, in seconds.
STANDARD_SECONDS = {"email": 4 * 3600, "chat": 60, "phone": 90, "face_to_face": 180}
LIVE = ("chat", "phone", "face_to_face")
SILENT_GAP_SECONDS = 60
FOLDS = 5
MIN_TRAINING = 20  # fewer human-scored interactions with an element than this: the model leaves it empty
BuiltIn = Literal["rules", "model"]



@dataclass(frozen=True)
class Scorer:
    """A registered plug-in scorer: ``fn(transcript, rubric) -> {element: points}`` and its version."""

    name: str
    fn: Callable[[str, Rubric], Mapping[str, float | None]]
    version: str


_REGISTRY: dict[str, Scorer] = {}


def register_scorer(name: str, fn: Callable[[str, Rubric], Mapping[str, float | None]], version: str = "1") -> Scorer:
    """Register a plug-in auto-scorer under ``name`` (any name but ``rules`` and ``model``).

    Bump ``version`` whenever the scorer changes (a new prompt, a new model): the version is stored with every
    score, and a scorer changed after the wave's human scoring began is refused for that wave.

    Examples
    --------
    >>> def polite(transcript, rubric):
    ...     return {"apology_courtesy": 2.0 if "thank" in transcript.lower() else 0.0}
    >>> register_scorer("polite", polite, version="2026-12").version
    '2026-12'
    """
    if name in ("rules", "model"):
        raise QcikitError(f"'{name}' is a built-in scorer. Fix: register the plug-in under another name.")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise QcikitError(f"scorer name '{name}' is not a plain name. Fix: use letters, digits, '.', '_' or '-'.")
    _REGISTRY[name] = Scorer(name, fn, str(version))
    return _REGISTRY[name]


def scorers() -> list[str]:
    """The names ``autoscore`` accepts: the built-in ones and every registered plug-in."""
    return ["rules", "model", *sorted(_REGISTRY)]


# -- reading transcripts ------------------------------------------------------------------
# Arrow's compute functions (RE2, in C, without the GIL) read every line of a chunk at once: no Python loop
# over transcripts or lines, so a million transcripts cost a few passes over their bytes.
# qcikit._scan spells these two regexes out as byte tests for its compiled pass: a change here is a change
# there (tests/test_assist.py reads transcripts both ways and compares).
_STAMP_RE2 = (r"^\[(?P<date>\d{4}-\d{2}-\d{2})?[ T]?(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\]\s*"
              r"(?P<who>Customer|Agent)?")
_AGENT_PREFIX = r"^\[[^\]]*\]\s*Agent\s*\([^)]*\)(?:\s*\([^)]*\))?\s*:?\s*"
CUSTOMER, AGENT = 1, 2


@dataclass
class Lines:
    """Every line of a batch of transcripts, as arrays: ``unit`` (the transcript's position), ``stamped``
    (the line opens a turn with a timestamp), ``seconds`` (since the transcript's first timestamp; NaN on a
    line without one), ``speaker`` (1 customer, 2 agent, 0 neither) and ``owner`` (the speaker of the turn a
    line belongs to: an e-mail's body lines belong to the stamped line above them), ``text`` (the lines as
    an Arrow array, split when first asked for)."""

    n: int
    unit: np.ndarray
    stamped: np.ndarray
    seconds: np.ndarray
    speaker: np.ndarray
    owner: np.ndarray
    source: object  # the transcripts, one LargeStringArray
    _text: object = None
    _joined: object = None  # agent_joined(), once asked for

    @property
    def text(self):
        import pyarrow.compute as pc

        if self._text is None:
            self._text = pc.list_flatten(pc.split_pattern(self.source, "\n"))
        return self._text

    def agent(self):
        """The agent's lines (their stamp and name removed) and the transcript each belongs to."""
        import pyarrow.compute as pc

        mask = self.owner == AGENT
        text = self.text.filter(mask)
        # Only a line opening with "[" can hold the prefix: the replacing kernel costs by row, so it reads those.
        bracket = pc.starts_with(text, "[")
        text = pc.replace_with_mask(text, bracket, pc.replace_substring_regex(text.filter(bracket), _AGENT_PREFIX, ""))
        return text, self.unit[mask]

    def agent_joined(self, text=None, unit=None):
        """Each transcript's agent lines joined by newlines, as one Arrow string per transcript: one regex
        call per transcript instead of one per line (two to three times faster). ``text``, ``unit``: what
        :meth:`agent` returned, when the caller has it already."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if text is None and self._joined is not None:
            return self._joined
        own = text is None
        if own:
            text, unit = self.agent()
        offsets = np.searchsorted(unit, np.arange(self.n + 1)).astype(np.int64)  # lines come in transcript order
        joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), text), pa.scalar("\n", pa.large_string()))
        if own:
            self._joined = joined
        return joined


def _transcript_chunks(transcripts) -> list:
    """Transcripts as Arrow string arrays, the column's own chunks when it is Arrow-backed (no copy), else one
    array made from the values; nulls stay nulls (each reader takes them as "")."""
    import pyarrow as pa

    if isinstance(transcripts, pa.ChunkedArray):
        arr = transcripts
    elif isinstance(transcripts, pa.Array):
        arr = pa.chunked_array([transcripts])
    else:
        values = pd.Series(transcripts, copy=False)
        arr = getattr(values.array, "_pa_array", None)
        if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            return [pa.array(values.fillna("").astype(str).to_numpy(dtype=object), type=pa.large_string())]
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    return [c for c in arr.chunks if len(c)]


def _transcripts(transcripts):
    """Transcripts as one LargeStringArray, nulls as "": Arrow-backed strings go straight in, no Python objects."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = _transcript_chunks(transcripts)
    if not chunks:
        return pa.array([], type=pa.large_string())
    arr = pa.chunked_array(chunks).cast(pa.large_string()).combine_chunks()
    return pc.fill_null(arr, "") if arr.null_count else arr


def read_lines(transcripts) -> Lines:
    """Split transcripts into :class:`Lines` with Arrow's kernels. Clock-only times (chat, phone) that go back
    cross midnight."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _transcripts(transcripts)
    n = len(arr)
    lists = pc.split_pattern(arr, "\n")
    text = pc.list_flatten(lists)
    unit = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    # Only a line that opens with "[" can carry a stamp: the capturing regex (the costly kernel, by row) reads
    # those alone, and the fields are parsed on the stamped lines only.
    opens = pc.starts_with(text, "[")
    bracket = np.flatnonzero(opens.to_numpy(zero_copy_only=False))
    st = pc.extract_regex(text.filter(opens), _STAMP_RE2)  # filter, not take: a take of strings is ten times slower
    valid = st.is_valid().to_numpy(zero_copy_only=False)
    st = st.filter(pa.array(valid))
    at = bracket[valid]
    stamped = np.zeros(len(unit), dtype=bool)
    stamped[at] = True

    def number(field: str) -> np.ndarray:  # an optional group that did not take part reads as ""
        part = pc.struct_field(st, field)
        return pc.cast(pc.if_else(pc.equal(part, ""), "0", part), pa.float64()).to_numpy(zero_copy_only=False)

    clock = np.zeros(len(unit))
    clock[at] = number("h") * 3600 + number("m") * 60 + number("s")
    date = pc.struct_field(st, "date")
    date = pc.if_else(pc.equal(date, ""), pa.scalar(None, pa.large_string()), date)
    who = pc.struct_field(st, "who")
    speaker = np.zeros(len(unit), dtype=np.int8)
    speaker[at] = np.where(pc.equal(who, "Agent").to_numpy(zero_copy_only=False), AGENT,
                           np.where(pc.equal(who, "Customer").to_numpy(zero_copy_only=False), CUSTOMER, 0))
    # The turn each line belongs to: the last stamped line at or above it in the same transcript.
    last = np.maximum.accumulate(np.where(stamped, np.arange(len(unit)), -1))
    ok = (last >= 0) & (unit[np.maximum(last, 0)] == unit)
    owner = np.where(ok, speaker[np.maximum(last, 0)], 0).astype(np.int8)
    # A date that is no date (2026-13-45, typed by hand) reads as a clock-only time, never as an error.
    stamp = pc.strptime(date, format="%Y-%m-%d", unit="s", error_is_null=True)
    days = np.full(len(unit), np.nan)
    days[at] = pc.cast(stamp, pa.int64()).to_numpy(zero_copy_only=False).astype(float) / 86400
    seconds = np.where(np.isnan(days), clock, days * 86400 + clock)
    seconds[~stamped] = np.nan
    # Clock-only times that go back within a transcript crossed midnight: carry a day over (stamped lines only).
    idx = np.flatnonzero(stamped)
    su, ss = unit[idx], seconds[idx]
    same = np.r_[False, su[1:] == su[:-1]]
    back = same & np.isnan(days[idx]) & (np.diff(ss, prepend=np.nan) < 0)
    carry = np.cumsum(back * 86400.0)
    # Each transcript's own carry: what accumulated since its first stamped line (where nothing goes back).
    base = np.maximum.accumulate(np.where(~same, np.arange(len(idx)), 0))
    ss = ss + carry - carry[base]
    seconds[idx] = ss - ss[base]
    return Lines(n, unit, stamped, seconds, speaker, owner, arr, text)


@dataclass
class AgentReading:
    """What the rules scorer reads of each transcript (arrays of one value per transcript): ``answered``
    (seconds from the first stamped line to the agent's first one; NaN when the agent has none),
    ``has_customer`` (a stamped customer line), ``silent`` (the agent's turn came after more than
    :data:`SILENT_GAP_SECONDS` of silence once the agent had answered), ``widest`` (the agent's longest line,
    in characters; None when not asked for) and ``agent`` (the agent's lines, stamp and name removed, joined by newlines: an Arrow
    LargeStringArray, "" where the agent never spoke)."""

    n: int
    answered: np.ndarray
    has_customer: np.ndarray
    silent: np.ndarray
    widest: np.ndarray | None
    agent: object


# From this many transcripts the compiled reader pays for itself: numba's import and the loading of its cached
# machine code take about 0.7 s once per process, what Arrow's kernels spend on some 100,000 transcripts.
COMPILED_FROM = 100_000


def read_agent(transcripts, compiled: bool | None = None, widths: bool = True) -> AgentReading:
    """Read transcripts for the rules scorer (:class:`AgentReading`).

    With numba installed (``qcikit[scale]``) each transcript is read in one compiled pass
    (:mod:`qcikit._scan`), several times faster than Arrow's kernels and numpy over every line
    (:func:`read_lines`): ``compiled=True`` asks for it, ``False`` refuses it, None (the default) takes it
    from :data:`COMPILED_FROM` transcripts on. Both paths give the same reading. ``widths=False`` leaves
    ``widest`` out (None): counting characters is a pass over the agent's words that only a rule about a
    line's length needs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from . import _scan

    chunks = _transcript_chunks(transcripts)
    n = sum(len(c) for c in chunks)
    use = n >= COMPILED_FROM if compiled is None else compiled
    got = _scan.read_agent(chunks, SILENT_GAP_SECONDS, widths) if use else None
    if got is not None:
        return AgentReading(n, *got)
    arr = _transcripts(pa.chunked_array(chunks) if chunks else pa.array([], pa.large_string()))
    lines = read_lines(arr)
    m = lines.stamped
    unit, sec, who = lines.unit[m], lines.seconds[m], lines.speaker[m]

    def first(mask):
        out = np.full(n, np.inf)
        np.minimum.at(out, unit[mask], sec[mask])
        return np.where(np.isinf(out), np.nan, out)

    answered = first(who == AGENT)
    has_customer = ~np.isnan(first(who == CUSTOMER))
    same = np.r_[False, unit[1:] == unit[:-1]]
    gap = np.diff(sec, prepend=np.nan)
    after_first = sec > np.nan_to_num(answered[unit], nan=np.inf)
    silent = same & (who == AGENT) & after_first & (gap > SILENT_GAP_SECONDS)
    text, agent_unit = lines.agent()
    widest = None
    if widths:
        widest = np.zeros(n, dtype=np.int64)
        np.maximum.at(widest, agent_unit, pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int64))
    joined = lines.agent_joined(text, agent_unit).cast(pa.large_string())
    return AgentReading(n, answered, has_customer, np.bincount(unit[silent], minlength=n) > 0, widest, joined)


def turns(transcripts) -> pd.DataFrame:
    """The stamped lines of ``transcripts`` as a table: ``unit``, ``seconds``, ``speaker`` (Customer, Agent or
    empty) and ``text`` (the line as written)."""
    lines = read_lines(transcripts)
    m = lines.stamped
    names = np.array(["", "Customer", "Agent"])
    return pd.DataFrame({"unit": lines.unit[m], "seconds": lines.seconds[m], "speaker": names[lines.speaker[m]],
                         "text": np.asarray(lines.text.filter(m).to_pylist(), dtype=object)})


def agent_text(transcripts) -> pd.Series:
    """Each transcript's agent lines joined by newlines ("" where the agent never spoke), indexed 0..n-1."""
    return pd.Series(read_agent(transcripts).agent.to_pylist(), dtype=object)


def _timing(reading: AgentReading, live: np.ndarray) -> dict[str, np.ndarray]:
    """Per transcript: the first response in seconds (NaN when it cannot be read: no customer line, or no
    agent line), and whether a live channel (``live``: the touchpoint is one of :data:`LIVE`) left the
    customer without word for more than a minute after the first response (a gap before an agent's turn)."""
    first_response = np.where(reading.has_customer, reading.answered, np.nan)  # seconds since the arrival
    return {"first_response": first_response, "silent_gap": live & reading.silent}


def _expand(pattern: str, brand) -> str | None:
    """A rule pattern with the brand voice's lists put in (escaped, as alternatives); None when a list is empty."""
    lists = {"{signature_phrases}": brand.signature_phrases, "{sign_off}": [brand.sign_off] if brand.sign_off else [],
             "{avoid}": brand.avoid}
    for key in BRAND_PLACEHOLDERS:
        if key in pattern:
            items = [x for x in lists[key] if str(x).strip()]
            if not items:
                return None
            pattern = pattern.replace(key, "(?:" + "|".join(re.escape(str(x).strip()) for x in items) + ")")
    return pattern


def _contains(text, regex: str) -> np.ndarray:
    """Whether each line (an Arrow array, or a pandas Series) matches ``regex`` (case-insensitive). Arrow's
    RE2 engine does it in C over the whole column, ten times faster than Python's re row by row; a pattern
    RE2 cannot read (a look-around, a back-reference) falls back to Python's re with the same flags."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(text, pd.Series):
        text = pa.array(text.fillna("").astype(str).to_numpy(dtype=object), type=pa.large_string())
    try:
        return pc.match_substring_regex(text, "(?im)" + regex).to_numpy(zero_copy_only=False).astype(bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        compiled = re.compile(regex, re.IGNORECASE | re.MULTILINE)
        return np.fromiter((bool(compiled.search(x or "")) for x in text.to_pylist()), dtype=bool, count=len(text))


# A counted repetition this long ("[^\n]{500,}") multiplies the states of a combined automaton: such a
# pattern is matched on its own, where it costs one pass.
_SET_MAX_COUNT = 16


@dataclass(frozen=True)
class _Shape:
    """What the matcher needs to know of a rule's regex, read by Python's parser (RE2's syntax, for what
    rubrics use, is a subset): ``parsed`` (False: RE2 alone decides), ``big_count`` (a counted repetition
    above :data:`_SET_MAX_COUNT`), ``one_line`` (no match can contain a line break, nor depends on where
    the text begins or ends), ``min_width`` (the fewest characters a match takes) and ``length_only`` (the
    pattern is a run of any character but a line break, "[^\n]{500,}": a line matches exactly when it holds
    ``min_width`` characters, so its length answers without a regex)."""

    parsed: bool
    big_count: bool = False
    one_line: bool = False
    min_width: int = 0
    length_only: bool = False


@functools.lru_cache(maxsize=1024)
def _shape(regex: str) -> _Shape:
    try:
        from re import _compiler as compiler, _constants as C, _parser as sre
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_compile as compiler, sre_constants as C, sre_parse as sre
    flags = re.IGNORECASE | re.MULTILINE  # how the rules are matched
    try:
        with warnings.catch_warnings():  # "[[:space:]]" warns of a nested set: RE2 reads it, Python need not
            warnings.simplefilter("ignore", FutureWarning)
            tree = sre.parse(regex, flags)
    except (re.error, RecursionError, OverflowError):
        return _Shape(parsed=False)
    repeats = (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None))
    atoms = (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN, C.CATEGORY)
    line_anchors = (C.AT_BEGINNING, C.AT_END, C.AT_BOUNDARY, C.AT_NON_BOUNDARY)  # ^ $ under (?m), \b \B

    def takes_newline(op, av, f) -> bool:
        # Compile the single atom under the flags in force and try it on a line break: exact, whatever the
        # class ([^x], \s, \W, ranges, negations).
        return compiler.compile(sre.SubPattern(tree.state, [(op, av)]), f).match("\n") is not None

    big, one_line = False, "[:" not in regex  # RE2's POSIX classes ([[:space:]]): Python reads them as letters

    def walk(items, f):
        nonlocal big, one_line
        for op, av in items:
            if op in repeats:
                lo, hi, sub = av
                big |= lo > _SET_MAX_COUNT or (hi != C.MAXREPEAT and hi > _SET_MAX_COUNT)
                walk(sub, f)
            elif op == C.SUBPATTERN:
                _, add, remove, sub = av
                if remove & re.MULTILINE:
                    one_line = False
                walk(sub, (f | add) & ~remove)
            elif op == C.BRANCH:
                for branch in av[1]:
                    walk(branch, f)
            elif op in atoms:
                if one_line and takes_newline(op, av, f):
                    one_line = False
            elif op == C.AT:
                one_line &= av in line_anchors
            else:  # look-arounds, back-references, conditionals: never treated as one-line
                one_line = False
                if op in (C.ASSERT, C.ASSERT_NOT):
                    walk(av[1], f)

    try:
        walk(tree, tree.state.flags | flags)
        width = int(min(tree.getwidth()[0], 1 << 30))
    except (re.error, RecursionError, OverflowError, TypeError, ValueError):
        return _Shape(parsed=False)
    # "[^\n]{k,}", ".{k,m}", "[^\n]{k,}?": one repetition of an atom that takes every character but "\n". On a
    # line (no "\n" in it) a search finds any k consecutive characters, so it matches when the line has k.
    items = list(tree)
    but_newline = ((C.NOT_LITERAL, 10), (C.ANY, None), (C.IN, [(C.NEGATE, None), (C.LITERAL, 10)]))
    length_only = (one_line and len(items) == 1 and items[0][0] in repeats and len(items[0][1][2]) == 1
                   and items[0][1][2][0] in but_newline)
    return _Shape(parsed=True, big_count=big, one_line=one_line, min_width=width, length_only=length_only)


class RuleMatcher:
    """Which of several regexes match each transcript's agent text, with as few passes as possible.

    Matching 28 rules one by one reads every transcript 28 times. RE2's ``Set`` (google-re2, the engine Arrow
    uses too, so a pattern means the same on both paths) runs all of them in one automaton: on the starter
    rubric several times faster than one Arrow pass per rule. A pattern the set should not hold (a syntax
    RE2 refuses, a long counted repetition) is matched on its own with :func:`_contains`; when no match can
    span two lines, only on the transcripts whose longest agent line is long enough for it ("[^\n]{500,}" is
    answered by that length alone). A sentinel that matches at the
    end of every text tells whether RE2 ran out of automaton memory on a transcript; those transcripts are
    matched one pattern at a time, so the answer never depends on the path taken.

    On a contact centre's volume (``compiled``, as for :func:`read_agent`) the set's patterns that
    :mod:`qcikit._dfa` takes run in its compiled automata instead (64 patterns each): RE2's meaning, one
    numba loop over a whole chunk of texts rather than a Python call per transcript (several times
    faster). RE2 keeps the others in a set of their own, and all of them if an automaton outgrows its memory.
    """

    def __init__(self, regexes: list[str]):
        self.regexes = list(regexes)
        self.shapes = [_shape(r) for r in self.regexes]
        candidates = [k for k, shape in enumerate(self.shapes) if shape.parsed and not shape.big_count]
        self._set, took = _re2_set([self.regexes[k] for k in candidates])
        self.members: list[int] = [candidates[j] for j in took]
        joined = set(self.members)
        self.single = [k for k in range(len(self.regexes)) if k not in joined]
        self._dfa = None  # made on first use: [(a compiled automaton, the members it holds)], or False
        self._dfa_lock = threading.Lock()  # their rows are made as texts reach them: one caller at a time
        self._rest: dict = {}  # RE2 sets of the members the automata do not take

    @property
    def needs_widths(self) -> bool:
        """Whether a pattern matched on its own can be decided, or skipped, by the agent's longest line."""
        return any(self.shapes[k].one_line for k in self.single)

    @property
    def one_pass(self) -> bool:
        """Whether the RE2 set holds any pattern (else every pattern is its own Arrow pass)."""
        return self._set is not None

    def _automaton(self):
        """The compiled automata of the set's patterns that :mod:`qcikit._dfa` takes, each with the members it
        holds (at most 64 patterns an automaton: a bit each in its mask); None without numba or when it takes
        fewer than two patterns."""
        if self._dfa is None:
            from . import _dfa

            taken = [k for k in self.members if _dfa.supported("(?im)" + self.regexes[k], 0)]
            made = []
            if len(taken) >= 2 and _dfa.kernel() is not None:
                groups = [taken[lo:lo + _dfa.MAX_PATTERNS] for lo in range(0, len(taken), _dfa.MAX_PATTERNS)]
                try:
                    made = [(_dfa.SetDFA(["(?im)" + self.regexes[k] for k in group], 0), group) for group in groups]
                except _dfa.Unsupported:  # pragma: no cover - each was taken alone; together they may not fit
                    made = []
            self._dfa = made or False
        return self._dfa or None

    def _compiled(self, text, n: int, found: np.ndarray, column: dict) -> list[int]:
        """Match the patterns the compiled automata hold into ``found`` (member ``k`` in column ``column[k]``);
        the members they answered (none when one outgrew its memory: RE2 answers them all)."""
        automata = self._automaton()
        if automata is None:
            return []
        offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:text.offset + n + 1]
        raw = text.buffers()[2]
        data = np.frombuffer(raw if raw is not None and len(raw) else bytes(8), dtype=np.uint8)
        taken = []
        for dfa, group in automata:
            with self._dfa_lock:
                masks = dfa(data, offsets)
            if masks is None:  # too many states for these texts: RE2 answers all of them, from now on
                self._dfa = False
                found[:] = False
                return []
            for bit, k in enumerate(group):
                found[:, column[k]] = (masks >> np.uint64(bit)) & np.uint64(1)
            taken += group
        return taken

    def __call__(self, reading: AgentReading, compiled: bool | None = None) -> np.ndarray:
        """A (transcripts x regexes) boolean matrix: which regexes match each transcript's agent text.
        ``compiled``: the compiled automaton for the set (True), RE2's set (False), or the first from
        :data:`COMPILED_FROM` transcripts on (None); the answers are the same."""
        import pyarrow as pa

        n = reading.n
        out = np.zeros((n, len(self.regexes)), dtype=bool)
        text = reading.agent
        for k in self.single:
            shape = self.shapes[k]
            if shape.one_line and reading.widest is not None:
                # No match spans two lines: a transcript whose longest agent line is too short cannot match.
                long_enough = reading.widest >= shape.min_width
                if shape.length_only:
                    out[:, k] = long_enough
                else:
                    out[long_enough, k] = _contains(text.filter(pa.array(long_enough)), self.regexes[k])
            else:
                out[:, k] = _contains(text, self.regexes[k])
        if not self.members or n == 0:
            return out
        text = text.cast(pa.large_string())
        found = np.zeros((n, len(self.members)), dtype=bool)
        column = {k: j for j, k in enumerate(self.members)}
        use = n >= COMPILED_FROM if compiled is None else compiled
        taken = set(self._compiled(text, n, found, column)) if use else set()
        rest = [k for k in self.members if k not in taken]
        if len(rest) == len(self.members):
            found[:] = _match_set(self._set, [self.regexes[k] for k in self.members], text, n)
        elif rest:  # what the automata do not take (a letter beyond ASCII under (?i)...): RE2, one set of them
            key = tuple(rest)
            if key not in self._rest:
                bound, took = _re2_set([self.regexes[k] for k in rest])
                self._rest[key] = bound if len(took) == len(rest) else None
            cols = [column[k] for k in rest]
            if self._rest[key] is not None:
                found[:, cols] = _match_set(self._rest[key], [self.regexes[k] for k in rest], text, n)
            else:
                for k in rest:
                    found[:, column[k]] = _contains(text, self.regexes[k])
        out[:, self.members] = found
        return out


def _re2_set(regexes: list[str]):
    """RE2's set of ``regexes`` as the rules are matched (``(?im)``), compiled: (the bound C++ set, which
    ``regexes`` it holds), or (None, []) when fewer than two compile (one pattern gains nothing from a set).

    Index 0 of the set is a sentinel that matches at the end of every text, so a text without it is one RE2
    gave up on (automaton memory). Not "": a pattern that matches everywhere makes every state of the
    automaton a match state (a set of one pattern ran 2.6 times slower; the starter rubric's a fifth slower)."""
    try:
        import re2
    except ImportError:  # pragma: no cover - google-re2 is a dependency; this keeps a broken install working
        return None, []
    options = re2.Options()
    options.max_mem = 256 << 20
    options.log_errors = False
    matcher = re2.Set.SearchSet(options)
    matcher.Add(r"\z")
    took = []
    for j, regex in enumerate(regexes):
        try:
            matcher.Add("(?im)" + regex)
        except re2.error:
            continue
        took.append(j)
    if len(took) < 2:
        return None, []
    try:
        matcher.Compile()
    except re2.error:
        return None, []
    return matcher._set, took  # the bound C++ set: takes a buffer, releases the GIL while matching


def _match_set(bound, regexes: list[str], text, n: int) -> np.ndarray:
    """A (texts x regexes) boolean matrix from RE2's set ``bound`` (made by :func:`_re2_set` of ``regexes``)
    over each of the ``n`` texts of ``text`` (an Arrow LargeStringArray). Texts RE2 gave up on (no sentinel)
    are matched one pattern at a time, so the answer never depends on the path taken."""
    import pyarrow as pa

    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:text.offset + n + 1]
    data = text.buffers()[2]
    view = memoryview(data) if data is not None else memoryview(b"")
    match = bound.Match
    hits = [match(view[lo:hi]) for lo, hi in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    counts = np.fromiter(map(len, hits), dtype=np.intp, count=n)
    found = np.zeros((n, len(regexes) + 1), dtype=bool)
    found[np.repeat(np.arange(n), counts),
          np.fromiter(itertools.chain.from_iterable(hits), dtype=np.intp, count=int(counts.sum()))] = True
    failed = np.flatnonzero(~found[:, 0])
    if len(failed):
        sub = text.take(pa.array(failed))
        for j, regex in enumerate(regexes):
            found[failed, j + 1] = _contains(sub, regex)
    return found[:, 1:]


def rules_version(rubric: Rubric, brand, standards: Mapping[str, float] | None = None) -> str:
    """The ``rules`` scorer's version: a hash of everything that decides its scores."""
    spec = {e.id: [(r.id, r.patterns, r.timing) for r in [*e.rules.additive, *e.rules.subtractive]]
            for e in rubric.model.elements}
    blob = json.dumps([spec, brand.signature_phrases, brand.sign_off, brand.avoid,
                       {**STANDARD_SECONDS, **(standards or {})}, SILENT_GAP_SECONDS],
                      sort_keys=True, default=str)
    return "rules-" + hashlib.sha256(blob.encode()).hexdigest()[:10]


# From this many transcripts on (Linux, two cores or more, called from the main thread), the rules scorer
# shares its chunks between forked processes; False keeps every chunk in this process.
PROCESSES_FROM = 100_000
FORK = True
MAX_PROCESSES = 8


def sys_can_fork() -> bool:
    """Linux only: fork is unsafe on macOS (system frameworks) and absent on Windows."""
    import sys

    return sys.platform.startswith("linux")


def _can_fork(n: int) -> bool:
    # The main thread only: a scheduler's worker thread (dask) has already shared the cores out.
    return FORK and n >= PROCESSES_FROM and sys_can_fork() and (os.cpu_count() or 1) >= 2 \
        and threading.current_thread() is threading.main_thread()


class _SharedChunks:
    """``work(chunk)`` of every chunk (``width`` values per row), concatenated in chunk order, computed by this
    process and forked copies of it that take chunks from one shared counter.

    Why processes: RE2's set gives the GIL back on every transcript, so threads that match at once spend their
    time handing it over; forked processes each have their own and match side by side (at 1M transcripts on
    two cores, 7.7–8.4 s against 9.8–10.6 s for the threaded pipeline). They see the parent's memory without
    copying it and write their results into one shared mapping; nothing is pickled.

    :meth:`start` forks the copies, which begin at once; :meth:`result` has this process take chunks too until
    none is left, then gathers. Between the two the parent is free: ``qcikit autoscore`` checks the rest of the
    engagement folder while the copies score (see :func:`start_rules`).

    A copy that fails, dies or hangs costs time, never rows: each chunk is marked done once written, the parent
    waits for the others ``patience`` seconds (or three times its slowest chunk) after its own last chunk, stops
    any still running, and computes every chunk not marked done itself. :meth:`cancel` stops them all.
    """

    def __init__(self, chunks: list, work: Callable[[object], np.ndarray], width: int,
                 processes: int | None = None, patience: float = 5.0):
        import mmap
        import multiprocessing as mp

        self.chunks, self.work, self.patience = chunks, work, patience
        sizes = np.array([len(c) for c in chunks], dtype=np.int64) * width
        self.ends = np.cumsum(sizes)
        self.starts = self.ends - sizes
        total = int(self.ends[-1]) if len(self.ends) else 0
        # An anonymous mapping is shared with the forked children: their writes are the parent's results.
        self.buf = mmap.mmap(-1, max(1, total * 8 + len(chunks)))
        self.points = np.frombuffer(self.buf, dtype=np.float64, count=total)
        self.done = np.frombuffer(self.buf, dtype=np.uint8, count=len(chunks), offset=total * 8)
        self.ctx = mp.get_context("fork")
        self.counter = self.ctx.Value("q", 0)
        self.slowest = 0.0
        self.n_children = min((processes or min(os.cpu_count() or 1, MAX_PROCESSES)) - 1, len(chunks) - 1)
        self.children: list = []

    def _run(self) -> None:
        import time

        while True:
            with self.counter.get_lock():
                k = self.counter.value
                self.counter.value = k + 1
            if k >= len(self.chunks):
                return
            t = time.perf_counter()
            self.points[self.starts[k]:self.ends[k]] = self.work(self.chunks[k])
            self.done[k] = 1
            self.slowest = max(self.slowest, time.perf_counter() - t)

    def _in_child(self) -> None:
        try:
            self._run()
        except BaseException:  # noqa: BLE001 - whatever the child leaves undone, the parent does
            pass

    def start(self) -> "_SharedChunks":
        import sys

        for stream in (sys.stdout, sys.stderr):  # else a child flushes, at its exit, what the parent had buffered
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        with warnings.catch_warnings():
            # Python 3.12+ warns that fork in a threaded process may deadlock the child; a stuck child is stopped.
            warnings.simplefilter("ignore", DeprecationWarning)
            for _ in range(max(0, self.n_children)):
                child = self.ctx.Process(target=self._in_child, daemon=True)
                child.start()
                self.children.append(child)
        return self

    def result(self) -> np.ndarray:
        import time

        try:
            self._run()
            deadline = time.monotonic() + max(self.patience, 3 * self.slowest)
            for child in self.children:
                child.join(max(0.0, deadline - time.monotonic()))
        finally:
            self._stop()
        for k in np.flatnonzero(self.done == 0):
            self.points[self.starts[k]:self.ends[k]] = self.work(self.chunks[k])
        out = self.points.copy()
        self.cancel()
        return out

    def _stop(self) -> None:
        for child in self.children:
            if child.is_alive():
                child.kill()
                child.join()

    def cancel(self) -> None:
        """Stop the copies and let the shared mapping go (the results with it); nothing when already done."""
        self._stop()
        if not self.buf.closed:
            self.points = self.done = None  # the views let go of the mapping, which can then be closed
            self.buf.close()


def _shared_chunks(chunks: list, work: Callable[[object], np.ndarray], width: int,
                   processes: int | None = None, patience: float = 5.0) -> np.ndarray:
    """:class:`_SharedChunks` started and gathered at once."""
    return _SharedChunks(chunks, work, width, processes, patience).start().result()


def score_rules(interactions: pd.DataFrame, rubric: Rubric, brand, chunk: int = 25_000,
                standards: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The ``rules`` scorer on ``interactions`` (``interaction_id``, ``touchpoint``, ``transcript``): long
    ``interaction_id``, ``element``, ``points``. Works in chunks so memory stays bounded on a million rows.

    ``standards`` (seconds per touchpoint level, over :data:`STANDARD_SECONDS`) decide the timing rules; a
    touchpoint without a standard leaves the timing rules of its interactions unfired."""
    return _RulesRun(interactions, rubric, brand, chunk, standards).result()


def _scored(population: pd.DataFrame, wave: str | None) -> pd.DataFrame:
    """The columns a scorer reads (``interaction_id``, ``touchpoint``, ``transcript``), of ``wave`` only when given.
    A boolean filter per column: the wave's transcripts are taken chunk by chunk, never the whole column joined."""
    cols = [c for c in ("interaction_id", "touchpoint", "transcript") if c in population]
    return filter_rows(population, in_wave(population, wave), cols) if wave is not None else population[cols]


def start_rules(population: pd.DataFrame, config, rubric: Rubric, wave: str | None = None,
                chunk: int = 25_000, prepared: "_Prepared | None" = None) -> "_RulesRun | None":
    """The rules scorer started on a population that is still being checked: ``qcikit autoscore`` calls it from
    :meth:`Engagement.load <qcikit.Engagement.load>` as soon as interactions.csv is read, so that forked
    processes score while the parent checks the rest of the folder (a million interactions: about a second
    of checks during which one core waited). Pass what it returns to :func:`autoscore` (``started``), which
    gathers it; :meth:`_RulesRun.cancel` stops it when the folder turns out to be invalid.

    None when the population would not be scored in forked processes anyway (too small, no fork, no
    transcripts, an unknown wave): :func:`autoscore` then scores it after the load, as usual.
    ``prepared``: what :func:`prepare_rules` returned for this rubric, waited for here (the rules are made
    here when it is None or failed)."""
    rules = prepared.get() if prepared is not None else None
    if "transcript" not in population or (wave is not None and wave not in config.waves):
        return None
    if not _can_fork(len(population)):
        return None
    pop = _scored(population, wave)
    # As the load leaves it (an empty transcript reads as one), in a frame of its own: the load goes on
    # replacing columns of the population it checks.
    pop = pop.assign(transcript=pop["transcript"].fillna(""))
    run = _RulesRun(pop, rubric, config.brand_voice, chunk, standards=config.response_standards, rules=rules)
    return run.start() if run.forks else None


class _Rules:
    """What a rubric's rules decide, and how, whatever the population: each fired rule's points, regex and timing,
    the elements they decide, and the matcher of their patterns. Made once per command: ``qcikit autoscore``
    makes it while interactions.csv is parsed (see :func:`prepare_rules`)."""

    def __init__(self, rubric: Rubric, brand, standards: Mapping[str, float] | None = None):
        self.std_of = {**STANDARD_SECONDS, **(standards or {})}
        fired_rules = {}
        for e in rubric.model.elements:
            for sign, rules in ((1, e.rules.additive), (-1, e.rules.subtractive)):
                for r in rules:
                    pats = [p for p in (_expand(p, brand) for p in r.patterns) if p]
                    if pats or r.timing:
                        fired_rules[(e.id, r.id)] = (sign * r.points, "|".join(f"(?:{p})" for p in pats) if pats else None, r.timing)
        self.fired_rules = fired_rules
        self.decided = sorted({e for e, _ in fired_rules})
        self.el = {e.id: e for e in rubric.model.elements}
        phrase = [key for key, (_, regex, _) in fired_rules.items() if regex is not None]
        self.matcher = RuleMatcher([fired_rules[key][1] for key in phrase])
        self.column = {key: j for j, key in enumerate(phrase)}

    def load_compiled(self) -> bool:
        """Load the compiled reader and build the patterns' automaton (numba's import, its cached machine code):
        whether the reader is there. Once per process; forked processes find both made."""
        from ._scan import kernel

        if kernel() is None:
            return False
        self.matcher._automaton()
        return True


class _Prepared:
    """:class:`_Rules` made on a thread of its own (see :func:`prepare_rules`); :meth:`get` waits for it."""

    def __init__(self, rubric: Rubric, brand, standards, compiled: bool):
        self.rules: _Rules | None = None
        self._thread = threading.Thread(target=self._make, args=(rubric, brand, standards, compiled),
                                        name="qcikit-rules", daemon=True)
        self._thread.start()

    def _make(self, rubric, brand, standards, compiled) -> None:
        try:
            rules = _Rules(rubric, brand, standards)
            if compiled:
                rules.load_compiled()
            self.rules = rules
        except Exception:  # noqa: BLE001 - a head start only: the run makes its own rules when this has none
            self.rules = None

    def get(self) -> "_Rules | None":
        """The rules, once the thread is done (None when making them failed); no thread is left running, so the
        caller may fork."""
        self._thread.join()
        return self.rules


def prepare_rules(config, rubric: Rubric, folder: str | Path | None = None) -> _Prepared:
    """Make the rules scorer's rules on a thread while the caller goes on: ``qcikit autoscore`` calls it once
    engagement.yaml and rubric.yaml are read, so that compiling the patterns, importing numba and loading its
    machine code (about a second and a half, all in Python) happen while Arrow parses interactions.csv
    without holding the GIL, not after it with a core idle. Pass the result to :func:`start_rules`.

    The population is not read yet: numba is loaded only when the engagement ``folder``'s population file is
    as large as :data:`COMPILED_FROM` transcripts of a few hundred bytes each (else the run loads it, if
    the population turns out to need it)."""
    return _Prepared(rubric, config.brand_voice, config.response_standards, folder is None or _looks_large(Path(folder)))


def _looks_large(folder: Path) -> bool:
    # Bytes a transcript takes at the least in a contact centre's export: a few short lines (Parquet compresses).
    for name, least in (("interactions.csv", 1000), ("interactions.parquet", 200)):
        path = folder / name
        if path.is_file():
            return path.stat().st_size >= COMPILED_FROM * least
    return False


class _RulesRun:
    """One run of the rules scorer: what it decides and how (the rules, the matcher, the chunks), then the
    chunks scored (:meth:`result`). :meth:`start` lets forked processes begin before :meth:`result` is asked."""

    def __init__(self, interactions: pd.DataFrame, rubric: Rubric, brand, chunk: int = 25_000,
                 standards: Mapping[str, float] | None = None, rules: "_Rules | None" = None):
        rules = rules if rules is not None else _Rules(rubric, brand, standards)
        std_of = rules.std_of
        self.interactions, self.fired_rules, self.decided, self.el = interactions, rules.fired_rules, rules.decided, rules.el
        self.matcher, self.column = rules.matcher, rules.column
        # A contact centre's volume is read by the compiled reader when numba is there: chosen once for every
        # chunk, and compiled (or loaded from numba's cache) here, before the processes or threads start. Once:
        # loaded in each forked process instead (the children while the parent checks the folder), numba's
        # start took twice the CPU, each process slowing the other (1M, same run).
        self.compiled = len(interactions) >= COMPILED_FROM and rules.load_compiled()

        # The touchpoint decides the response standard and whether the channel is live: once per distinct
        # value, then one gather (no string per row per chunk).
        if "touchpoint" in interactions:
            codes, kinds = pd.factorize(interactions["touchpoint"].astype(str))
            kinds = np.asarray(kinds, dtype=object)
            self.std_all = np.append(np.array([std_of.get(k, np.nan) for k in kinds], dtype=float), np.nan)[codes]
            self.live_all = np.append(np.isin(kinds, LIVE), False)[codes]  # code -1 (missing): the appended last value
        else:
            self.std_all, self.live_all = np.full(len(interactions), np.nan), np.zeros(len(interactions), dtype=bool)
        n = len(interactions)
        self.chunks = [range(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)]
        self.forks = len(self.chunks) > 1 and self.matcher.one_pass and _can_fork(n)
        self._shared: _SharedChunks | None = None

    def _prepare(self, rows: range):
        """What needs no regex set: stamps, timing and the agent's joined words (kernels without the GIL)."""
        part = self.interactions.iloc[rows.start:rows.stop]
        reading = read_agent(part["transcript"], compiled=self.compiled, widths=self.matcher.needs_widths)
        return reading, _timing(reading, self.live_all[rows.start:rows.stop]), self.std_all[rows.start:rows.stop]

    def _finish(self, prepared) -> np.ndarray:
        reading, timing, std = prepared
        n, el = reading.n, self.el
        points = {e: np.full(n, el[e].start, dtype=float) for e in self.decided}
        said = self.matcher(reading, compiled=self.compiled)
        for (e, rule), (delta, regex, measure) in self.fired_rules.items():
            if measure == "within_standard":
                hit = timing["first_response"] <= std
            elif measure == "over_double_standard":
                hit = timing["first_response"] > 2 * std
            elif measure == "silent_gap":
                hit = timing["silent_gap"]
            else:  # any of the agent's lines matches
                hit = said[:, self.column[(e, rule)]]
            points[e] = points[e] + delta * np.asarray(hit, dtype=bool)
        # Element-major, as a melt of the chunk would be: one row per interaction within each element.
        return np.concatenate([np.clip(points[e], 0, el[e].max_points) for e in self.decided]) if self.decided else np.zeros(0)

    def _work(self, rows: range) -> np.ndarray:
        return self._finish(self._prepare(rows))

    def start(self) -> "_RulesRun":
        """Fork the processes that share the chunks (when :attr:`forks`): they begin scoring at once."""
        if self.forks and self._shared is None:
            self._shared = _SharedChunks(self.chunks, self._work, len(self.decided)).start()
        return self

    def cancel(self) -> None:
        """Stop the processes :meth:`start` forked (nothing when they are done or none was)."""
        if self._shared is not None:
            self._shared.cancel()

    def result(self) -> pd.DataFrame:
        interactions, chunks, decided = self.interactions, self.chunks, self.decided
        workers = max(1, (os.cpu_count() or 1) - 1)
        if self._shared is not None:
            parts = [self._shared.result()]
        elif len(chunks) == 1:
            parts = [self._work(chunks[0])]
        elif self.forks:
            # Forked processes match side by side (see _SharedChunks), each reading and matching its chunks alone.
            parts = [_shared_chunks(chunks, self._work, len(decided))]
        elif self.matcher.one_pass:
            # RE2's set takes and gives back the GIL on every transcript: two threads matching at once spend their
            # time handing it over (no faster than one, twice the CPU). So the main thread matches, chunk after
            # chunk, while the other cores prepare the next chunks (compiled scan and Arrow, without the GIL).
            # Memory stays bounded by the chunks in flight.
            from collections import deque
            from concurrent.futures import ThreadPoolExecutor

            parts = []
            with ThreadPoolExecutor(max_workers=workers) as pool:
                ahead = deque(pool.submit(self._prepare, c) for c in chunks[:workers + 1])
                for k in range(len(chunks)):
                    prepared = ahead.popleft().result()
                    if k + workers + 1 < len(chunks):
                        ahead.append(pool.submit(self._prepare, chunks[k + workers + 1]))
                    parts.append(self._finish(prepared))
        else:
            # Without the set every pattern is an Arrow pass, which releases the GIL: whole chunks on every core.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(len(chunks), os.cpu_count() or 1)) as pool:
                parts = list(pool.map(self._work, chunks))
        if not parts or not decided:
            return pd.DataFrame(columns=["interaction_id", "element", "points"])
        # The long table is put together once, from integer positions: no Python string per row (fifteen million
        # rows for a million interactions), the ids taken in Arrow, the elements as a categorical.
        sizes = [len(c) for c in chunks]
        starts = np.cumsum([0, *sizes[:-1]])
        # int32 codes, as a categorical of a million ids keeps them (int64 ones were copied into int32 by pandas).
        kind = np.int32 if len(interactions) < 2**31 else np.int64
        position = np.concatenate([np.tile(np.arange(lo, lo + n, dtype=kind), len(decided)) for lo, n in zip(starts, sizes)])
        element = np.concatenate([np.repeat(np.arange(len(decided), dtype=np.int16), n) for n in sizes])
        ids = interactions["interaction_id"].astype(str)
        try:  # the population's ids are unique: each row holds a code into them, and no id is copied per element
            ids = pd.Categorical.from_codes(position, dtype=pd.CategoricalDtype(pd.Index(ids)))
        except ValueError:  # repeated ids (a caller's own frame): one string per row after all
            ids = ids.array.take(position)
        # copy=False: the arrays are this run's own (a copy of fifteen million points was a sixth of the frame's time).
        return pd.DataFrame({"interaction_id": ids, "element": pd.Categorical.from_codes(element, decided),
                             "points": np.concatenate(parts)}, copy=False)


def score_model(eng, population: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
    """The cross-fitted ``model`` scorer: long ``interaction_id``, ``element``, ``points`` for ``population``.

    Per element, a ridge regression on TF-IDF features of the agent's words (word 1–2-grams), trained on the
    human-scored interactions' mean points. The human-scored ones are cut in ``FOLDS`` folds (seeded); each
    is predicted by the model fitted without its fold, every other interaction by the mean of the fold
    models. Predictions are clipped to the element's 0–max.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold

    if eng.scores is None or eng.scores.empty:
        raise QcikitError(f"{eng.path}: the model scorer learns from human scores and there are none. "
                          "Fix: score part of the sample first, or use --scorer rules.")
    seed = eng.config.seed if seed is None else seed
    human = (eng.scores.groupby(["interaction_id", "element"], sort=True)["points"].mean().unstack("element"))
    pop_ids = population["interaction_id"].astype(str).to_numpy()
    text = agent_text(population["transcript"]).to_numpy()
    labelled = np.flatnonzero(pd.Index(human.index).get_indexer(pop_ids) >= 0)
    if len(labelled) < MIN_TRAINING:
        raise QcikitError(f"{eng.path}: only {len(labelled)} human-scored interactions are in the population to learn "
                          f"from; the model scorer needs {MIN_TRAINING}. Fix: score more of the sample first.")
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x_lab = vec.fit_transform(text[labelled])  # vocabulary from the labelled text only: no label leaks into it
    x_all = vec.transform(text)
    y_all = human.reindex(pop_ids[labelled])
    folds = list(KFold(FOLDS, shuffle=True, random_state=seed).split(labelled))
    maxp = eng.rubric.max_points
    out = {}
    for e in eng.rubric.element_ids:
        y = y_all[e].to_numpy(dtype=float) if e in y_all else np.full(len(labelled), np.nan)
        ok = np.isfinite(y)
        if ok.sum() < MIN_TRAINING:
            continue  # too few human scores of this element to learn it: left empty
        pred = np.zeros(len(pop_ids))
        own = np.full(len(labelled), np.nan)
        for train, test in folds:
            tr = train[ok[train]]
            if len(tr) < 2:
                continue
            model = Ridge(alpha=1.0).fit(x_lab[tr], y[tr])
            pred += model.predict(x_all) / len(folds)
            own[test] = model.predict(x_lab[test])
        pred[labelled] = np.where(np.isfinite(own), own, pred[labelled])
        out[e] = np.clip(pred, 0, float(maxp[e]))
    frame = pd.DataFrame(out)
    frame["interaction_id"] = pop_ids
    return frame.melt(id_vars="interaction_id", var_name="element", value_name="points")


def score_plugin(scorer: Scorer, population: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """A plug-in scorer on every transcript; its elements must be the rubric's and its points within 0–max."""
    rows = []
    maxp = rubric.max_points
    for iid, text in zip(population["interaction_id"].astype(str), population["transcript"].fillna("").astype(str)):
        got = scorer.fn(text, rubric) or {}
        for e, pts in got.items():
            if e not in maxp.index:
                raise QcikitError(f"scorer '{scorer.name}' returned element '{e}' for interaction {iid}, which the rubric "
                                  f"does not have. Fix: return the rubric's element ids ({', '.join(maxp.index[:5])}, …).")
            if pts is not None and not (0 <= float(pts) <= maxp[e]):
                raise QcikitError(f"scorer '{scorer.name}' gave {pts} points to '{e}' on interaction {iid}, outside "
                                  f"0–{maxp[e]:g}. Fix: clip the plug-in's points to the element's maximum.")
            rows.append((iid, e, np.nan if pts is None else float(pts)))
    return pd.DataFrame(rows, columns=["interaction_id", "element", "points"])


# -- running and keeping them ------------------------------------------------------------
def autoscore(eng, scorer: str, wave: str | None = None, started: "_RulesRun | None" = None) -> pd.DataFrame:
    """Score every interaction of the population (or of ``wave``) with ``scorer``: rows ready for
    :func:`save_autoscores` (``interaction_id``, ``element``, ``points``, ``scorer``, ``version``,
    ``crossfit``, ``frozen_at``). The columns that repeat values over millions of rows (``scorer``,
    ``version``, ``frozen_at``; the rules scorer's ``interaction_id`` and ``element``) are categoricals.
    ``started``: what :func:`start_rules` returned for this engagement's population and ``wave`` while it
    loaded; its scores are gathered instead of scoring again."""
    if scorer not in scorers():
        raise QcikitError(f"scorer '{scorer}' is not known. Fix: use one of {', '.join(scorers())}, or register a "
                          "plug-in with qcikit.assist.register_scorer.")
    pop = eng.interactions
    if wave is not None and wave not in eng.config.waves:
        raise QcikitError(f"{eng.path}: wave '{wave}' is not in engagement.yaml. Fix: use one of {', '.join(eng.config.waves)}.")
    if "transcript" not in pop:
        raise QcikitError(f"{eng.path}: the population has no transcript column, and every scorer reads transcripts. "
                          "Fix: add the transcripts to interactions.csv (or .parquet).")
    pop = _scored(pop, wave)
    crossfit = False
    if scorer == "rules":
        cfg = eng.config
        if started is not None:
            rows = started.result()
        else:
            rows = score_rules(pop, eng.rubric, cfg.brand_voice, standards=cfg.response_standards)
        version = rules_version(eng.rubric, cfg.brand_voice, cfg.response_standards)
    elif scorer == "model":
        rows, crossfit = score_model(eng, pop), True
        version = "model-crossfit-" + hashlib.sha256(f"{FOLDS}|{eng.config.seed}|{eng.rubric.version}".encode()).hexdigest()[:8]
    else:
        plug = _REGISTRY[scorer]
        rows, version = score_plugin(plug, pop, eng.rubric), plug.version
    n = len(rows)

    def constant(value: str) -> pd.Categorical:  # one code per row, not one string per row
        return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [value])

    rows = rows.assign(scorer=constant(scorer), version=constant(version), crossfit=np.full(n, crossfit),
                       frozen_at=constant(_frozen_at(eng, scorer, version)))
    return rows[COLUMNS]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")  # as precise as the store's saved_at


def _frozen_at(eng, scorer: str, version: str) -> str:
    """When this scorer version first ran on the engagement (now, when it never did)."""
    old = load_autoscores(eng, scorer, columns=("scorer", "version", "frozen_at"))
    old = old[(old["version"] == version).to_numpy(dtype=bool)]
    if not len(old):
        return _now()
    # A run repeats one time over its fifteen million rows: each distinct time is parsed once, in the order
    # the rows give them (so the first row's time stands when none parses).
    values = pd.Series(pd.unique(old["frozen_at"]), dtype=object).astype(str)
    times = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
    if times.isna().all():
        return values.iloc[0]
    return values.iloc[int(times.idxmin())]  # the earliest, NaT skipped


def _store(eng):
    """The engagement's score store, or None when it has none (scores then live in scores.csv)."""
    return eng.open_store() if eng.has_store() else None


def autoscores_file(folder: str | Path) -> Path | None:
    """The engagement's machine-score file, autoscores.csv or autoscores.parquet (None when it has neither).
    Both at once is refused: which one holds the runs could not be told."""
    folder = Path(folder)
    found = [folder / name for name in (AUTOSCORES, AUTOSCORES_PARQUET) if (folder / name).is_file()]
    if len(found) > 1:
        raise QcikitError(f"{folder}: both {AUTOSCORES} and {AUTOSCORES_PARQUET} hold machine scores, so which one "
                          "counts cannot be told. Fix: keep one (delete or rename the other).")
    return found[0] if found else None


def save_autoscores(eng, rows: pd.DataFrame) -> str:
    """Keep a run: in the score store when the engagement has one (append-only, a later run wins), else in the
    engagement's file (atomically; this scorer's rows for the same interactions are replaced, others kept).
    The file is the one already there; a first run goes to autoscores.parquet when it is longer than a
    spreadsheet opens (:data:`SPREADSHEET_ROWS`) or the population is interactions.parquet, else to
    autoscores.csv. Returns where the run went."""
    store = _store(eng)
    if store is not None:
        store.save_autoscores(rows)
        return store.location
    rows = rows[COLUMNS]
    path = autoscores_file(eng.path)
    if path is None:
        columnar = len(rows) > SPREADSHEET_ROWS or (Path(eng.path) / "interactions.parquet").is_file()
        path = Path(eng.path) / (AUTOSCORES_PARQUET if columnar else AUTOSCORES)
    else:
        old = _file_rows(eng, path, COLUMNS)
        # A run is one scorer's: its earlier rows for the same interactions give way, every other row stays.
        replaced = isin(old["scorer"], rows["scorer"].unique()) & isin(old["interaction_id"], rows["interaction_id"].unique())
        keep = old[~replaced]
        rows = pd.concat([keep, rows], ignore_index=True) if len(keep) else rows
    if path.suffix == ".parquet":
        write_autoscores_parquet(rows, path)
    else:
        write_autoscores_csv(rows, path)
    eng.__dict__.pop("_autoscores_file", None)  # what was read of the file is not what it holds now
    return str(path)


def _crossfit(values: pd.Series) -> np.ndarray:
    """The ``crossfit`` flags as booleans: a run's own column is boolean already (fifteen million rows made into
    "True"/"False" strings took seconds); text from a file reads "true", "1" or "yes", in any case."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool)
    return per_category(values, lambda v: isin(v.astype(str).str.strip().str.lower(), ["true", "1", "yes"]))


def write_autoscores_parquet(rows: pd.DataFrame, path: str | Path) -> Path:
    """Write machine scores as autoscores.parquet, atomically: the columns of autoscores.csv, ``points`` a number
    (null = not applicable), ``crossfit`` a boolean. A categorical column is written from its codes, so fifteen
    million rows make no Python string; the rows keep the run's order (a columnar file has no reading order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ._io import _atomic

    def text(column: pd.Series):
        if isinstance(column.dtype, pd.CategoricalDtype):
            categories = arrow_categories(column.cat.categories)  # a run's million ids: as Arrow holds them
            codes = column.cat.codes.to_numpy()
            missing = codes < 0
            return pa.DictionaryArray.from_arrays(pa.array(codes, mask=missing if missing.any() else None), categories)
        return pa.array(np.asarray(column.astype(str), dtype=object), type=pa.string())

    points = rows["points"].to_numpy(dtype=float)
    columns = {
        "interaction_id": text(rows["interaction_id"]), "element": text(rows["element"]),
        "points": pa.array(points, mask=np.isnan(points)),
        "scorer": text(rows["scorer"]), "version": text(rows["version"]),
        "crossfit": pa.array(_crossfit(rows["crossfit"])),
        "frozen_at": text(rows["frozen_at"]),
    }
    # A column without a null is written as a required field: Parquet then keeps no definition level per row,
    # which was a third of the time spent on an id column and over half on a run's constant columns. Readers
    # see the same values (a required column is an optional one that happens to hold no null).
    table = pa.Table.from_arrays(list(columns.values()), schema=pa.schema(
        [pa.field(name, array.type, nullable=name == "points" or array.null_count > 0) for name, array in columns.items()]))
    # One row group: the ids' dictionary is written once, as Arrow holds it (48 MB for fifteen million rows),
    # where the default million-row groups re-encode it per group (110 MB, three times slower). Min/max
    # statistics of the text columns took half the writing time and serve no reader of this file: points only.
    return _atomic(path, lambda fh: pq.write_table(table, fh, row_group_size=max(len(table), 1),
                                                  write_statistics=["points"]))


def write_autoscores_csv(rows: pd.DataFrame, path: str | Path) -> Path:
    """Write machine scores in the autoscores.csv format, atomically, sorted by scorer, interaction and element.

    Millions of rows (every interaction × element): each text column is factorized once and taken back in
    Arrow after one integer sort, so no Python string is made per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ._io import needs_quotes, write_arrow_csv

    codes, uniques = {}, {}
    for c in ("scorer", "interaction_id", "element", "version", "frozen_at"):
        column = rows[c]
        # A categorical (a run's constant columns, its elements) factorizes on its codes; text only once per value.
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.cat.rename_categories(column.cat.categories.astype(str))
            column = column.cat.reorder_categories(sorted(column.cat.categories))  # codes in text order
        else:
            column = column.astype(str)
        codes[c], uniques[c] = pd.factorize(column, sort=True)
    order = np.lexsort((codes["element"], codes["interaction_id"], codes["scorer"]))
    distinct = {c: pa.array(np.asarray(u, dtype=object), type=pa.string()) for c, u in uniques.items()}
    take = lambda c: distinct[c].take(pa.array(codes[c][order]))  # noqa: E731
    flag = _crossfit(rows["crossfit"])[order]
    # Points take a few values (half points from 0 to the maximum): each is written as text once.
    point_codes, point_values = pd.factorize(rows["points"].to_numpy(dtype=float), use_na_sentinel=False)
    point_text = pc.fill_null(pc.cast(pa.array(point_values, from_pandas=True), pa.string()), "")
    table = pa.table({
        "interaction_id": take("interaction_id"), "element": take("element"),
        "points": point_text.take(pa.array(point_codes[order])),  # 2.0 → "2", 0.5 → "0.5", empty = not applicable
        "scorer": take("scorer"), "version": take("version"),
        "crossfit": pa.array(np.where(flag, "true", "false"), type=pa.string()), "frozen_at": take("frozen_at"),
    })
    # Quoting is decided on the distinct values (a million ids, not fifteen million cells).
    return write_arrow_csv(table, path, plain=not any(needs_quotes(v) for v in distinct.values()))


def read_autoscores(path: str | Path, columns=COLUMNS) -> pd.DataFrame:
    """autoscores.csv (or autoscores.parquet) as a table; ``version`` (default ``imported``), ``crossfit``
    (default false) and ``frozen_at`` (default: the file's modification time) are optional columns.
    ``columns``: read only these (their checks only): a run's scorer, version and time without its fifteen
    million points."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = Path(path)
    if path.suffix.lower() == ".parquet":
        df = _read_autoscores_parquet(path, columns)
        return _checked_autoscores(path, df, columns)
    # Arrow's reader: a run over a million interactions is fifteen million rows, read on every core into Arrow
    # strings, every cell text ("" when empty), as a careful reader of a client's file should.
    try:
        with open(path, "rb") as fh:
            header = fh.readline().decode("utf-8-sig")
        names = next(csvlib.reader([header]), [])
        wanted = [c for c in names if c.strip() in columns]
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={c: pa.large_string() for c in names}, strings_can_be_null=False, include_columns=wanted))
    except (OSError, pa.ArrowInvalid, UnicodeDecodeError, ValueError) as exc:
        raise QcikitError(f"{path}: cannot be read as CSV ({exc}). Fix: save it as UTF-8 CSV with a header row.") from None
    df = from_arrow(table)
    df.columns = [str(c).strip() for c in df.columns]
    return _checked_autoscores(path, df, columns)


def _read_autoscores_parquet(path: Path, columns) -> pd.DataFrame:
    """autoscores.parquet as the frame the CSV reader gives, except that a dictionary-encoded column (ids,
    elements, the run's constant columns) stays a categorical: fifteen million rows are then codes, not
    fifteen million strings. Other columns are text ("" for null); ``points`` a number when the file types it
    so; ``crossfit`` a boolean when it is one."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        table = pq.read_table(path, columns=[c for c in names if c.strip() in columns])
    except (OSError, pa.ArrowException) as exc:
        raise QcikitError(f"{path}: cannot be read as Parquet ({str(exc).splitlines()[0]}). Fix: write it again with "
                          "pandas' to_parquet or pyarrow, or save it as autoscores.csv.") from None
    out, categorical = {}, {}
    for name in table.column_names:
        column, kind = table[name], table[name].type
        if name.strip() == "points" and (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
            out[name] = pc.cast(column, pa.float64())
        elif name.strip() == "crossfit" and pa.types.is_boolean(kind):
            out[name] = pc.fill_null(column, False)
        elif pa.types.is_dictionary(kind) and (pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)):
            out[name] = column
            categorical[name] = _dictionary_categorical(column)
        else:
            out[name] = pc.fill_null(pc.cast(column, pa.large_string()), "")  # as the CSV reader: an empty cell is ""
    # The dictionary columns made categoricals here (None: left to Arrow's conversion), the rest by Arrow.
    made = {name: values for name, values in categorical.items() if values is not None}
    df = from_arrow(pa.table({name: column for name, column in out.items() if name not in made}))
    df = pd.DataFrame({name: made[name] if name in made else df[name] for name in out}, copy=False)
    for name in df.columns:
        if isinstance(df[name].dtype, pd.CategoricalDtype):
            values = df[name].cat.rename_categories(df[name].cat.categories.astype(str))
            if values.isna().any():  # a null is an empty cell, as in a CSV
                values = (values if "" in values.cat.categories else values.cat.add_categories([""])).fillna("")
            df[name] = values
    return df


def _dictionary_categorical(column) -> pd.Categorical | None:
    """A dictionary-encoded text column (Parquet's, as a run writes its ids) as a categorical whose categories
    stay Arrow strings: Arrow's own conversion made its million ids Python strings (half a second on every load
    of an engagement that keeps a run). None when its dictionary repeats a value, which a category cannot."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if not chunks:
        return None
    # Parquet's reader hands every batch of a row group the same dictionary (a hundred batches of a run's ids):
    # told in a moment by its buffers, where unifying them hashed the million ids once per batch.
    if not all(chunk.dictionary.equals(chunks[0].dictionary) for chunk in chunks[1:]):
        chunks = pa.chunked_array(chunks).unify_dictionaries().chunks
    indices = pa.chunked_array([chunk.indices for chunk in chunks]).combine_chunks()
    codes = pc.fill_null(indices, -1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    categories = pd.Index(pd.array(chunks[0].dictionary.cast(pa.large_string()), dtype=pd.StringDtype("pyarrow", na_value=np.nan)))
    try:
        return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories))
    except ValueError:  # a repeated (or missing) dictionary value
        return None


def _checked_autoscores(path: Path, df: pd.DataFrame, columns) -> pd.DataFrame:
    """The checks and defaults every machine-score file gets, whichever its format."""
    df.columns = [str(c).strip() for c in df.columns]
    first = 1 if path.suffix.lower() == ".parquet" else 2  # the first data row's number: a CSV has its header above
    missing = [c for c in ("interaction_id", "element", "points", "scorer") if c in columns and c not in df.columns]
    if missing:
        raise QcikitError(f"{path}: column(s) {', '.join(missing)} missing. Fix: give interaction_id, element, points, scorer "
                          "(empty points = not applicable).")
    if "version" not in df:
        df["version"] = "imported"
    if "crossfit" not in df:
        df["crossfit"] = "false"
    if "frozen_at" not in df:
        df["frozen_at"] = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    if "points" in columns and pd.api.types.is_numeric_dtype(df["points"]):  # typed (Parquet): null is not applicable
        df["points"] = df["points"].to_numpy(dtype=float)
    elif "points" in columns:
        values = to_number(df["points"])
        bad = (values.isna() & df["points"].str.strip().ne("")).to_numpy(dtype=bool)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise QcikitError(f"{path}, row {row + first}: points '{df['points'].iloc[row]}' is not a number. Fix: write a "
                              "number, or leave the cell empty for not applicable.")
        df["points"] = values.to_numpy()
    empty = np.zeros(len(df), dtype=bool)
    for c in ("scorer", "interaction_id"):
        if c in columns:
            empty |= per_category(df[c], lambda v: v.str.strip().eq(""))
    if empty.any():
        row = int(np.flatnonzero(empty)[0]) + first
        raise QcikitError(f"{path}, row {row}: interaction_id and scorer must not be empty. Fix: fill them in.")
    df["crossfit"] = _crossfit(df["crossfit"])
    return df[list(columns)]


def autoscore_problems(eng, rows: pd.DataFrame) -> list[tuple[str, str]]:
    """Every problem of machine scores, as (message, fix): unknown interactions or elements, points outside 0–max."""
    out = []
    # Fifteen million rows for a million interactions: Arrow's is_in, and the elements looked up once each.
    unknown = ~isin(rows["interaction_id"], eng.interactions["interaction_id"].astype(str))
    if unknown.any():
        first = rows["interaction_id"].iloc[int(np.flatnonzero(unknown)[0])]
        out.append((f"{int(unknown.sum())} row(s) name interactions that are not in the population (first: '{first}').",
                    "Score only interactions of interactions.csv."))
    maxp = eng.rubric.max_points
    element = rows["element"] if isinstance(rows["element"].dtype, pd.CategoricalDtype) else rows["element"].astype(str)
    top = lookup(element, maxp).astype(float)
    bad_el = np.isnan(top)
    if bad_el.any():
        out.append((f"{int(bad_el.sum())} row(s) name elements that are not in the rubric (first: "
                    f"'{element.iloc[int(np.flatnonzero(bad_el)[0])]}').", "Use the rubric's element ids."))
    points = rows["points"].to_numpy(dtype=float)
    over = ~bad_el & ((points < 0) | (points > top))
    if over.any():
        r = rows[over].iloc[0]
        out.append((f"{int(over.sum())} row(s) give points outside the element's 0–max (first: {r['points']:g} for "
                    f"'{r['element']}' on {r['interaction_id']}, max {maxp[r['element']]:g}).",
                    "Give points within the element's maximum."))
    return out


def check_autoscores(eng, rows: pd.DataFrame, source: str) -> None:
    """Refuse (``QcikitError``) machine scores with any problem of :func:`autoscore_problems`, naming them all."""
    problems = autoscore_problems(eng, rows)
    if problems:
        raise QcikitError(f"{source}: " + " ".join(m for m, _ in problems) + " Fix: " + " ".join(f for _, f in problems))


def import_autoscores(eng, path: str | Path) -> tuple[int, str]:
    """Take an AutoQA tool's file (the autoscores.csv format) into the engagement: checked, then kept."""
    rows = read_autoscores(path)
    check_autoscores(eng, rows, str(path))
    return len(rows), save_autoscores(eng, rows)


def file_key(path: Path) -> tuple:
    """What tells a machine-score file has changed: its name, modification time and size (taken before a read,
    so a file changed while it was read is read again)."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


def keep_file_rows(eng, key: tuple, rows: pd.DataFrame) -> None:
    """Keep what was read of autoscores.csv/.parquet (every column) on the engagement, for as long as the file
    is unchanged (:func:`file_key`): the load checks the file, and the report's machine tables, the agreement
    and a new run's merge would each read its fifteen million rows again."""
    eng.__dict__["_autoscores_file"] = (key, rows)


def _file_rows(eng, path: Path, columns) -> pd.DataFrame:
    """``read_autoscores(path, columns)``, from the rows kept on the engagement when the file is unchanged."""
    key = file_key(path)
    kept = getattr(eng, "__dict__", {}).get("_autoscores_file")
    if kept is not None and kept[0] == key:
        return kept[1][list(columns)]
    rows = read_autoscores(path, columns)
    if list(columns) == COLUMNS and hasattr(eng, "__dict__"):
        keep_file_rows(eng, key, rows)
    return rows


def load_autoscores(eng, scorer: str | None = None, columns=COLUMNS) -> pd.DataFrame:
    """The engagement's machine scores (``scorer`` only, when given): the store's latest run per scorer, and
    the scorers of autoscores.csv (or .parquet) the store does not hold. ``columns``: a few of :data:`COLUMNS`, read alone."""
    parts = []
    held: set[str] = set()
    store = _store(eng)
    if store is not None:
        got = store.autoscores(scorer)
        held = set(got["scorer"])
        parts.append(got)
    path = autoscores_file(eng.path)
    if path is not None:
        got = _file_rows(eng, path, columns)
        got = got[~isin(got["scorer"], sorted(held))] if held else got
        if scorer:
            mine = per_category(got["scorer"], lambda v: v.eq(scorer))
            got = got if mine.all() else got[mine]  # one scorer's file: no copy of its fifteen million rows
        parts.append(got)
    parts = [p[list(columns)] for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "points" else object) for c in columns})
    return pd.concat(parts, ignore_index=True)


def check_frozen(eng, rows: pd.DataFrame, wave: str) -> None:
    """Refuse a scorer that may have been tuned on the scores that judge it: one that is not cross-fitted and
    whose version first ran after the wave's human scoring began (the store's first save of the wave)."""
    if rows.empty or rows["crossfit"].all():
        return
    store = _store(eng)
    if store is None:
        return  # scores.csv carries no times: nothing to check against
    hist = store.history()
    if "wave" in hist:
        hist = hist[hist["wave"].astype(str) == wave]
    if hist.empty:
        return
    # Compared as times, not strings: a file's "2026-03-31" and the store's microseconds must order right.
    began = pd.to_datetime(hist["saved_at"], utc=True, format="ISO8601").min()
    frozen = pd.to_datetime(rows["frozen_at"].astype(str), utc=True, format="ISO8601", errors="coerce").max()
    if pd.isna(frozen):
        raise QcikitError(f"{eng.path}: the machine scores' frozen_at is not a date and time. Fix: write it as ISO 8601, "
                          "e.g. 2026-03-31T00:00:00+00:00.")
    if frozen >= began:
        scorer, version = rows["scorer"].iloc[0], rows["version"].iloc[0]
        raise QcikitError(f"{eng.path}: scorer '{scorer}' (version {version}) was frozen at "
                          f"{frozen:%Y-%m-%d %H:%M:%S}, after the human scoring of wave '{wave}' began "
                          f"({began:%Y-%m-%d %H:%M:%S} UTC): it may be tuned on the scores that judge it. "
                          "Fix: use it from the next wave on, or use the cross-fitted model scorer.")


def runs(eng, scorer, decoded: bool = True) -> pd.DataFrame:
    """A scorer's machine scores: the engagement's kept ones for a name, or a run itself (what :func:`autoscore`
    returns, e.g. tried in a notebook before it is kept). ``decoded=False`` leaves the repeated text as the
    categoricals a run (and autoscores.parquet) keeps it in."""
    if isinstance(scorer, pd.DataFrame):
        missing = [c for c in COLUMNS if c not in scorer.columns]
        if missing:
            raise QcikitError(f"the machine scores lack column(s) {', '.join(missing)}. Fix: pass what "
                              "qcikit.assist.autoscore returns, or a scorer's name.")
        rows = scorer[COLUMNS]
    else:
        rows = load_autoscores(eng, scorer)
        if rows.empty:
            raise QcikitError(f"{eng.path}: there are no auto-scores of scorer '{scorer}'. Fix: run "
                              f"`qcikit autoscore {eng.path} --scorer {scorer}` (or --import FILE) first.")
    if not decoded:
        return rows
    # A run (and autoscores.parquet) keeps its repeated text (ids, elements, scorer, version) as categoricals;
    # the analyses want text.
    return rows.assign(**{c: decode(rows[c]) for c in COLUMNS if isinstance(rows[c].dtype, pd.CategoricalDtype)})


def machine_table(eng, scorer, wave: str | None = None) -> pd.DataFrame:
    """Per interaction of the population (``wave`` only, when given): the machine's QCI and dimensions (through
    the rubric's own arithmetic, as for a rater) and each element's score 0–100 (columns ``el:<id>``).
    ``scorer`` is a name (the kept scores) or a run (:func:`runs`).

    A million interactions are fifteen million rows: they are read as codes (ids and elements stay
    categoricals, no text is decoded) and each element's mean is a ``bincount`` over (interaction, element)
    codes. A named scorer's table is kept on the engagement for the next call (an assisted report asks for
    it once per measure), for as long as its autoscores file is unchanged."""
    return kept_machine_table(eng, scorer, wave).copy()  # the kept table stays as it is (attrs come along)


def kept_machine_table(eng, scorer, wave: str | None = None) -> pd.DataFrame:
    """:func:`machine_table` as it is kept on the engagement: the caller must not change it (an assisted report
    reads one column of it per measure; a copy each time moved 80 MB)."""
    from .scoring import score

    key = None
    if isinstance(scorer, str) and _store(eng) is None:
        path = autoscores_file(eng.path)
        stat = path.stat() if path is not None else None
        key = (scorer, str(path), stat.st_mtime_ns if stat else None, stat.st_size if stat else None)
        cache = eng.__dict__.setdefault("_machine_tables", {})
        if (*key, wave) in cache:
            return cache[(*key, wave)]
        # The file's rows too: a report asks for this wave's table and the wave before's.
        if key not in cache:
            cache[key] = runs(eng, scorer, decoded=False)
        rows = cache[key]
    else:
        rows = runs(eng, scorer, decoded=False)
    scorer = str(rows["scorer"].iloc[0]) if len(rows) else str(scorer)
    pop = eng.interactions
    ids = pop["interaction_id"]
    if wave is not None:
        ids = ids[in_wave(pop, wave)]
    ids = ids.astype(str)
    rows = rows[isin(rows["interaction_id"], ids)]
    points = rows["points"].to_numpy(dtype=float)
    decided = ~np.isnan(points)
    if not decided.any():
        raise QcikitError(f"{eng.path}: scorer '{scorer}' decided no element of wave '{wave}'. Fix: give its rules "
                          "patterns or timings, or run it on this wave.")
    part = rows[["interaction_id", "element", "points"]][decided]
    scored = score(part.assign(rater=scorer), eng.rubric)
    out = scored.assign(interaction_id=scored["interaction_id"].astype(str)).set_index("interaction_id")
    out = out[["qci", *eng.rubric.dimensions]]
    # Each element's mean score 0-100 per interaction (a "pivot" on integer codes): the interactions and the
    # elements the rows hold, elements in sorted order; NaN where nothing was decided.
    id_code, id_values = pd.factorize(rows["interaction_id"])
    el_code, el_values = pd.factorize(rows["element"])
    el_values = np.asarray(el_values, dtype=object).astype(str)
    value = 100 * points / eng.rubric.max_points.reindex(el_values).to_numpy(dtype=float)[el_code]
    n_id, n_el = len(id_values), len(el_values)
    flat = id_code.astype(np.int64) * n_el + el_code
    total = np.bincount(flat[decided], weights=value[decided], minlength=n_id * n_el)
    count = np.bincount(flat[decided], minlength=n_id * n_el)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan).reshape(n_id, n_el)
    order = np.argsort(el_values, kind="stable")
    el = pd.DataFrame(mean[:, order], index=pd.Index(np.asarray(id_values, dtype=object).astype(str), name="interaction_id"),
                      columns=[f"el:{c}" for c in el_values[order]])
    out = out.join(el, how="outer").reindex(ids)
    out.attrs.update(version=str(rows["version"].iloc[0]), frozen=_frozen_rows(rows))
    if key is not None:
        cache[(*key, wave)] = out
    return out


def _frozen_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The distinct (scorer, version, crossfit, frozen_at) of machine scores, as text: a run's few, found on its
    codes (fifteen million rows, one or two runs)."""
    _, first = group_codes(rows, ["scorer", "version", "crossfit", "frozen_at"])
    head = rows.iloc[first][["scorer", "version", "crossfit", "frozen_at"]]
    return head.assign(**{c: decode(head[c]) for c in ("scorer", "version", "frozen_at")
                          if isinstance(head[c].dtype, pd.CategoricalDtype)})


def agreement(eng, scorer, wave: str | None = None, n_boot: int = 1000, seed: int | None = None) -> pd.DataFrame:
    """How far the machine agrees with the humans, element by element, the way the kit shows rater agreement:
    Krippendorff's alpha (interval) with its interval between the human score (the raters' mean) and the
    machine's, both rounded to the half point (the coincidence matrix needs categories), and the machine's
    ``bias`` (mean machine minus human points). Raw agreement is given as ``percent_agreement`` and never
    called accuracy: a machine can agree often and still be biased where it matters.
    """
    from .reliability import by_element

    if eng.scores is None or eng.scores.empty:
        raise QcikitError(f"{eng.path}: there are no human scores to compare the machine with. Fix: score the sample first.")
    human = eng.scores
    if wave is not None:
        human = human[human["wave"].astype(str) == wave]
    human = human.groupby(["interaction_id", "element"], sort=True)["points"].mean().reset_index()
    # Fifteen million rows for a million interactions: only the human-scored interactions' rows are taken,
    # before any text is decoded (all of them when none is).
    rows = runs(eng, scorer, decoded=False)
    kept = rows[isin(rows["interaction_id"], human["interaction_id"])]
    rows = runs(eng, kept if len(kept) else rows)
    scorer = str(rows["scorer"].iloc[0])
    machine = rows[isin(rows["interaction_id"], human["interaction_id"])][["interaction_id", "element", "points"]]
    both = human.merge(machine, on=["interaction_id", "element"], suffixes=("_human", "_machine"))
    long = pd.concat([both.assign(rater="humans", points=both["points_human"]),
                      both.assign(rater=scorer, points=both["points_machine"])], ignore_index=True)
    long["points"] = (long["points"] * 2).round() / 2
    decided = sorted(both.dropna(subset=["points_machine"])["element"].unique())
    order = [e for e in eng.rubric.element_ids if e in decided]
    table = by_element(long[["interaction_id", "rater", "element", "points"]], eng.rubric, level="interval",
                       n_boot=n_boot, seed=eng.config.seed if seed is None else seed, elements=order)
    diff = both.dropna(subset=["points_human", "points_machine"])
    bias = (diff["points_machine"] - diff["points_human"]).groupby(diff["element"]).mean()
    table["bias"] = table["element"].map(bias)
    table.insert(0, "scorer", scorer)
    return table.drop(columns=["n_raters", "coefficient"])
