"""The compiled automaton of the rules' patterns (qcikit._dfa): what it finds is what RE2 finds.

RE2 (google-re2) is the independent engine here: every answer of the automaton is compared with
``re2.search`` of the same pattern, with ``(?im)`` in force as the rules scorer matches them."""
import random

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLES

import qcikit
from qcikit import _dfa, assist

re2 = pytest.importorskip("re2")
pytest.importorskip("numba")

# Atoms chosen for where the two engines could part: the letters Unicode folds onto ASCII (k and the Kelvin
# sign, s and the long s), letters beyond ASCII, ASCII-only \d \s \w, classes negated and folded, a line break.
ATOMS = ["a", "k", "s", "K", "S", "e", "x", "é", "É", "\u212a", "\u017f", " ", r"\n", ".", r"\d", r"\w", r"\W", r"\s",
         r"\S", r"\D", "[a-c]", "[^a]", "[^\\n]", "[ks]", "[^ks]", "[^\\w]", "[\\W\\d]", "[0-9]", "[^é]", "[é]", "[\\s\\S]",
         "[^\\s\\S]", "[-a]", "[.]", r"\.", r"\?", "[A-Z]", "[^A-Z]", "1", "-", ":"]
ANCHORS = ["^", "$", r"\b", r"\B", r"\A"]
CHARS = ["a", "k", "s", "K", "S", "e", "x", "é", "É", "\u212a", "\u017f", " ", "\n", "1", "9", "_", "-", ".", "?", ":",
         "\t", "\r", "😀", "ß", "Ā", "\u2028", "A", "Z", "\x00", "b", "c"]


def _pattern(rng, depth=0) -> str:
    parts = []
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        if r < 0.55 or depth > 2:
            item = rng.choice(ATOMS)
        elif r < 0.7:
            parts.append(rng.choice(ANCHORS))
            continue
        elif r < 0.8:
            item = "(?:" + "|".join(_pattern(rng, depth + 1) for _ in range(rng.randint(2, 3))) + ")"
        else:  # scoped flags: case kept, "." taking line breaks, text anchors; and a capture
            item = rng.choice(["(?-i:", "(?s:", "(?-m:", "("]) + _pattern(rng, depth + 1) + ")"
        q = rng.random()
        if q < 0.12:
            item += "?"
        elif q < 0.22:
            item += "*"
        elif q < 0.3:
            item += "+"
        elif q < 0.36:
            lo = rng.randint(0, 3)
            item += "{%d,%d}" % (lo, lo + rng.randint(0, 3))
        elif q < 0.39:
            item += "{%d,}" % rng.randint(0, 3)
        elif q < 0.42:
            item += "{%d}" % rng.randint(1, 3)
        parts.append(item)
    return "".join(parts)


def _run(dfa, texts):
    enc = [t.encode() for t in texts]
    data = np.frombuffer(b"".join(enc) or bytes(8), np.uint8)
    offsets = np.cumsum([0] + [len(e) for e in enc]).astype(np.int64)
    return dfa(data, offsets)


def _bits(masks, k):
    return [bool((int(m) >> k) & 1) for m in masks]


@pytest.mark.parametrize("longest", [14, 300])
def test_the_automaton_finds_what_re2_finds_on_fuzzed_patterns_and_texts(longest):
    """200 sets of 8 random patterns (alternations, repetitions, scoped flags, anchors, folded and negated
    classes) on 60 random texts each; short texts change the four streams of the loop often, long ones keep
    them side by side. Every pattern RE2 compiles is either taken and answers as RE2 does, or refused."""
    rng = random.Random(21 + longest)
    compiled = taken = compared = gave_up = 0
    for _ in range(200):
        patterns = []
        for p in (_pattern(rng) for _ in range(8)):
            try:
                re2.compile("(?im)" + p)
            except re2.error:
                continue
            compiled += 1
            if _dfa.supported("(?im)" + p, 0):
                patterns.append(p)
        taken += len(patterns)
        if not patterns:
            continue
        dfa = _dfa.SetDFA(["(?im)" + p for p in patterns], 0)
        texts = ["".join(rng.choice(CHARS) for _ in range(rng.randint(0, longest))) for _ in range(60)]
        masks = _run(dfa, texts)
        if masks is None:  # past MAX_STATES ("a.{12}b" alone can need thousands): RE2 answers such a set
            gave_up += 1
            continue
        for k, p in enumerate(patterns):
            want = [re2.search("(?im)" + p, t) is not None for t in texts]
            assert _bits(masks, k) == want, p
            compared += len(texts)
    # The fuzz reaches the automaton: most patterns are taken (those refused hold a letter beyond ASCII under (?i)).
    assert taken > 0.55 * compiled and compared > 50_000 and gave_up <= 10


def test_the_automaton_folds_cases_as_re2_does():
    """RE2's (?i) folds k onto the Kelvin sign and s onto the long s; it folds a class before negating it, and
    (?-i:...) keeps the case. Each case here is one where a byte-level engine easily goes wrong."""
    cases = {  # pattern: [(text, RE2's answer)]
        "k": [("\u212a", True), ("K", True)], "s": [("\u017f", True)], r"\w": [("\u212a", True)],
        r"\W": [("\u212a", False), ("\u2028", True)], "[^k]": [("\u212a", False), ("é", True)],
        "(?-i:K)": [("k", False), ("K", True)], r"^[^\w]": [("\u2028", True), ("é", True), ("x\n\u212a", False)],
        "[^a]": [("\n", True)], r"\s": [("\x0b", False), ("\x0c", True)], r"x\b": [("xé", True), ("x_", False)],
        "$": [("", True)], r"\Ax": [("yx", False), ("xy", True)], "(?-m:^b)": [("a\nb", False)],
    }
    for pattern, expected in cases.items():
        dfa = _dfa.SetDFA(["(?im)" + pattern], 0)
        texts = [t for t, _ in expected]
        assert [re2.search("(?im)" + pattern, t) is not None for t in texts] == [w for _, w in expected], pattern
        assert _bits(_run(dfa, texts), 0) == [w for _, w in expected], pattern


def test_the_automaton_refuses_what_the_two_engines_read_apart():
    """Python's parser reads the patterns; where its reading and RE2's could differ, or a byte automaton would
    grow large, the pattern is refused and RE2 matches it."""
    refused = ["[[:alpha:]]+", "a{,3}", "é", "[à-ü]", "x(?=y)", r"\Z", r"(a)\1", r"\pL", "a{40}", "(?x) a"]
    for p in refused:
        assert not _dfa.supported("(?im)" + p, 0), p
    assert _dfa.supported("(?im)thanks? (you )?for (your )?(patience|waiting)", 0)
    assert _dfa.supported(r"(?im)(?-i:\b[A-Z]{2,}-?\d+\b)", 0)


def _rules(eng):
    brand = eng.config.brand_voice
    regexes = []
    for e in eng.rubric.model.elements:
        for r in [*e.rules.additive, *e.rules.subtractive]:
            pats = [p for p in (assist._expand(p, brand) for p in r.patterns) if p]
            if pats:
                regexes.append("|".join(f"(?:{p})" for p in pats))
    return regexes


def test_the_matcher_answers_the_same_with_the_automaton_and_with_re2():
    """The starter rubric's rules on Voltania's 20,000 transcripts, and the matcher's own test patterns: the
    compiled automaton (which takes every one of the set's patterns the starter rubric has) and RE2's set give
    the same matrix."""
    from test_assist import MATCHER_PATTERNS, MATCHER_TEXTS

    eng = qcikit.Engagement.load(SAMPLES / "voltania")
    reading = assist.read_agent(eng.interactions["transcript"], widths=False)
    matcher = assist.RuleMatcher(_rules(eng))
    compiled = matcher(reading, compiled=True)
    assert sorted(k for _, group in matcher._automaton() for k in group) == matcher.members  # all ran compiled
    assert (compiled == matcher(reading, compiled=False)).all() and compiled.sum() > 100_000
    reading = assist.read_agent(pd.Series(MATCHER_TEXTS))
    matcher = assist.RuleMatcher(MATCHER_PATTERNS)
    assert (matcher(reading, compiled=True) == matcher(reading, compiled=False)).all()
    assert matcher._automaton() is not None


def test_an_automaton_that_outgrows_its_memory_hands_over_to_re2(monkeypatch):
    """Past MAX_STATES the automaton gives up on the call (None) and the matcher answers with RE2's set from
    then on: the same matrix."""
    eng = qcikit.Engagement.load(SAMPLES / "voltania")
    reading = assist.read_agent(eng.interactions["transcript"].iloc[:2000], widths=False)
    expected = assist.RuleMatcher(_rules(eng))(reading, compiled=False)
    monkeypatch.setattr(_dfa, "MAX_STATES", 50)
    matcher = assist.RuleMatcher(_rules(eng))
    assert (matcher(reading, compiled=True) == expected).all()
    assert matcher._automaton() is None  # handed over for good
    small = _dfa.SetDFA(["(?im)" + r for r in _rules(eng)[:3]], 0)
    assert _run(small, ["thank you for your patience " * 20]) is None and small.failed


def test_a_rubric_of_more_than_64_phrase_rules_runs_in_several_automata():
    """A mask holds 64 patterns: a client's rubric with more phrase rules is matched by several automata, each
    a pass over the texts, and answers as RE2's set does."""
    words = ["refund", "parcel", "invoice", "sorry", "thank", "order", "delivery", "account", "password", "card"]
    patterns = [rf"\b{w}\w{{0,{k % 3}}}\b" for k, w in enumerate(words)] + [rf"{a} {b}" for a in words[:6] for b in words]
    assert len(patterns) == 70
    eng = qcikit.Engagement.load(SAMPLES / "voltania")
    reading = assist.read_agent(eng.interactions["transcript"].iloc[:3000], widths=False)
    matcher = assist.RuleMatcher(patterns)
    compiled = matcher(reading, compiled=True)
    assert [len(group) for _, group in matcher._automaton()] == [64, 6]
    assert (compiled == matcher(reading, compiled=False)).all() and compiled[:, :10].sum() > 1000


def test_patterns_the_automaton_refuses_are_matched_by_one_re2_set_beside_it():
    """A client's rubric in French: letters beyond ASCII under (?i) stay with RE2, in one set of their own
    (its sentinel included), while the others run compiled; the matrix is RE2's whole set's."""
    patterns = [r"d[ée]sol[ée]", r"\bmerci\b", r"sorry", r"(?-i:\bRMA\d+)", r"réponse", r"thank(s| you)", "Ça"]
    texts = ["[10:00] Customer: hi\n[10:01] Agent (A1): Désolé, MERCI. ÇA marche.",
             "[10:00] Agent (A1): sorry, thank you (RMA12)", "[10:00] Agent (A1): Réponse: rma12", "", None]
    reading = assist.read_agent(pd.Series(texts))
    matcher = assist.RuleMatcher(patterns)
    expected = matcher(reading, compiled=False)
    got = matcher(reading, compiled=True)
    compiled = sorted(k for _, group in matcher._automaton() for k in group)
    assert compiled == [1, 2, 3, 5] and list(matcher._rest) == [(0, 4, 6)]
    assert (got == expected).all() and expected[0].tolist() == [True, True, False, False, False, False, True]
    assert expected[2].tolist() == [False, False, False, False, True, False, False]
