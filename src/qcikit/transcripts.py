"""Sample transcripts composed from behaviours, so that every gold score follows from the text.

Each rule of the starter rubric has behaviours a rater can see: wordings that
fire it, and for some additive rules *near misses* (a bare "Hi.", a generic
"sorry for any inconvenience", "we'll be in touch soon") that do not. An
interaction's true element points (the generator's latent model) choose which
rules fire; :func:`compose` writes those behaviours into a transcript in the
channel's form — a timestamped e-mail exchange, chat, call or desk conversation
— with case facts where a rule needs reference facts (the right price, day,
steps or policy). The fired rules are the *hits*: gold points are the rubric's
rules applied to them (:meth:`qcikit.rubric.Rubric.points_from_rules`), and each
hit carries its evidence, a verbatim substring of the transcript.

Wordings are chosen so that a phrase fires its own rule only: nothing in a
greeting thanks the customer (that would be a courtesy), a commitment names no
time (that would set an expectation), and "please" or "thank" appear only when
the courtesy rule fires.

Raters' readings (:func:`read`) misapply specific rules, so that disagreement
has causes a trainee can see: the lenient rater credits near misses, the strict
rater misses implied behaviours, the careless rater misses what comes late in a
long transcript.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import combinations

import numpy as np

# Response standards per channel, in seconds (the rubric's within_standard rule).
STANDARD = {"email": 4 * 3600, "chat": 60, "phone": 90, "face_to_face": 180}
LIVE = ("chat", "phone", "face_to_face")
WRITTEN = ("email", "chat")
# Rules that cannot fire together (the behaviours contradict each other).
EXCLUSIVE = [("response_time", "within_standard", "double_standard"),
             ("actual_question", "direct_answer", "answers_other_question"),
             ("policy_reason", "gives_reason", "hides_behind_policy"),
             ("apology_courtesy", "sincere_apology", "conditional_apology"),
             ("tone", "matches_mood", "curt"), ("tone", "matches_mood", "blames_customer")]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
# What the customer says about their situation, and the agent's words when referring back to it.
SITUATIONS = [("before my trip on Friday", "before your trip on Friday"),
              ("before the board meeting next week", "before the board meeting next week"),
              ("before my sister moves in on Saturday", "before your sister moves in on Saturday"),
              ("while I am working from home this month", "while you are working from home this month"),
              ("before the school term starts", "before the school term starts")]
KEY_DIFFERENCE = {"northwind": "returns are free for 90 days", "brightwave": "our support line is open 24/7",
                  "voltania": "there is no exit fee on your tariff"}
ASK = {
    "billing": "Why was I charged the {fee} twice on order {order}?",
    "status": "Where is my {thing} for order {order}? It should have arrived by now.",
    "product_question": "Does the {item} on order {order} work with what I already have?",
    "problem": "My {item} from order {order} stopped working this morning.",
    "change_or_cancel": "I need to change the details on my {account} (order {order}).",
    "complaint": "This is the third time I am contacting you about my {account} (order {order}).",
}
TOPIC = {"billing": "the double {fee}", "status": "your {thing}", "product_question": "the {item}",
         "problem": "your {item}", "change_or_cancel": "the change to your {account}", "complaint": "your {account}"}
MOOD = {"calm": "", "confused": " I don't really understand what happened.",
        "frustrated": " Honestly this is getting frustrating.", "angry": " I am really angry about this!"}
ANSWER = {  # the right answer, with {fact} the fact the case facts state
    "billing": ("the second {fee} of {fact} was a duplicate, and it has been refunded", "£{price}"),
    "status": ("your {thing} left the depot yesterday and arrives on {fact}", "{day}"),
    "product_question": ("yes, the {item} works with it from version {fact} on", "{version}"),
    "problem": ("a reset fixes this: hold the power button for {fact} seconds", "{seconds}"),
    "change_or_cancel": ("the change to your {account} takes effect on {fact}", "{day}"),
    "complaint": ("a credit of {fact} is on your {account} for the trouble", "£{price}"),
}
FACT = {"billing": "the duplicate {fee} is", "status": "the {thing} arrives on", "product_question": "it works from version",
        "problem": "the reset takes {fact} seconds", "change_or_cancel": "the change takes effect on", "complaint": "the credit is"}
OTHER_ANSWER = "You can return any item within 30 days of delivery, and the returns page has the form."
NON_ANSWER = "There can be several reasons for something like this."
STEPS = {
    "billing": ("check the refund on your next statement", "keep the refund notice we e-mailed"),
    "status": ("have someone at home to sign for it", "keep the tracking number handy"),
    "product_question": ("update the {item} to the latest version", "restart it once after the update"),
    "problem": ("unplug the {item} after the reset", "plug it back in after one minute"),
    "change_or_cancel": ("confirm the change from the link we e-mailed", "log in again after the change"),
    "complaint": ("look for the credit on your {account} page", "reply to this case number if it is not there"),
}
POLICY = {  # the policy a case may involve, its bare statement and its reason in the customer's terms
    "billing": ("Refunds go back to the original card only", "so the money can only ever reach you"),
    "status": ("Parcels are only handed over with a signature", "so nobody else can take your parcel"),
    "product_question": ("Updates are only installed with your consent", "so nothing changes on your device without you"),
    "problem": ("Replacements need a reset first", "because the reset fixes most faults within minutes, without a wait"),
    "change_or_cancel": ("Changes need a confirmation from your e-mail address", "so nobody else can change your account"),
    "complaint": ("Credits are applied to the account, not paid in cash", "so they reach you on your next bill automatically"),
}
# Each client's own words for the inquiries where the generic ones would not fit its trade (no firmware for
# hiking boots, no power button on a dashboard): a table's entry here replaces the generic one above.
WORDING = {
    "northwind": {
        "ASK": {"product_question": "Do the {item} on order {order} work with the crampons I already have?",
                "problem": "The sole of my {item} from order {order} came loose after one walk."},
        "TOPIC": {"problem": "the sole of your {item}"},
        "ANSWER": {"product_question": ("yes, the crampon fitting works from size {fact} up", "{version}"),
                   "problem": ("this is covered: a new pair has been sent and arrives within {fact} days", "{days}")},
        "FACT": {"product_question": "the crampon fitting works from size",
                 "problem": "the new pair arrives within {fact} days"},
        "STEPS": {"product_question": ("tighten the crampon straps before each walk", "try the fit once on flat ground"),
                  "problem": ("send the old pair back with the free label", "keep the receipt for the warranty")},
        "POLICY": {"product_question": ("Fitting advice is only given for the exact model",
                                        "so nobody sends you a part that does not fit"),
                   "problem": ("Faulty boots are replaced, not repaired", "so you are back on the trail without a workshop wait")},
        "JARGON": "Your RMA-{nn} is waiting for the WMS sync for your {item}.",
    },
    "brightwave": {
        "ASK": {"billing": "Why was I charged the {fee} twice on invoice {order}?",
                "status": "My new {thing} for reference {order} has not come through yet.",
                "product_question": "Does the {item} work with the BI tool we already use (reference {order})?",
                "problem": "My {item} (reference {order}) stopped refreshing this morning.",
                "change_or_cancel": "I need to change the details on my {account} (reference {order}).",
                "complaint": "This is the third time I am contacting you about my {account} (reference {order})."},
        "ANSWER": {"status": ("your {thing} has been sent to the workspace owner and works from {fact}", "{day}"),
                   "problem": ("a refresh fixes this: press the Reload button and wait {fact} seconds", "{seconds}")},
        "FACT": {"status": "the API key works from", "problem": "the refresh takes {fact} seconds"},
        "STEPS": {"status": ("copy the {thing} from the settings page", "store it in your password manager"),
                  "product_question": ("update the {item} to the latest version", "reload it once after the update"),
                  "problem": ("sign out and back in", "open the {item} page again after one minute")},
        "POLICY": {"status": ("Keys are only shown once, to the workspace owner", "so nobody else can read your data"),
                   "problem": ("Support sessions need the workspace owner's approval",
                               "so nobody else can see your dashboards")},
        "OTHER_ANSWER": "You can add seats at any time from the billing page of your workspace.",
        "JARGON": "The log shows job ETL-{nn} failed on the SSO link for your {item}.",
    },
    "voltania": {
        "ASK": {"billing": "Why was I charged the {fee} twice on my bill for account {order}?",
                "status": "My {thing} for account {order} is not on my bill yet.",
                "product_question": "Will the {item} on account {order} work with my solar panels?",
                "problem": "My {item} on account {order} went blank this morning.",
                "change_or_cancel": "I need to change the details on account {order}.",
                "complaint": "This is the third time I am contacting you about account {order}."},
        "ANSWER": {"status": ("your {thing} reached us yesterday and takes effect on your bill from {fact}", "{day}"),
                   "product_question": ("yes, the {item} works with them from firmware {fact} on", "{version}"),
                   "problem": ("a reset fixes this: hold the display button for {fact} seconds", "{seconds}")},
        "FACT": {"status": "the reading takes effect on the bill from", "product_question": "it works from firmware"},
        "STEPS": {"status": ("check the reading in your online account", "keep a photo of the meter display"),
                  "product_question": ("let the {item} update overnight", "check the export reading the next day"),
                  "problem": ("leave the {item} switched on after the reset", "check the display again after one minute")},
        "POLICY": {"status": ("Estimated bills are only replaced by an actual reading", "so you only pay for what you used")},
        "OTHER_ANSWER": "You can switch to paperless billing from your online account at any time.",
    },
}
JARGON = "The log shows status E-{nn} on the HAN link for your {item}."


def worded(table: str, slug: str, inquiry: str | None = None):
    """The client's own wording for ``table`` (ASK, ANSWER … for ``inquiry``; OTHER_ANSWER, JARGON), else the
    generic one."""
    own = WORDING.get(slug, {}).get(table)
    if inquiry is None:
        return own if own is not None else {"OTHER_ANSWER": OTHER_ANSWER, "JARGON": JARGON}[table]
    generic = {"ASK": ASK, "TOPIC": TOPIC, "ANSWER": ANSWER, "FACT": FACT, "STEPS": STEPS, "POLICY": POLICY}[table]
    return (own or {}).get(inquiry, generic[inquiry])


AVOID_SENTENCE = {"unfortunately": "Unfortunately, the first check took longer than planned.",
                  "per our policy": "Per our policy, the record is kept for a year.",
                  "as per my last email": "As per my last email, the details are below.",
                  "the system says": "The system says the record is complete."}


@dataclass
class Hit:
    """One rule that fired: its evidence (a verbatim substring of the transcript) and where it sits."""

    element: str
    rule: str
    evidence: str
    implied: bool = False
    line: int = 0


@dataclass
class Composition:
    transcript: str
    hits: list[Hit]
    near: list[Hit]  # near misses: not hits, but a lenient rater credits them
    na: set[str] = field(default_factory=set)
    lines: int = 0


def _feasible(element: str, subset: tuple[str, ...], touchpoint: str) -> bool:
    for el, a, b in EXCLUSIVE:
        if el == element and a in subset and b in subset:
            return False
    if element == "acknowledgement" and "silent_gap" in subset and touchpoint not in LIVE:
        return False  # a silent gap is a live channel's fault
    if element == "ownership" and "follows_through" in subset and "i_will" not in subset:
        return False  # following up "as promised" needs the promise
    return True


def resolve(fired: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Drop a rule whose behaviour another element's rule makes undecidable in the text.

    One step left in a sentence cannot show a lack of structure (a list of one is no list), so
    ``no_structure`` yields to ``missing_step``.
    """
    out = dict(fired)
    if "missing_step" in out.get("complete_accurate", ()) and "no_structure" in out.get("written_presentation", ()):
        out["written_presentation"] = tuple(r for r in out["written_presentation"] if r != "no_structure")
    return out


class RuleChooser:
    """Picks, for an element's target points, a feasible set of rules that gives them (or the nearest points)."""

    def __init__(self, rubric):
        self.rubric = rubric
        self._table: dict[tuple[str, str], tuple[list, np.ndarray]] = {}
        self._best: dict[tuple[str, str, float], list] = {}

    def table(self, element: str, touchpoint: str):
        key = (element, touchpoint)
        if key not in self._table:
            rules = list(self.rubric.rule_deltas(element))
            subsets = [s for k in range(len(rules) + 1) for s in combinations(rules, k)
                       if _feasible(element, s, touchpoint)]
            self._table[key] = (subsets, np.array([self.rubric.points_for(element, s) for s in subsets]))
        return self._table[key]

    def __call__(self, element: str, target: float, touchpoint: str, rng) -> tuple[str, ...]:
        key = (element, touchpoint, float(target))
        if key not in self._best:
            subsets, pts = self.table(element, touchpoint)
            gap = np.abs(pts - target)
            self._best[key] = [subsets[i] for i in np.flatnonzero(gap == gap.min())]
        best = self._best[key]
        return best[int(rng.integers(len(best)))] if len(best) > 1 else best[0]


class _Writer:
    """The agent's reply as parts: each a piece of text and the rule hits (or near misses) it shows.

    A tag is ``(element, rule, evidence, implied, near)``; evidence ``None`` means the part's whole text.
    """

    def __init__(self, rng):
        self.rng = rng
        self.parts: list[tuple[str, list[tuple]]] = []

    def add(self, text: str, element: str = "", rule: str = "", implied: bool = False, near: bool = False,
            more: list[tuple] | None = None):
        tags = [(element, rule, None, implied, near)] if element else []
        self.parts.append((text, tags + list(more or [])))

    def pick(self, options):
        return options[int(self.rng.integers(len(options)))]


def compose(ctx: dict, fired: dict[str, tuple[str, ...]], na: set[str], rng) -> Composition:
    """Write one interaction's transcript from the rules that fire.

    ``ctx`` holds the interaction's facts: ``touchpoint``, ``inquiry``, ``mood``, ``objective``, ``name``,
    ``agent``, ``start`` (a ``datetime``), ``nouns``, ``slug``, ``brand_voice`` and ``special``
    (markup or personal data to plant in a customer line). ``fired`` maps each element to its rules;
    ``na`` names the elements that do not apply (their behaviours are left out).
    """
    f = {e: set(r) for e, r in fired.items() if e not in na}
    on = lambda e, r: r in f.get(e, set())  # noqa: E731
    tp, inquiry, mood = ctx["touchpoint"], ctx["inquiry"], ctx["mood"]
    nouns, voice = ctx["nouns"], ctx["brand_voice"]
    slug = ctx.get("slug", "")
    ref = nouns.get("ref", "order")  # what the client's customers quote: an order, an account, a reference
    first = ctx["name"].split()[0]
    w = _Writer(rng)
    facts = {"order": f"{int(rng.integers(10000, 99999))}", "price": f"{rng.integers(3, 60)}.{rng.integers(0, 99):02d}",
             "day": DAYS[int(rng.integers(len(DAYS)))], "version": f"{rng.integers(2, 9)}.{rng.integers(0, 9)}",
             "seconds": str(int(rng.choice([10, 15, 20, 30]))), "days": str(int(rng.choice([3, 5, 7]))),
             "closes": int(rng.choice([18, 20, 22]))}
    fill = lambda s: s.format(**nouns, **facts, first=first)  # noqa: E731
    situation, situation_back = SITUATIONS[int(rng.integers(len(SITUATIONS)))]
    answer, fact_t = worded("ANSWER", slug, inquiry)
    right = fact_t.format(**facts)
    if right.startswith("£"):
        wrong = f"£{float(facts['price']) + 5:.2f}"
    elif right in DAYS:
        wrong = DAYS[(DAYS.index(right) + 2) % len(DAYS)]
    elif "." in right:
        wrong = f"{int(facts['version'].split('.')[0]) + 2}.0"
    else:
        wrong = str(int(right) * 3)
    step1, step2 = (fill(x) for x in worded("STEPS", slug, inquiry))
    policy = "policy_reason" not in na
    policy_text, policy_why = worded("POLICY", slug, inquiry)
    ask = fill(worded("ASK", slug, inquiry)) + f" I need it sorted {situation}." + MOOD[mood]
    if ctx["objective"] == "be_heard":
        ask += " I mostly want someone to listen."

    # -- greeting and opening ------------------------------------------------------------------
    if on("greeting", "personal_greeting"):
        w.add(w.pick([f"Hello {first},", f"Hi {first},", f"Dear {first},"]), "greeting", "personal_greeting")
    elif not on("greeting", "warm_opening") and rng.random() < 0.8:
        w.add(w.pick(["Hi.", "Hello."]), "greeting", "warm_opening", near=True)  # a bare hello: no rule fires
    if on("greeting", "warm_opening"):
        w.add(w.pick(["Good to hear from you.", f"Great to hear from you about your {nouns['account']}.",
                      "Lovely to hear from you."]), "greeting", "warm_opening")
    if on("tone", "matches_mood"):
        txt = {"angry": "I can hear how angry this has made you, and that is fair.",
               "frustrated": "I understand how frustrating this has been.",
               "confused": "Let me make this simple.", "calm": "Let me keep this short and clear."}[mood]
        w.add(txt, "tone", "matches_mood", implied=mood in ("confused", "calm"))
    if on("tone", "curt"):
        w.add(w.pick(["As I already said, read the details below.", "This was explained before."] if tp in WRITTEN
                     else ["As I already said, listen to the details.", "This was explained before."]), "tone", "curt")
    if on("acknowledgement", "confirms_receipt"):
        w.add(w.pick([f"I have your {nouns['account']} in front of me now.",
                      "Your request has reached us and is being handled."]), "acknowledgement", "confirms_receipt")
    if on("response_time", "acknowledged_wait"):
        w.add(w.pick(["I appreciate your patience while I checked.", "I know you have waited for this answer."]),
              "response_time", "acknowledged_wait")
    if "apology_courtesy" not in na:
        if on("apology_courtesy", "sincere_apology"):
            if rng.random() < 0.35:  # implied: no word naming the problem, yet about this problem
                w.add(w.pick(["I'm sorry you had to chase us about this.", "That should not have happened, and I'm sorry."]),
                      "apology_courtesy", "sincere_apology", implied=True)
            else:
                w.add(fill(w.pick(["I'm sorry about the trouble with " + worded("TOPIC", slug, inquiry) + ".",
                                   "I'm sorry that " + worded("TOPIC", slug, inquiry) + " has caused you this bother."])),
                      "apology_courtesy", "sincere_apology")
        elif on("apology_courtesy", "conditional_apology"):
            w.add(w.pick(["Sorry if you feel let down.", "Apologies if this caused you any upset."]),
                  "apology_courtesy", "conditional_apology")
        elif rng.random() < 0.8:
            w.add("Sorry for any inconvenience.", "apology_courtesy", "sincere_apology", near=True)  # generic
    if on("personalisation", "refers_to_situation"):
        if rng.random() < 0.35:
            w.add("With that deadline coming up, timing matters here.", "personalisation", "refers_to_situation",
                  implied=True)
        else:
            w.add(f"So you need it sorted {situation_back}.", "personalisation", "refers_to_situation")
    if on("clear_language", "jargon"):
        w.add(fill(worded("JARGON", slug).replace("{nn}", facts["order"][-2:])), "clear_language", "jargon")

    # -- the answer (buried in a block of text when the wall-of-text rule fires) --------------------
    more = []
    if on("actual_question", "direct_answer"):
        shown = wrong if on("complete_accurate", "wrong_fact") else right
        text = fill(answer.replace("{fact}", shown))
        text = text[0].upper() + text[1:] + "."
        el, rule = "actual_question", "direct_answer"
        if shown == wrong:
            more.append(("complete_accurate", "wrong_fact", text, False, False))
    elif on("actual_question", "answers_other_question"):
        text, el, rule = worded("OTHER_ANSWER", slug), "actual_question", "answers_other_question"
    else:
        text, el, rule = NON_ANSWER, "", ""
    if el:  # the answer's own words are its evidence, whatever else shares the paragraph
        more.append((el, rule, text, False, False))
    if on("complete_accurate", "wrong_fact") and not on("actual_question", "direct_answer"):
        # Without an answer, the wrong fact is a side fact the case facts state (the help line's hours),
        # never a wrong answer (which a reader would also count as an answer).
        wrong_text = f"Our help line closes at {facts['closes'] - 2}:00 today."
        more.append(("complete_accurate", "wrong_fact", wrong_text, False, False))
        text = text + " " + wrong_text
    if on("clear_language", "wall_of_text"):
        filler = fill("Our team reviews every request in the order it arrives. The records for your {account} show "
                      "several entries this quarter. Each entry is checked against the usual process before any "
                      "change is made, and the process has a number of stages that run one after the other.")
        more.append(("clear_language", "wall_of_text", filler, False, False))
        text = filler + " " + text
    el = rule = ""
    w.add(text, el, rule, more=more)

    # -- steps: both, or one missing; a numbered list in writing unless the reply lacks structure -------
    steps = [step1] if on("complete_accurate", "missing_step") else [step1, step2]
    if tp in WRITTEN and not on("written_presentation", "no_structure"):
        text = "To finish:\n" + "\n".join(f"{i}. {x[0].upper() + x[1:]}." for i, x in enumerate(steps, 1))
    else:
        text = "To finish, " + " and then ".join(steps) + "."
    tags = [("complete_accurate", "missing_step", None, False, False)] if len(steps) == 1 else []
    if on("written_presentation", "no_structure"):
        tags.append(("written_presentation", "no_structure", None, False, False))
    w.parts.append((text, tags))

    if policy:
        if on("policy_reason", "gives_reason"):
            w.add(f"{policy_text}, {policy_why}.", "policy_reason", "gives_reason")
        elif on("policy_reason", "hides_behind_policy"):
            w.add(f"{policy_text}; that is our policy.", "policy_reason", "hides_behind_policy")
        else:
            w.add(f"{policy_text}.")
    if on("setting_expectations", "next_step_and_time"):
        w.add(fill(w.pick(["You will see the result within {days} working days.", "It will all be done by {day} noon."])),
              "setting_expectations", "next_step_and_time")
    elif rng.random() < 0.8:
        w.add("We'll be in touch soon.", "setting_expectations", "next_step_and_time", near=True)  # no time given
    if on("setting_expectations", "customer_action"):
        w.add(w.pick([f"All you need to do is keep this message with your {ref} number.",
                      f"Nothing else is needed from you apart from keeping your {ref} number."]),
              "setting_expectations", "customer_action")
    if on("ownership", "i_will"):
        w.add(w.pick(["I will follow this up myself.", "I will see this through personally."]), "ownership", "i_will")
    if on("efficient_resolution", "needless_transfer"):
        w.add("I have also handed your case to another team to look at it again.", "efficient_resolution", "needless_transfer")
    if on("proactive_next_step", "anticipates"):
        w.add(fill(w.pick(["I have also attached the guide for the {item}, in case you need it next.",
                           "I have already added a reminder to your {account} for the next step."])),
              "proactive_next_step", "anticipates")
    if on("proactive_next_step", "key_difference"):
        w.add(f"Remember, {KEY_DIFFERENCE.get(ctx['slug'], 'our help line is open every day')}.",
              "proactive_next_step", "key_difference")
    if on("personalisation", "asks_open_question"):
        w.add(fill(w.pick(["What will you be using the {item} for?", "What do you need the {item} for most?"])),
              "personalisation", "asks_open_question")
    if on("actual_question", "confirms_understanding"):
        w.add(fill("Does that answer your question about " + worded("TOPIC", slug, inquiry) + "?"), "actual_question",
              "confirms_understanding")
    if on("tone", "blames_customer"):
        w.add("You should have checked the details first.", "tone", "blames_customer")
    if on("written_presentation", "errors"):
        w.add(w.pick(["Hope this is usefull, its a pleasure to assit.", "I hope this answers you're question, its all sorted."]),
              "written_presentation", "errors")
    if on("branded_statements", "avoided_words"):
        word = voice["avoid"][int(rng.integers(len(voice["avoid"])))]
        w.add(AVOID_SENTENCE.get(word.lower(), f"{word[0].upper() + word[1:]}, that is how it is."),
              "branded_statements", "avoided_words")
    if on("apology_courtesy", "courtesies"):
        w.add(w.pick(["Thank you for telling us about this.", "Many thanks for your message."]), "apology_courtesy", "courtesies")
    if on("branded_statements", "signature_phrase"):
        phrases = voice["signature_phrases"]
        w.add(phrases[int(rng.integers(len(phrases)))], "branded_statements", "signature_phrase")
    if on("branded_statements", "brand_tone"):
        w.add(voice["sign_off"], "branded_statements", "brand_tone")
    elif tp == "email":
        w.add(w.pick(["Regards", "Best wishes"]))
    return _assemble(ctx, w, ask, on, facts, right, step1, step2, policy, policy_text, na, rng)


def _stamp(t: datetime, tp: str) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if tp == "email" else t.strftime("%H:%M:%S")


def _assemble(ctx, w, ask, on, facts, right, step1, step2, policy, policy_text, na, rng) -> Composition:
    tp, agent = ctx["touchpoint"], ctx["agent"]
    slug, inquiry, ref = ctx.get("slug", ""), ctx["inquiry"], ctx["nouns"].get("ref", "order")
    t0, std = ctx["start"], STANDARD[tp]
    if on("response_time", "within_standard"):
        delay = rng.uniform(0.15, 0.9) * std
    elif on("response_time", "double_standard"):
        delay = rng.uniform(2.3, 5.0) * std
    else:
        delay = rng.uniform(1.15, 1.85) * std
    delay = timedelta(seconds=int(delay // 60) * 60 if tp == "email" else int(delay))
    fact = worded("FACT", slug, inquiry)
    fact = fact.replace("{fact}", right) if "{fact}" in fact else f"{fact} {right}"
    case = [fact.format(**ctx["nouns"]),
            f"the steps the customer needs: {step1}; {step2}",
            f"the help line closes at {facts['closes']}:00"]
    if policy:
        case.append(f"the policy involved: {policy_text[0].lower() + policy_text[1:]}")
    header = "Case facts (for the rater): " + "; ".join(case) + "."
    lines: list[tuple[datetime, str]] = []
    special = ctx.get("special", "")
    planted = {"script": "Customer: I pasted this from your site: <script>alert('hacked')</script> <b>bold</b>",
               "pii": f"Customer: You can reach me at {ctx['name'].split()[0].lower()}.{rng.integers(10, 99)}@example.com "
                      f"or on +44 7700 900{rng.integers(100, 999)}.",
               "html": 'Customer: see <a href="https://example.com/x">this link</a> & the <i>photo</i>'}
    t = t0 + delay
    parts = w.parts
    if tp == "email":
        # The customer signs with their name, so a rater can check the greeting against it.
        lines.append((t0, f"Customer (e-mail): {ask}\n{ctx['name']}"))
        if special:
            lines.append((t0, planted[special]))
        lines.append((t, f"Agent ({agent}) (e-mail):\n" + "\n".join(p[0] for p in parts)))
        if on("efficient_resolution", "asks_known_info"):
            lines.append((t, f"Agent ({agent}) (e-mail): Could you also send me your {ref} number?"))
            t = t + timedelta(minutes=40)
            lines.append((t, f"Customer (e-mail): It is {facts['order']}, as in my first message."))
        if on("ownership", "follows_through"):
            lines.append((t + timedelta(hours=3), f"Agent ({agent}) (e-mail): As promised, I followed this up: it is all confirmed."))
    else:
        if tp == "chat":
            lines.append((t0, f"Customer: Hi, this is {ctx['name']}. {ask}"))
            if special:
                lines.append((t0, planted[special]))
        else:
            lines.append((t0, "Customer " + ("calls and waits in the queue." if tp == "phone" else "arrives at the desk and waits.")))
            lines.append((t, f"Agent ({agent}) " + ("picks up the call." if tp == "phone" else "calls the customer to the desk.")))
            t = t + timedelta(seconds=4)
            lines.append((t, f"Customer: Hello, my name is {ctx['name']}. {ask}"))
            if special:
                lines.append((t, planted[special]))
            t = t + timedelta(seconds=int(rng.integers(10, 20)))
        if on("efficient_resolution", "asks_known_info"):
            lines.append((t, f"Agent ({agent}): Can you give me your {ref} number?"))
            t = t + timedelta(seconds=8)
            lines.append((t, f"Customer: It's {facts['order']}, I said it already."))
            t = t + timedelta(seconds=int(rng.integers(5, 15)))
        # Short turns in live channels; a silent gap is a pause of more than a minute between two agent turns.
        chunk = 2 if tp == "chat" else 3
        if on("acknowledgement", "silent_gap") and len(parts) <= chunk:
            chunk = 1
        groups = [parts[i:i + chunk] for i in range(0, len(parts), chunk)]
        gap_at = int(rng.integers(1, len(groups))) if on("acknowledgement", "silent_gap") else -1
        for gi, grp in enumerate(groups):
            if gi == gap_at:
                t = t + timedelta(seconds=int(rng.integers(75, 200)))
            lines.append((t, f"Agent ({agent}): " + " ".join(p[0] for p in grp)))
            t = t + timedelta(seconds=int(rng.integers(8, 40)))
            if tp != "chat" and gi < len(groups) - 1:
                lines.append((t, "Customer: " + ["Okay.", "Right.", "I see.", "Go on."][int(rng.integers(4))]))
                t = t + timedelta(seconds=int(rng.integers(3, 10)))
        if on("ownership", "follows_through"):
            lines.append((t + timedelta(seconds=5), f"Agent ({agent}): As promised, I followed this up: it is all confirmed."))
    text_lines = [header] + [f"[{_stamp(ts, tp)}] {txt}" for ts, txt in lines]
    transcript = "\n".join(text_lines)
    hits, near = [], []
    for text, tags in parts:
        for el, rule, ev, implied, is_near in tags:
            ev = text if ev is None else ev
            (near if is_near else hits).append(Hit(el, rule, ev, implied, _line_of(transcript, ev)))
    # Rules whose evidence is a moment or a later turn, not a sentence of the reply.
    agent_lines = [ln for ln in text_lines if "] Agent (" in ln]
    stamp = agent_lines[0][: agent_lines[0].index("] ") + 1]
    for rule in ("within_standard", "double_standard"):
        if on("response_time", rule):
            hits.append(Hit("response_time", rule, stamp, False, _line_of(transcript, stamp)))
    if on("acknowledgement", "silent_gap"):
        ln = text_lines[_gap_line(text_lines)]
        ev = ln[: ln.index("] ") + 1]
        hits.append(Hit("acknowledgement", "silent_gap", ev, False, _line_of(transcript, ev)))
    for el, rule, ev in (("efficient_resolution", "asks_known_info", f"your {ref} number?"),
                         ("ownership", "follows_through", "As promised, I followed this up: it is all confirmed.")):
        if on(el, rule):
            ev = next(ln for ln in text_lines if ev in ln and "] Agent (" in ln)
            ev = ev[ev.index("): ") + 3:]
            hits.append(Hit(el, rule, ev, False, _line_of(transcript, ev)))
    return Composition(transcript, hits, near, set(na), len(text_lines))


def _line_of(transcript: str, text: str) -> int:
    """The line (0 = case facts) where ``text`` starts."""
    at = transcript.find(text)
    return transcript.count("\n", 0, max(at, 0))


def _gap_line(lines: list[str]) -> int:
    """The first agent line that follows the previous agent line by more than a minute."""
    prev = None
    for i, ln in enumerate(lines[1:], 1):
        if "] Agent (" not in ln:
            continue
        h, m, sec = (int(x) for x in ln[1:9].split(":"))
        t = 3600 * h + 60 * m + sec
        if prev is not None and t - prev > 60:
            return i
        prev = t
    return len(lines) - 1


# -- how each sample rater reads the rules ----------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """A rater's habits: ``lenient`` credits near misses, ``strict`` misses implied behaviours,
    ``careless`` misses what comes late in a long transcript; ``slip`` is the chance of missing a hit.
    A lenient rater also lets faults pass (``forgives`` subtractive hits)."""

    lenient: float = 0.0
    forgives: float = 0.0
    strict: float = 0.0
    careless: float = 0.0
    slip: float = 0.02


def read(comp: Composition, habit: Reading, rng, rubric) -> list[tuple[str, str]]:
    """The (element, rule) pairs a rater with ``habit`` marks on ``comp`` (gold marks ``comp.hits``)."""
    out = []
    long = comp.lines > 9
    for h in comp.hits:
        if rubric.rule_deltas(h.element)[h.rule] < 0 and rng.random() < habit.forgives:
            continue
        if h.implied and rng.random() < habit.strict:
            continue
        if long and h.line > comp.lines / 2 and rng.random() < habit.careless:
            continue
        if rng.random() < habit.slip:
            continue
        out.append((h.element, h.rule))
    for h in comp.near:
        if rng.random() < habit.lenient:
            out.append((h.element, h.rule))
    return out


def element_points(rubric, marks: list[tuple[str, str]], elements: list[str]) -> dict[str, float]:
    """Points per element from marked rules (an element without marks keeps its start points)."""
    by: dict[str, list[str]] = {e: [] for e in elements}
    for e, r in marks:
        if e in by and r not in by[e]:
            by[e].append(r)
    return {e: rubric.points_for(e, rules) for e, rules in by.items()}


def rationale(rubric, element: str, rules) -> str:
    """Which rules fired, in one short sentence, e.g. "Greets the customer by name (+1); ...: 2 of 2."."""
    e = rubric.element(element)
    signed = rubric.rule_deltas(element)
    texts = {r.id: r.text.rstrip(".") for r in e.rules.additive + e.rules.subtractive}
    if not rules:
        body = f"no rule applies, so the element keeps its start of {e.start:g}" if e.start else "no rule applies"
    else:
        fired = "; ".join(f"{texts[r]} ({signed[r]:+g})" for r in rules)
        body = f"start {e.start:g}; {fired}" if e.start else fired
    sentence = f"{body}: {rubric.points_for(element, rules):g} of {e.max_points:g}."
    return sentence[0].upper() + sentence[1:]
