"""Personal data out of client-facing text: e-mail addresses and phone numbers.

Phone numbers are found by ``phonenumbers`` (Google's libphonenumber) for the
engagement's country; e-mail addresses by a Unicode-aware pattern (RFC 6531:
non-ASCII local parts, internationalised domain names), each redacted whole.
"""
from __future__ import annotations

import re

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from .errors import QcikitError

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


def redact(text: str, country: str | None = None) -> str:
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
    """
    if not isinstance(text, str) or not text:
        return "" if text is None else str(text)
    region = (country or "ZZ").upper()
    if region != "ZZ" and region not in phonenumbers.SUPPORTED_REGIONS:
        raise QcikitError(f"country '{country}' is not a region phone numbers are known for. "
                          "Fix: set engagement.yaml's country to an ISO 3166 code such as GB, DE or US.")
    out = EMAIL.sub(EMAIL_PLACEHOLDER, text) if "@" in text else text
    if not _DIGIT_RUN.search(out):  # no run of 6+ digits: no phone number, skip the (slower) matcher
        return out
    # A digit run glued to letters or a hyphen (NW-004512, ref42-7700900123) is an id, not a phone number.
    spans = [(m.start, m.end) for m in PhoneNumberMatcher(out, region, leniency=Leniency.POSSIBLE)
             if _is_phone(m) and not (m.start and (out[m.start - 1].isalnum() or out[m.start - 1] in "-_/#"))]
    for start, end in reversed(spans):
        out = out[:start] + PHONE_PLACEHOLDER + out[end:]
    return out
