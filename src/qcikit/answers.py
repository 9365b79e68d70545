"""Model answers per scenario and element, rendered from Jinja2 templates.

A model answer shows the *structure* behind a good reply: it is filled from
the rubric (what each element asks for, its best rule and example), the
client's brand voice (engagement.yaml) and the consultant's own snippets
(answers.yaml).  Templates live in ``qcikit/templates/answers/``:
``conversation_outline``, ``email``, ``talking_points`` and ``checklist``.
"""
from __future__ import annotations

from typing import Literal

import jinja2

from .errors import QcikitError
from .templates import path as template_path

AnswerKind = Literal["conversation_outline", "email", "talking_points", "checklist"]
ANSWER_KINDS = ("conversation_outline", "email", "talking_points", "checklist")


def _env(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_path("answers"))),
                              autoescape=autoescape, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def element_guidance(rubric, answers: dict | None, element: str) -> dict:
    """What the model answer says for one element: its aim, best rule, example and the client's snippet."""
    e = rubric.element(element)
    best = max(e.rules.additive, key=lambda r: r.points) if e.rules.additive else None
    avoid = max(e.rules.subtractive, key=lambda r: r.points) if e.rules.subtractive else None
    snippet = ((answers or {}).get("elements") or {}).get(element, "")
    # An element scored only by subtractive rules has no "do" rule: its aim is what to do.
    return {"id": e.id, "name": e.name, "dimension": e.dimension, "aim": e.description,
            "do": best.text if best else e.description, "example": best.example if best else "",
            "avoid": avoid.text if avoid else "", "snippet": snippet}


def model_answer(eng, scenario: dict | None = None, kind: AnswerKind = "conversation_outline",
                 elements: list[str] | None = None, html: bool = False) -> str:
    """Render a model answer for ``scenario`` (facet → level) from the engagement's rubric and voice.

    Parameters
    ----------
    eng : Engagement
    scenario : dict, optional
        The scenario's facet levels; scenario rules decide which elements apply
        and in what order of weight.
    kind : {"conversation_outline", "email", "talking_points", "checklist"}
    elements : list of str, optional
        Restrict to these elements (e.g. a team's weakest) — in that order.
    html : bool
        Autoescape for HTML output (client text in a report is always escaped).
    """
    if kind not in ANSWER_KINDS:
        raise QcikitError(f"kind '{kind}' is not a model-answer template. Fix: use one of {', '.join(ANSWER_KINDS)}.")
    weights = eng.rubric.weights(scenario)
    active = [e for e in weights.sort_values(ascending=False).index if weights[e] > 0]
    chosen = elements if elements is not None else active
    unknown = [e for e in chosen if e not in eng.rubric.element_ids]
    if unknown:
        raise QcikitError(f"element(s) {', '.join(unknown)} are not in the rubric. Fix: use ids from rubric.yaml.")
    guidance = [element_guidance(eng.rubric, eng.answers, e) for e in chosen]
    mood = (scenario or {}).get("emotional_state", "")
    mood_note = ((eng.answers or {}).get("scenarios") or {}).get(mood, "")
    voice = eng.config.brand_voice
    ctx = {"client": eng.config.client, "scenario": scenario or {}, "elements": guidance,
           "tone": voice.tone, "phrases": voice.signature_phrases, "avoid": voice.avoid,
           "sign_off": voice.sign_off or f"The {eng.config.client} team", "mood_note": mood_note,
           "extras": eng.config.specific_extras}
    return _env(html).get_template(f"{kind}.j2").render(**ctx)
