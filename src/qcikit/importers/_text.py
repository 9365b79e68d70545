"""Message bodies as a rater reads them: HTML to text, quoted history and device signatures removed.

- HTML becomes text with inscriptis (Apache-2.0, layout-aware: paragraphs, line breaks, lists and
  entities). Quoted history in HTML (``blockquote``, Gmail's ``gmail_quote``, Outlook's reply
  header block) is removed from the tree first, so its words never reach the text.
- Quoted history in text is cut by mail-parser-reply (MIT; English, German, French, Spanish,
  Dutch and more), plus the attribution lines it misses: Gmail's Spanish and Dutch headers as Gmail
  writes them ("El lun, 3 jun 2026 a las 10:00, X (<x@y>) escribió:", "Op ma 3 jun. 2026 om 10:00
  schreef X <x@y>:"), "-----Original Message-----" and a trailing block of ``>`` lines.
- Device lines ("Sent from my iPhone", "Von meinem iPhone gesendet" …) are removed. Nothing else
  of a signature is: the rubric scores the agent's sign-off, and cutting it would cost points earned.
"""
from __future__ import annotations

import html
import re

# Cheap test before the reply parser runs: most chat turns and short replies hold no quoted history,
# and the parser's many patterns are the slowest step of a large import.
_MAYBE_QUOTED = re.compile(
    r"^\s*>|wrote:|schrieb|a écrit|escribió|schreef|ha scritto|skrev|kirjoitti|napisał|написал|"
    r"^\s*(from|von|de|van|da|от)\s*:|-{3,}\s*(original|ursprüngliche|message d'origine|mensaje original|"
    r"oorspronkelijk)|^\s*sent from my|gesendet|envoyé de mon|enviado desde|verzonden (vanaf|met)",
    re.I | re.M)

_EXTRA_HEADERS = re.compile(
    r"^(?:El\s.{5,200}?escribió\s*:|Op\s.{5,200}?schreef\s.{0,200}?:|Il\s.{5,200}?ha scritto\s*:|"
    r"-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|"
    r"Oorspronkelijk bericht)\s*-{2,}|On\s.{5,200}?wrote\s*:|Am\s.{5,200}?schrieb.{0,200}?:|"
    r"Le\s.{5,200}?a écrit\s*:)\s*$",
    re.I | re.M)

_DEVICE = re.compile(
    r"^\s*(?:Sent from my [\w .-]{2,40}|Sent from (?:Outlook|Mail|Yahoo Mail) for [\w .-]{2,20}|"
    r"Get Outlook for (?:iOS|Android)|Von meinem [\w .-]{2,40} gesendet|Gesendet von meinem [\w .-]{2,40}|"
    r"Envoyé de mon [\w .-]{2,40}|Enviado desde mi [\w .-]{2,40}|Verzonden (?:vanaf|met) mijn [\w .-]{2,40})\s*$",
    re.I | re.M)

_LANGUAGES = ["en", "de", "fr", "es", "nl", "it", "sv", "pl"]

# Outlook's and Gmail's containers of the quoted message, and plain blockquotes.
_QUOTE_XPATH = ("//blockquote | //*[contains(concat(' ', normalize-space(@class), ' '), ' gmail_quote ')]"
                " | //*[@id='appendonsend'] | //*[@id='divRplyFwdMsg'] | //*[@id='divRplyFwdMsg']/following::*"
                " | //*[contains(@class, 'yahoo_quoted')] | //*[@data-marker='__QUOTED_TEXT__']")


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body, quoted history removed."""
    if not markup or "<" not in markup:
        return html.unescape(markup or "").strip()
    import lxml.html
    from inscriptis import Inscriptis
    from inscriptis.css_profiles import CSS_PROFILES
    from inscriptis.model.config import ParserConfig

    try:
        tree = lxml.html.fromstring(markup)
    except Exception:  # lxml refuses some fragments (only comments, bare text): they hold no markup to lay out
        return html.unescape(re.sub(r"<[^>]+>", " ", markup)).strip()
    for node in tree.xpath(_QUOTE_XPATH):
        parent = node.getparent()
        if parent is not None:
            parent.remove(node)
    text = Inscriptis(tree, ParserConfig(css=CSS_PROFILES["strict"])).get_text()
    return _tidy(text)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip()


def strip_quoted(text: str) -> str:
    """The new part of an e-mail reply: quoted history and device signature lines removed."""
    text = _tidy(text)
    if not text or not _MAYBE_QUOTED.search(text):
        return text
    from mailparser_reply import EmailReplyParser

    reply = EmailReplyParser(languages=_LANGUAGES).read(text).latest_reply or ""
    cut = _EXTRA_HEADERS.search(reply)
    if cut:
        reply = reply[:cut.start()]
    reply = _DEVICE.sub("", reply)
    lines = reply.rstrip().split("\n")
    while lines and lines[-1].lstrip().startswith(">"):  # a trailing quoted block with no header
        lines.pop()
    if all(not line.strip() or line.lstrip().startswith(">") for line in lines):
        return ""
    return _tidy("\n".join(lines))


def clean(body: str, is_html: bool) -> str:
    """A message body of any source, as the transcript shows it."""
    return strip_quoted(html_to_text(body) if is_html else html.unescape(body or ""))
