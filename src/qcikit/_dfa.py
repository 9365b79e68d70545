"""Which of a set of regexes occur in each of many texts, in one compiled pass per text: a lazy DFA.

RE2's ``Set`` answers the same question, but from Python it is called once per transcript, and on a contact
centre's million transcripts the calls cost as much as the automaton. This module builds the automaton RE2
would build, the way RE2 builds it (a byte-level NFA of all the patterns, turned into DFA states on first
need), and runs it over a whole chunk of texts in one numba loop (:mod:`qcikit._dfa_kernel`): a table
look-up per byte, no Python between texts. Rows of the table are worked out in Python when the loop first
reaches a state, so only the states the texts visit are ever made.

The meaning is RE2's, for the patterns the rules scorer hands it (``(?im)`` in force): ``\\d \\s \\w \\b``
are ASCII (``\\s`` is ``[\\t\\n\\f\\r ]``), ``.`` takes any character but ``\\n``, ``^``/``$`` are line
anchors under ``m`` and text anchors without it, and ``(?i)`` folds cases as Unicode does for ASCII letters
(``k`` also matches the Kelvin sign, ``s`` the long s). The patterns are read by Python's parser; anything
whose meaning could differ between the two engines, or that a byte automaton cannot take cheaply (a letter
beyond ASCII under ``(?i)``, a range beyond ASCII, POSIX classes, ``{,n}``, look-arounds), is refused
(:class:`Unsupported`) and left to RE2. tests/test_dfa.py compares both engines on fuzzed patterns and
texts.
"""
from __future__ import annotations

import functools
import re
import warnings

import numpy as np

try:
    from re import _constants as C, _parser as sre
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as C
    import sre_parse as sre

# A set that needs more states than this is left to RE2 (its memory, not the texts, would be the limit).
MAX_STATES = 10_000
MAX_PATTERNS = 64  # one bit each in a uint64 mask
_MAX_COUNT = 16  # counted repetitions are unrolled: "x{2,5}" is five copies of x

KELVIN, LONG_S = 0x212A, 0x017F  # the two characters beyond ASCII that Unicode folds onto ASCII letters
WORD = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
ASCII = frozenset(range(128))


class Unsupported(ValueError):
    """A pattern this automaton does not take (RE2 matches it instead)."""


# ---------------------------------------------------------------------------------------------------------
# Character sets: the ASCII part exactly, the rest as "these code points" or "all but these code points".

class CharSet:
    __slots__ = ("ascii", "rest", "cofinite")

    def __init__(self, ascii=frozenset(), rest=frozenset(), cofinite=False):
        self.ascii, self.rest, self.cofinite = frozenset(ascii), frozenset(rest), cofinite

    def __or__(self, other: "CharSet") -> "CharSet":
        if self.cofinite and other.cofinite:
            rest = self.rest & other.rest
        elif self.cofinite:
            rest = self.rest - other.rest
        elif other.cofinite:
            rest = other.rest - self.rest
        else:
            rest = self.rest | other.rest
        return CharSet(self.ascii | other.ascii, rest, self.cofinite or other.cofinite)

    def negate(self) -> "CharSet":
        return CharSet(ASCII - self.ascii, self.rest, not self.cofinite)


def _fold(cs: CharSet) -> CharSet:
    """Add what ``(?i)`` adds: the other case of each ASCII letter, and the Kelvin sign and the long s."""
    if cs.cofinite or any(c not in (KELVIN, LONG_S) for c in cs.rest):
        raise Unsupported("case folding beyond ASCII")
    ascii = set(cs.ascii)
    letters = {c for c in ascii if chr(c).isalpha()} | ({ord("k")} if KELVIN in cs.rest else set()) \
        | ({ord("s")} if LONG_S in cs.rest else set())
    rest = set()
    for c in letters:
        ascii |= {ord(chr(c).lower()), ord(chr(c).upper())}
        if chr(c).lower() == "k":
            rest.add(KELVIN)
        if chr(c).lower() == "s":
            rest.add(LONG_S)
    return CharSet(ascii, rest)


_CATEGORY = {
    C.CATEGORY_DIGIT: (frozenset(b"0123456789"), False),
    C.CATEGORY_NOT_DIGIT: (frozenset(b"0123456789"), True),
    C.CATEGORY_SPACE: (frozenset(b"\t\n\f\r "), False),
    C.CATEGORY_NOT_SPACE: (frozenset(b"\t\n\f\r "), True),
    C.CATEGORY_WORD: (WORD, False),
    C.CATEGORY_NOT_WORD: (WORD, True),
}


def _charset(op, av, flags: int) -> CharSet:
    """One atom of the parse tree as a set of characters, folded when ``(?i)`` is in force (RE2 folds a class
    before negating it, so ``(?i)[^k]`` takes neither k, K nor the Kelvin sign)."""
    fold = bool(flags & re.IGNORECASE)

    def positive(items) -> CharSet:
        out = CharSet()
        for o, a in items:
            if o == C.LITERAL:
                cs = CharSet({a}) if a < 128 else CharSet((), {a})
            elif o == C.RANGE:
                lo, hi = a
                if hi >= 128:
                    raise Unsupported("a range beyond ASCII")
                cs = CharSet(range(lo, hi + 1))
            elif o == C.CATEGORY:
                if a not in _CATEGORY:
                    raise Unsupported(f"category {a}")
                chars, negated = _CATEGORY[a]
                cs = CharSet(chars)
                if fold:
                    cs = _fold(cs)
                out = out | (cs.negate() if negated else cs)
                continue
            else:
                raise Unsupported(f"class item {o}")
            out = out | (_fold(cs) if fold else cs)
        return out

    if op == C.LITERAL:
        return positive([(C.LITERAL, av)])
    if op == C.NOT_LITERAL:
        return positive([(C.LITERAL, av)]).negate()
    if op == C.ANY:
        return CharSet(ASCII, (), True) if flags & re.DOTALL else CharSet(ASCII - {10}, (), True)
    if op == C.IN:
        if av and av[0][0] == C.NEGATE:
            return positive(av[1:]).negate()
        return positive(av)
    raise Unsupported(f"atom {op}")


# ---------------------------------------------------------------------------------------------------------
# The NFA: byte ranges, splits, zero-width assertions and one match state per pattern.

BYTES, SPLIT, ASSERT, MATCH = range(4)
LINE_START, LINE_END, TEXT_START, TEXT_END, BOUNDARY, NOT_BOUNDARY = range(6)


class NFA:
    def __init__(self):
        self.kind: list[int] = []
        self.arg: list = []  # BYTES: (frozenset of bytes, next); SPLIT: [next...]; ASSERT: (what, next); MATCH: k

    def add(self, kind, arg) -> int:
        self.kind.append(kind)
        self.arg.append(arg)
        return len(self.kind) - 1

    def byte(self, values, nxt: int) -> int:
        return self.add(BYTES, (frozenset(values), nxt))

    def split(self, outs) -> int:
        return self.add(SPLIT, list(outs))

    def chars(self, cs: CharSet, nxt: int) -> int:
        """A fragment taking one character of ``cs`` (UTF-8 bytes) and going on to ``nxt``."""
        outs = []
        if cs.ascii:
            outs.append(self.byte(cs.ascii, nxt))
        if cs.cofinite:
            outs.extend(self._all_but([c.encode() for c in map(chr, cs.rest)], nxt))
        else:
            for c in sorted(cs.rest):
                state = nxt
                for b in reversed(chr(c).encode()):
                    state = self.byte({b}, state)
                outs.append(state)
        if not outs:  # an empty class matches nothing
            return self.add(BYTES, (frozenset(), nxt))
        return outs[0] if len(outs) == 1 else self.split(outs)

    def _all_but(self, excluded: list[bytes], nxt: int) -> list[int]:
        """Fragments taking any character of two to four UTF-8 bytes except ``excluded``. The texts are valid
        UTF-8 (Arrow checks it), so a lead byte says how many continuation bytes follow."""
        cont = {0: nxt}
        for k in (1, 2, 3):  # cont[k]: any k continuation bytes, then nxt
            cont[k] = self.byte(range(0x80, 0xC0), cont[k - 1])
        leads = {2: range(0xC0, 0xE0), 3: range(0xE0, 0xF0), 4: range(0xF0, 0xF8)}

        def level(prefix: bytes, allowed, remaining: int) -> list[int]:
            # Bytes that start no excluded sequence here lead to "any rest"; the others narrow down.
            below = {s[len(prefix)] for s in excluded if s.startswith(prefix) and len(s) > len(prefix)}
            outs = []
            free = [b for b in allowed if b not in below]
            if free:
                outs.append(self.byte(free, cont[remaining - 1]))
            for b in sorted(below & set(allowed)):
                if remaining == 1:
                    continue  # the whole sequence is excluded
                sub = level(prefix + bytes([b]), range(0x80, 0xC0), remaining - 1)
                if sub:
                    outs.append(self.byte({b}, sub[0] if len(sub) == 1 else self.split(sub)))
            return outs

        outs = []
        for length, lead in leads.items():
            outs.extend(level(b"", lead, length))
        return outs


def _build(nfa: NFA, items, flags: int, nxt: int) -> int:
    """The fragment for a sequence of parse items, built back to front, ending in ``nxt``."""
    for op, av in reversed(list(items)):
        nxt = _item(nfa, op, av, flags, nxt)
    return nxt


def _item(nfa: NFA, op, av, flags: int, nxt: int) -> int:
    if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
        return nfa.chars(_charset(op, av, flags), nxt)
    if op == C.BRANCH:
        return nfa.split([_build(nfa, alt, flags, nxt) for alt in av[1]])
    if op == C.SUBPATTERN:
        _, add, remove, sub = av
        return _build(nfa, sub, (flags | add) & ~remove, nxt)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):  # greedy or lazy: the same answer to "does it occur"
        lo, hi, sub = av
        if lo > _MAX_COUNT or (hi != C.MAXREPEAT and hi > _MAX_COUNT):
            raise Unsupported("a long counted repetition")
        if hi == C.MAXREPEAT:
            loop = nfa.split([])
            nfa.arg[loop] = [_build(nfa, sub, flags, loop), nxt]
            tail = loop
        else:
            tail = nxt
            for _ in range(hi - lo):
                tail = nfa.split([_build(nfa, sub, flags, tail), nxt])
        for _ in range(lo):
            tail = _build(nfa, sub, flags, tail)
        return tail
    if op == C.AT:
        multiline = bool(flags & re.MULTILINE)
        what = {C.AT_BEGINNING: LINE_START if multiline else TEXT_START,
                C.AT_END: LINE_END if multiline else TEXT_END,
                C.AT_BEGINNING_STRING: TEXT_START,
                C.AT_BOUNDARY: BOUNDARY, C.AT_NON_BOUNDARY: NOT_BOUNDARY}.get(av)
        if what is None:
            raise Unsupported(f"anchor {av}")  # \Z: RE2 spells the end of text \z, which Python does not read
        return nfa.add(ASSERT, (what, nxt))
    raise Unsupported(f"{op}")


def parse(regex: str, flags: int = re.IGNORECASE | re.MULTILINE):
    """Python's parse tree of ``regex``, or :class:`Unsupported` where the two engines could read it apart."""
    # "[[:alpha:]]" is a POSIX class to RE2 and letters to Python; "{,n}" is a count to Python, text to RE2;
    # "\Q..\E", "\pL", "\C", "\z" are RE2's alone (Python refuses them, which lands below).
    if "[:" in regex or "{," in regex:
        raise Unsupported("syntax the two engines read apart")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = sre.parse(regex, flags)
    except (re.error, RecursionError, OverflowError) as exc:
        raise Unsupported(str(exc)) from None
    if tree.state.flags & (re.VERBOSE | re.ASCII | re.LOCALE):
        raise Unsupported("flags")
    return tree


# ---------------------------------------------------------------------------------------------------------
# The DFA, made row by row as the texts need it.

class SetDFA:
    """The lazy DFA of ``regexes`` (every one must be supported: see :func:`supported`)."""

    def __init__(self, regexes: list[str], flags: int = re.IGNORECASE | re.MULTILINE):
        if not regexes or len(regexes) > MAX_PATTERNS:
            raise Unsupported("between 1 and 64 patterns")
        nfa = NFA()
        starts = []
        for k, regex in enumerate(regexes):
            tree = parse(regex, flags)
            starts.append(_build(nfa, tree, tree.state.flags | flags, nfa.add(MATCH, k)))
        self.nfa, self.starts, self.n = nfa, tuple(starts), len(regexes)
        self.uses_text_start = any(nfa.kind[s] == ASSERT and nfa.arg[s][0] == TEXT_START for s in range(len(nfa.kind)))
        # Byte classes: bytes no transition and no assertion tells apart share a column of the table.
        byte_states = [s for s, kind in enumerate(nfa.kind) if kind == BYTES]
        member = np.zeros((len(byte_states) + 2, 256), dtype=bool)
        for row, s in enumerate(byte_states):
            member[row, list(nfa.arg[s][0])] = True
        member[-2, list(WORD)] = True
        member[-1, 10] = True
        _, first, self.classes = np.unique(member.T, axis=0, return_index=True, return_inverse=True)
        self.classes = self.classes.reshape(-1).astype(np.uint8)  # at most 256 classes, one per byte
        self.n_classes = len(first)
        # For each byte state, the classes it takes.
        self.takes = {s: frozenset(member[row, first].nonzero()[0].tolist()) for row, s in enumerate(byte_states)}
        self.variants = {}  # (a word byte, a line break): the classes of such bytes
        for c, b in enumerate(first.tolist()):
            self.variants.setdefault((b in WORD, b == 10), []).append(c)
        self._starts = {}
        self.ids: dict = {}
        self.keys: list = []
        cap = 64
        self.trans = np.full((cap, self.n_classes), -1, dtype=np.int32)
        self.mask = np.zeros((cap, self.n_classes), dtype=np.uint64)
        self.eof = np.zeros(cap, dtype=np.uint64)
        self.start = self._state(frozenset(), (False, True, True))  # (previous byte a word byte, at line start, at text start)
        self.failed = False

    def _state(self, pending: frozenset, ctx: tuple) -> int:
        if not self.uses_text_start:
            ctx = (ctx[0], ctx[1], False)
        key = (pending, ctx)
        got = self.ids.get(key)
        if got is None:
            got = len(self.keys)
            if got >= MAX_STATES:
                raise Unsupported("too many states")
            self.ids[key] = got
            self.keys.append(key)
            if got >= len(self.trans):  # grow the table
                self.trans = np.vstack([self.trans, np.full_like(self.trans, -1)])
                self.mask = np.vstack([self.mask, np.zeros_like(self.mask)])
                self.eof = np.concatenate([self.eof, np.zeros_like(self.eof)])
        return got

    def _closure(self, roots, ctx, next_word: bool, next_newline: bool, at_end: bool):
        """The byte states reachable from ``roots`` without consuming a byte, given what surrounds the
        position, as {class: next NFA states}; and the mask of the patterns that match there."""
        prev_word, line_start, text_start = ctx
        ok = {LINE_START: line_start, LINE_END: next_newline or at_end, TEXT_START: text_start, TEXT_END: at_end,
              BOUNDARY: prev_word != next_word, NOT_BOUNDARY: prev_word == next_word}
        kind, arg, takes = self.nfa.kind, self.nfa.arg, self.takes
        seen, stack, matched, step = set(), list(roots), 0, {}
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            k = kind[s]
            if k == BYTES:
                nxt = arg[s][1]
                for c in takes[s]:
                    got = step.get(c)
                    if got is None:
                        step[c] = {nxt}
                    else:
                        got.add(nxt)
            elif k == SPLIT:
                stack.extend(arg[s])
            elif k == ASSERT:
                if ok[arg[s][0]]:
                    stack.append(arg[s][1])
            else:
                matched |= 1 << arg[s]
        return step, matched

    def _start_closure(self, ctx, word: bool, newline: bool, at_end: bool):
        """:meth:`_closure` of every pattern's start: the same for every state of a context, so made once."""
        key = (ctx, word, newline, at_end)
        got = self._starts.get(key)
        if got is None:
            step, matched = self._closure(self.starts, ctx, word, newline, at_end)
            got = self._starts[key] = ({c: frozenset(v) for c, v in step.items()}, matched)
        return got

    def fill(self, state: int) -> None:
        """Work out the row of ``state``: its next state and match mask for every byte class, and its mask at
        the end of a text. The search is unanchored: every position also starts every pattern."""
        pending, ctx = self.keys[state]
        row_next = np.empty(self.n_classes, dtype=np.int64)
        row_mask = np.zeros(self.n_classes, dtype=np.uint64)
        # The closure depends on the next byte only through "is it a word byte" and "is it a line break".
        for (word, newline), classes in self.variants.items():
            base, base_matched = self._start_closure(ctx, word, newline, False)
            step, matched = self._closure(pending, ctx, word, newline, False)
            row_mask[classes] = matched | base_matched
            after = (word, newline, False)
            empty = frozenset()
            for c in classes:
                mine = step.get(c)
                targets = base.get(c, empty)
                if mine:
                    targets = targets | mine
                row_next[c] = self._state(targets, after)
        self.eof[state] = self._closure(pending, ctx, False, False, True)[1] | self._start_closure(ctx, False, False, True)[1]
        self.mask[state] = row_mask
        # Premultiplied and shifted (see _dfa_kernel): the row's start, and a low bit where a pattern matches.
        self.trans[state] = ((row_next * self.n_classes) << 1) | (row_mask != 0)

    def __call__(self, data: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
        """The uint64 mask of the patterns found in each text (``data[offsets[i]:offsets[i + 1]]``); None when
        the automaton grew past :data:`MAX_STATES` (then RE2 answers)."""
        from ._dfa_kernel import run

        n = len(offsets) - 1
        out = np.zeros(n, dtype=np.uint64)
        done = np.zeros(n, dtype=np.bool_)
        while True:
            stuck = run(data, offsets, self.classes, self.trans.reshape(-1), self.mask.reshape(-1), self.eof, self.n_classes,
                        self.start * self.n_classes, out, done)
            if stuck < 0:
                break
            try:
                self.fill(stuck // self.n_classes)
            except Unsupported:
                self.failed = True
            if self.failed:
                return None
        return out


@functools.lru_cache(maxsize=1)
def kernel():
    """The compiled loop, or None without numba (or where numba cannot compile it): compiled, or loaded from
    numba's cache, here and once."""
    try:
        from ._dfa_kernel import run
    except ImportError:
        return None
    try:
        SetDFA(["a", "b"])(np.frombuffer(b"ab", np.uint8), np.array([0, 1, 2], dtype=np.int64))
    except Exception as exc:  # numba's own errors (no compiler for this platform, a cache it cannot read)
        warnings.warn(f"the compiled pattern automaton could not be built ({type(exc).__name__}: {exc}); RE2 "
                      "matches the rules instead, with the same answers.", RuntimeWarning, stacklevel=2)
        return None
    return run


@functools.lru_cache(maxsize=4096)
def supported(regex: str, flags: int = re.IGNORECASE | re.MULTILINE) -> bool:
    """Whether :class:`SetDFA` takes ``regex`` (else RE2 matches it): its NFA can be built."""
    try:
        tree = parse(regex, flags)
        nfa = NFA()
        _build(nfa, tree, tree.state.flags | flags, nfa.add(MATCH, 0))
    except Unsupported:
        return False
    return True
