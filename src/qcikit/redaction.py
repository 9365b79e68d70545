"""Personal data out of client-facing text: e-mail addresses, phone numbers, the client's own
identifiers and the names the data gives.

Phone numbers are found by ``phonenumbers`` (Google's libphonenumber) for the
engagement's country; e-mail addresses by a Unicode-aware pattern (RFC 6531:
non-ASCII local parts, internationalised domain names), each redacted whole.
Per engagement (``redact:`` in engagement.yaml), named patterns such as policy
or order numbers, and the customer and agent names of interactions.csv's
``customer_name`` / ``agent_name`` columns. :func:`redact_counted` says what it
removed, so a label never claims more than was done (:func:`describe`).
"""
from __future__ import annotations

import re

from ._lazy import lazy
from .errors import QcikitError

phonenumbers = lazy("phonenumbers")  # 0.3 s to import: only when a transcript holds a run of digits

NAME_PLACEHOLDER = "[name]"

EMAIL_PLACEHOLDER = "[e-mail]"
PHONE_PLACEHOLDER = "[phone]"

# Local part: RFC 5322 atext plus any Unicode letter or digit (RFC 6531); domain: labels of Unicode
# letters/digits/hyphens, a top-level domain of letters or an IDN's punycode (xn--…).
EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[\w-]+)"
    r"(?![\w-])"
)
# A national number written for people: a trunk 0, digits in groups split by spaces, hyphens or brackets.
_GROUPED_NATIONAL = re.compile(r"\(?0\d[\d ()/.-]*\d")


_DIGIT_RUN = re.compile(r"\d(?:[\s().\-/]*\d){5,}")


_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")


def _is_phone(match) -> bool:
    raw, number = match.raw_string.strip(), match.number
    if _DATE.fullmatch(raw):  # 2026-07-01 is also a valid Berlin number; written so, it is a date
        return False
    if phonenumbers.is_valid_number(number):
        return True
    # Reserved "drama" ranges (e.g. UK 07700 900xxx) are not valid numbers but are written like them;
    # they are kept only when written as phone numbers are, so order ids, dates and prices stay.
    digits = sum(ch.isdigit() for ch in raw)
    if (raw.startswith("+") or (raw.startswith("00") and digits >= 10)) and phonenumbers.is_possible_number(number):
        return True
    return bool(_GROUPED_NATIONAL.fullmatch(raw)) and digits >= 10 and any(c in raw for c in " -()")


def redact(text: str, country: str | None = None, patterns: dict[str, str] | None = None,
           names=()) -> str:
    """Replace e-mail addresses and phone numbers in ``text`` with ``[e-mail]`` and ``[phone]``.

    Parameters
    ----------
    text : str
    country : str, optional
        ISO 3166 code of the country whose national formats are recognised
        (engagement.yaml's ``country``). Without it only international numbers
        (``+44 …``) are found.

    Examples
    --------
    >>> redact("Mail garcía+news@exämple.es or call +44 7700 900123 about order 123456789 of 2026-07-01.")
    'Mail [e-mail] or call [phone] about order 123456789 of 2026-07-01.'
    >>> redact("Ring 030 901820 0 or 0301 2345678.", country="DE")
    'Ring [phone] or [phone].'
    >>> redact("Hi Dana Reyes, policy POL-558812 renews.", patterns={"policy number": r"POL-\\d+"}, names=["Dana Reyes"])
    'Hi [name], policy [policy number] renews.'
    """
    return redact_counted(text, country, patterns, names)[0]


def _name_parts(names) -> list[str]:
    """A full name and each of its parts of two letters or more ("Dana Reyes" -> "Dana Reyes", "Dana", "Reyes"):
    a greeting uses the first name alone."""
    out: set[str] = set()
    for full in names or ():
        if not isinstance(full, str) or not full.strip():
            continue
        out.add(full.strip())
        out |= {p for p in re.split(r"[\s,]+", full.strip()) if len(p) >= 2}
    return sorted(out, key=len, reverse=True)  # longest first: the full name before its parts


def redact_counted(text: str, country: str | None = None, patterns: dict[str, str] | None = None,
                   names=()) -> tuple[str, dict[str, int]]:
    """:func:`redact`, and how many of each kind it removed (``{"e-mail address": 1, "name": 2, …}``)."""
    counts: dict[str, int] = {}
    if not isinstance(text, str) or not text:
        return ("" if text is None else str(text)), counts
    # Placeholders already in the text were removed earlier (`qcikit import --redact`): they count as removed,
    # so the report's label says what the client's text lost, wherever it was removed.
    for kind, mark in (("name", NAME_PLACEHOLDER), ("e-mail address", EMAIL_PLACEHOLDER), ("phone number", PHONE_PLACEHOLDER)):
        if mark in text:
            counts[kind] = text.count(mark)
    for label, pattern in (patterns or {}).items():
        text, k = re.subn(pattern, f"[{label}]", text)
        if k:
            counts[label] = k
    parts = _name_parts(names)
    if parts:
        text, k = re.subn(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in parts) + r")(?!\w)", NAME_PLACEHOLDER, text)
        if k:
            counts["name"] = counts.get("name", 0) + k
    before = text
    text = _redact_contacts(text, country)
    if text != before:
        for kind, mark in (("e-mail address", EMAIL_PLACEHOLDER), ("phone number", PHONE_PLACEHOLDER)):
            counts[kind] = counts.get(kind, 0) + text.count(mark) - before.count(mark)
    return text, {k: v for k, v in counts.items() if v}


def describe(counts: dict[str, int], looked_for: list[str]) -> str:
    """What a redaction did, in words: what was removed (with counts) and what else was looked for.

    >>> describe({"e-mail address": 1, "name": 2}, ["e-mail addresses", "phone numbers", "names"])
    'personal data removed: 1 e-mail address, 2 names; also looked for: phone numbers'
    >>> describe({}, ["e-mail addresses", "phone numbers"])
    'no personal data found (looked for: e-mail addresses, phone numbers)'
    """
    plural = lambda k, n: k if n == 1 else (k + "es" if k.endswith("s") else k + "s")  # noqa: E731
    removed = [f"{n} {plural(k, n)}" for k, n in counts.items()]
    found = {plural(k, 2) for k in counts}
    rest = [x for x in looked_for if x not in found]
    if not removed:
        return f"no personal data found (looked for: {', '.join(looked_for)})"
    return f"personal data removed: {', '.join(removed)}" + (f"; also looked for: {', '.join(rest)}" if rest else "")


def _redact_contacts(text: str, country: str | None) -> str:
    """E-mail addresses and phone numbers (see :func:`redact`)."""
    region = (country or "ZZ").upper()
    if region != "ZZ" and region not in phonenumbers.SUPPORTED_REGIONS:
        raise QcikitError(f"country '{country}' is not a region phone numbers are known for. "
                          "Fix: set engagement.yaml's country to an ISO 3166 code such as GB, DE or US.")
    out = EMAIL.sub(EMAIL_PLACEHOLDER, text) if "@" in text else text
    if not _DIGIT_RUN.search(out):  # no run of 6+ digits: no phone number, skip the (slower) matcher
        return out
    # A digit run glued to letters or a hyphen (NW-004512, ref42-7700900123) is an id, not a phone number.
    spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(out, region, leniency=phonenumbers.Leniency.POSSIBLE)
             if _is_phone(m) and not (m.start and (out[m.start - 1].isalnum() or out[m.start - 1] in "-_/#"))]
    for start, end in reversed(spans):
        out = out[:start] + PHONE_PLACEHOLDER + out[end:]
    return out
