"""Seeded generator of the fictional sample engagements in ``data/samples/``.

Three clients in different industries and sizes: an online outdoor retailer
(Northwind Outfitters), a B2B software company (Brightwave Analytics) and an
energy utility (Voltania Energy).  Each folder is complete — engagement.yaml,
interactions.csv, scenarios.yaml, rubric.yaml, sample.csv, inventory.csv,
scores.csv, gold.csv, mystery_shops.csv and answers.yaml — and regenerating
with the same seed gives byte-identical files.

The data are made to teach: raters disagree realistically and one of them is
lenient, some elements really improve from the first wave to the second, a
few transcripts hold HTML, a ``<script>`` and personal data (e-mail addresses,
phone numbers) so that escaping and redaction can be seen to work.

Run ``python -m qcikit.samples data/samples`` to regenerate.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import inventory, sampling
from ._io import atomic_write_text, write_csv
from .rubric import load_rubric
from .templates import path as template_path


@dataclass
class ClientSpec:
    slug: str
    client: str
    industry: str
    size: int
    seed: int
    teams: list[str]
    touchpoint_mix: dict[str, float]
    competitors: list[str]
    brand_voice: dict
    value_focus: list[str]
    specific_extras: list[str]
    nouns: dict[str, str]
    improving: dict[str, float]
    baseline_shift: float = 0.0
    competitor_quality: dict[str, float] = field(default_factory=dict)


CLIENTS = [
    ClientSpec(
        slug="northwind", client="Northwind Outfitters", industry="online retail (outdoor gear)", size=2400, seed=101,
        teams=["Trail Team", "Summit Team", "Basecamp Team"],
        touchpoint_mix={"email": 0.45, "chat": 0.35, "phone": 0.15, "face_to_face": 0.05},
        competitors=["PeakGear", "TrailMart"],
        brand_voice={"tone": "warm, upbeat and plain-spoken", "signature_phrases": ["Happy trails!", "See you out there"],
                     "avoid": ["unfortunately", "per our policy"], "sign_off": "Happy trails, the Northwind crew"},
        value_focus=["branded content", "loyalty", "spreading happiness"],
        specific_extras=["Add a care tip for the product the customer bought",
                         "Offer a trail-map postcard with exchanges",
                         "Remind returning customers of their loyalty points"],
        nouns={"item": "hiking boots", "account": "order", "thing": "parcel", "fee": "delivery charge"},
        improving={"setting_expectations": 0.18, "ownership": 0.15, "branded_statements": 0.12},
        competitor_quality={"PeakGear": 0.05, "TrailMart": -0.25},
    ),
    ClientSpec(
        slug="brightwave", client="Brightwave Analytics", industry="B2B software (analytics platform)", size=480, seed=202,
        teams=["Customer Success", "Technical Support"],
        touchpoint_mix={"email": 0.55, "chat": 0.25, "phone": 0.15, "face_to_face": 0.05},
        competitors=["Datalynx", "InsightPro"],
        brand_voice={"tone": "expert, calm and precise", "signature_phrases": ["Let's get your data working for you"],
                     "avoid": ["unfortunately", "as per my last email"], "sign_off": "The Brightwave team"},
        value_focus=["education", "loyalty"],
        specific_extras=["Link the exact help-centre article for the feature asked about",
                         "Offer a 15-minute screen-share for complex set-ups"],
        nouns={"item": "dashboard export", "account": "workspace", "thing": "API key", "fee": "seat licence"},
        improving={"complete_accurate": 0.12, "proactive_next_step": 0.2},
        baseline_shift=0.08,
        competitor_quality={"Datalynx": 0.15, "InsightPro": -0.1},
    ),
    ClientSpec(
        slug="voltania", client="Voltania Energy", industry="energy utility", size=20000, seed=303,
        teams=["Billing North", "Billing South", "Moves & Meters", "Care Line"],
        touchpoint_mix={"email": 0.30, "chat": 0.20, "phone": 0.40, "face_to_face": 0.10},
        competitors=["BrightGrid", "EcoPower"],
        brand_voice={"tone": "reassuring, clear and human", "signature_phrases": ["We're here to keep the lights on for you"],
                     "avoid": ["unfortunately", "per our policy", "the system says"], "sign_off": "Warm regards, Voltania Care"},
        value_focus=["education", "spreading happiness"],
        specific_extras=["Give one energy-saving tip matched to the customer's bill",
                         "Call back vulnerable customers the next day"],
        nouns={"item": "smart meter", "account": "account", "thing": "meter reading", "fee": "standing charge"},
        improving={"response_time": 0.15, "policy_reason": 0.2, "apology_courtesy": 0.1},
        baseline_shift=-0.08,
        competitor_quality={"BrightGrid": 0.0, "EcoPower": 0.1},
    ),
]

WAVES = {"2026-Q2": ("2026-04-01", 91), "2026-Q3": ("2026-07-01", 92)}
FIRST = ["Maria", "James", "Aisha", "Chen", "Olga", "Tomás", "Priya", "Kwame", "Sofia", "Liam", "Yuki", "Fatima",
         "Noah", "Elena", "Omar", "Grace", "Mateo", "Hannah", "Ravi", "Zoe"]
LAST = ["Okafor", "Smith", "Nguyen", "García", "Kowalski", "Brown", "Patel", "Müller", "Rossi", "Dubois", "Kim", "Silva"]
RATERS = ["ana", "ben", "chloe", "dev"]
RATER_BIAS = {"ana": 0.0, "ben": -0.03, "chloe": 0.10, "dev": 0.03}  # chloe is the lenient rater
RATER_NOISE = {"ana": 0.04, "ben": 0.06, "chloe": 0.05, "dev": 0.07}
# Elements whose rules are vague in the starter rubric: raters read them more differently.
VAGUE = {"tone": 0.10, "personalisation": 0.08}

ASK = {
    "billing": "Why was I charged the {fee} twice this month?",
    "status": "Where is my {thing}? It should have arrived by now.",
    "product_question": "Does the {item} work with what I already have?",
    "problem": "My {item} stopped working this morning.",
    "change_or_cancel": "I need to change the details on my {account}.",
    "complaint": "This is the third time I am contacting you about my {account}.",
}
MOOD = {"calm": "", "confused": " I don't really understand what happened.",
        "frustrated": " Honestly this is getting frustrating.", "angry": " I am really angry about this!"}
GOOD = [
    "Hello {name}, thank you for getting in touch. I'm sorry about the trouble with your {account}.",
    "I have checked it for you: {answer} I will follow this up myself and you will hear from me by tomorrow noon.",
    "{phrase}",
]
POOR = ["Hi. {answer}", "Please check the website for more information."]
ANSWERS = {
    "billing": "the second {fee} was a duplicate and the refund is on its way",
    "status": "your {thing} left the depot yesterday and arrives on Thursday",
    "product_question": "yes, the {item} works with it; here is the guide",
    "problem": "a reset fixes this in most cases; I have sent the steps",
    "change_or_cancel": "the change is done and confirmed",
    "complaint": "I have escalated the case and credited your {account}",
}


def _transcript(rng, spec, touchpoint, inquiry, mood, quality, name, agent, special):
    nouns = spec.nouns
    ask = ASK[inquiry].format(**nouns) + MOOD[mood]
    answer = ANSWERS[inquiry].format(**nouns) + "."
    phrase = spec.brand_voice["signature_phrases"][0]
    lines = [f"Customer: {ask}"]
    body = GOOD if quality > 0 else POOR
    for line in body:
        lines.append(f"Agent ({agent}): " + line.format(name=name.split()[0], account=nouns["account"], answer=answer, phrase=phrase))
    if special == "script":
        lines.insert(1, "Customer: I pasted this from your site: <script>alert('hacked')</script> <b>bold</b>")
    elif special == "pii":
        lines.insert(1, f"Customer: You can reach me at {name.split()[0].lower()}.{rng.integers(10, 99)}@example.com "
                        f"or on +44 7700 900{rng.integers(100, 999)}.")
    elif special == "html":
        lines.insert(1, 'Customer: see <a href="https://example.com/x">this link</a> & the <i>photo</i>')
    return "\n".join(lines)


def _interactions(spec: ClientSpec, schema, rng) -> pd.DataFrame:
    n = spec.size
    tps = list(spec.touchpoint_mix)
    wave_names = list(WAVES)
    wave = rng.choice(wave_names, size=n)
    wave = np.sort(wave)  # wave 1 first, then wave 2
    touch = rng.choice(tps, size=n, p=np.array(list(spec.touchpoint_mix.values())))
    start = np.array([np.datetime64(WAVES[w][0]) for w in wave])
    days = np.array([WAVES[w][1] for w in wave])
    offset_min = (rng.random(n) * days * 24 * 60).astype(int)
    started = pd.to_datetime(start) + pd.to_timedelta(offset_min, unit="min")
    n_agents = max(6, n // 150)
    agents = np.array([f"{spec.slug[:2].upper()}-A{k:03d}" for k in range(n_agents)])
    agent_idx = rng.integers(0, n_agents, size=n)
    team_of_agent = rng.integers(0, len(spec.teams), size=n_agents)
    # Facets other than touchpoint follow skewed (Zipf-like) shares, so some scenarios are rare.
    facets = {"touchpoint": touch}
    for f, levels in schema.facets.items():
        if f == "touchpoint":
            continue
        p = 1.0 / np.arange(1, len(levels) + 1) ** 1.1
        facets[f] = rng.choice(levels, size=n, p=p / p.sum())
    frame = pd.DataFrame(facets)
    # Resolve excluded combinations by redrawing the objective until feasible.
    for _ in range(20):
        bad = schema.excluded_mask(frame)
        if not bad.any():
            break
        frame.loc[bad, "objective"] = rng.choice(schema.facets["objective"], size=int(bad.sum()))
    skill = rng.normal(0, 0.6, size=n_agents)
    quality = skill[agent_idx] + rng.normal(0, 0.5, size=n)
    names = [f"{FIRST[a]} {LAST[b]}" for a, b in zip(rng.integers(0, len(FIRST), n), rng.integers(0, len(LAST), n))]
    special = np.array([""] * n, dtype=object)
    for w in np.unique(wave):  # each wave gets one of each, so every report can show them handled
        idx = rng.choice(np.flatnonzero(wave == w), size=3, replace=False)
        special[idx] = ["script", "pii", "html"]
    transcripts = [
        _transcript(rng, spec, t, i, m, q, nm, agents[a], s)
        for t, i, m, q, nm, a, s in zip(touch, frame["inquiry_type"], frame["emotional_state"], quality, names, agent_idx, special)
    ]
    detail = {"email": "support inbox", "chat": "web chat", "phone": "hotline", "face_to_face": "store / office desk"}
    effort = np.where(rng.random(n) < 0.4, np.clip(np.round(3.2 - 1.1 * quality + rng.normal(0, 1.1, n)), 1, 7), np.nan)
    out = pd.DataFrame({
        "interaction_id": [f"{spec.slug[:2].upper()}-{k:06d}" for k in range(1, n + 1)],
        "started_at": started.strftime("%Y-%m-%d %H:%M"),
        "touchpoint": touch,
        "channel_detail": [detail[t] for t in touch],
        "agent_id": agents[agent_idx],
        "team": np.array(spec.teams)[team_of_agent[agent_idx]],
        "wave": wave,
        "transcript": transcripts,
        "effort": pd.array(effort, dtype="Int64"),
    })
    truth = frame.assign(interaction_id=out["interaction_id"], quality=quality)
    return out, truth


def _raters(spec: ClientSpec) -> list[str]:
    return RATERS[:4] if spec.size >= 1000 else RATERS[:3]


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _scores(spec, rubric, sample, truth, rng):
    """True element shares per sampled interaction, then each rater's points."""
    el = rubric.elements
    ids = list(el.index)
    maxp = el["max_points"].to_numpy()
    base = np.linspace(0.9, -0.6, len(ids))
    base = rng.permutation(base) + spec.baseline_shift * 4
    t = truth.set_index("interaction_id").loc[sample["interaction_id"]]
    wave2 = (sample["wave"].to_numpy() == list(WAVES)[1])
    improve = np.array([spec.improving.get(e, 0.0) for e in ids])
    logit = base[None, :] + 1.7 * t["quality"].to_numpy()[:, None] + rng.normal(0, 0.6, (len(t), len(ids)))
    share = _sigmoid(logit) + wave2[:, None] * improve[None, :]
    share = np.clip(share, 0, 1)
    # Not applicable: consistent across raters because it is a fact of the interaction.
    na = np.zeros_like(share, dtype=bool)
    na[:, ids.index("policy_reason")] = rng.random(len(t)) < 0.55
    calm_info = (t["emotional_state"].to_numpy() == "calm") & (t["objective"].to_numpy() == "get_information")
    na[:, ids.index("apology_courtesy")] = calm_info & (rng.random(len(t)) < 0.7)
    na[:, ids.index("proactive_next_step")] = rng.random(len(t)) < 0.12
    spoken = np.isin(t["touchpoint"].to_numpy(), ["phone", "face_to_face"])
    excluded = np.zeros_like(na)
    excluded[:, ids.index("written_presentation")] = spoken
    # Raters: each interaction has a primary rater; an overlap set per wave is scored by all.
    raters = _raters(spec)
    n = len(t)
    primary = rng.integers(0, len(raters), size=n)
    overlap = np.zeros(n, dtype=bool)
    for w in WAVES:
        pos = np.flatnonzero(sample["wave"].to_numpy() == w)
        overlap[rng.choice(pos, size=min(40, len(pos)), replace=False)] = True
    rows = []
    for r_i, r in enumerate(raters):
        who = overlap | (primary == r_i)
        spread = np.array([np.hypot(RATER_NOISE[r], VAGUE.get(e, 0.0)) for e in ids])
        obs = share[who] + RATER_BIAS[r] + rng.normal(0, 1, (int(who.sum()), len(ids))) * spread[None, :]
        pts = np.clip(np.round(obs * maxp[None, :]), 0, maxp[None, :])
        pts = np.where(na[who], np.nan, pts)
        keep = ~excluded[who]
        ii, ee = np.nonzero(keep)
        rows.append(pd.DataFrame({
            "interaction_id": sample["interaction_id"].to_numpy()[who][ii],
            "rater": r,
            "element": np.array(ids)[ee],
            "points": pts[ii, ee],
            "wave": sample["wave"].to_numpy()[who][ii],
            "rubric_version": rubric.version,
        }))
    scores = pd.concat(rows, ignore_index=True)
    # Gold: the consultant's reference scores for the wave-1 overlap set (30 interactions).
    first = np.flatnonzero(overlap & ~wave2)[:30]
    g_pts = np.clip(np.round(share[first] * maxp[None, :]), 0, maxp[None, :])
    g_pts = np.where(na[first], np.nan, g_pts)
    ii, ee = np.nonzero(~excluded[first])
    gold = pd.DataFrame({
        "interaction_id": sample["interaction_id"].to_numpy()[first][ii],
        "element": np.array(ids)[ee], "points": g_pts[ii, ee], "wave": list(WAVES)[0],
    })
    return scores, gold, base


def _mystery_shops(spec, rubric, base, rng):
    el = rubric.elements
    maxp = el["max_points"].to_numpy()
    rows = []
    # Every wave has its own shops (a report compares the client with the same wave's shops):
    # a pilot of 12 per competitor in the first wave, 25 in the second.
    for w_i, (wave, n_shops) in enumerate(zip(WAVES, (12, 25))):
        for comp in spec.competitors:
            q = spec.competitor_quality.get(comp, 0.0)
            for k in range(1, n_shops + 1):
                shop_q = rng.normal(0, 0.6)
                share = _sigmoid(base + 4 * q + 1.1 * shop_q + rng.normal(0, 0.4, len(maxp)))
                pts = np.clip(np.round(share * maxp), 0, maxp)
                for e, p in zip(el.index, pts):
                    rows.append({"competitor": comp, "interaction_id": f"MS-{comp[:3].upper()}-{w_i + 1}{k:02d}",
                                 "element": e, "points": p, "wave": wave})
    return pd.DataFrame(rows)


def _fmt(df: pd.DataFrame) -> pd.DataFrame:
    """Format numbers so that files are stable and readable (whole points as integers)."""
    out = df.copy()
    if "points" in out:
        out["points"] = out["points"].map(lambda x: "" if pd.isna(x) else f"{x:g}")
    if "weight" in out:
        out["weight"] = out["weight"].map(lambda x: f"{x:.6f}")
    return out


def generate_client(spec: ClientSpec, out_dir: str | Path) -> Path:
    """Write one complete sample engagement folder and return its path."""
    folder = Path(out_dir) / spec.slug
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    schema = inventory.load_schema(template_path("scenarios.yaml"))
    rubric_data = yaml.safe_load(template_path("rubric.yaml").read_text(encoding="utf-8"))
    rubric_data["version"] = f"{spec.slug}-1"
    rubric_data["name"] = f"{spec.client} QCI rubric"
    atomic_write_text(folder / "rubric.yaml", yaml.safe_dump(rubric_data, sort_keys=False, allow_unicode=True, width=120))
    atomic_write_text(folder / "scenarios.yaml", template_path("scenarios.yaml").read_text(encoding="utf-8"))
    rubric = load_rubric(folder / "rubric.yaml")
    config = {
        "client": spec.client, "slug": spec.slug, "industry": spec.industry, "brand_voice": spec.brand_voice,
        "value_focus": spec.value_focus, "specific_extras": spec.specific_extras, "waves": list(WAVES),
        "competitors": spec.competitors, "seed": spec.seed, "confidence": 0.95, "margin": 0.05,
        "strata": "touchpoint", "target_qci": 80,
        "raters": [{"name": r, "role": "lead" if r == RATERS[0] else "rater"} for r in _raters(spec)],
        "country": "GB",
    }
    atomic_write_text(folder / "engagement.yaml", yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120))
    interactions, truth = _interactions(spec, schema, rng)
    write_csv(interactions, folder / "interactions.csv")
    sample = sampling.draw_by_wave(interactions, 0.05, 0.95, strata="touchpoint", seed=spec.seed)
    write_csv(_fmt(sample[["interaction_id", "wave", "touchpoint", "stratum", "weight"]]), folder / "sample.csv")
    inv = truth.set_index("interaction_id").loc[sample["interaction_id"], schema.names].reset_index()
    write_csv(inv, folder / "inventory.csv")
    scores, gold, base = _scores(spec, rubric, sample, truth, rng)
    write_csv(_fmt(scores), folder / "scores.csv")
    write_csv(_fmt(gold), folder / "gold.csv")
    write_csv(_fmt(_mystery_shops(spec, rubric, base, rng)), folder / "mystery_shops.csv")
    answers = {
        "elements": {
            "branded_statements": spec.brand_voice["signature_phrases"][0],
            "proactive_next_step": spec.specific_extras[0],
            "setting_expectations": "Tell the customer exactly when they will hear from us next, and keep that promise.",
        },
        "scenarios": {"angry": "Acknowledge the feeling first, in one sentence, before any fact."},
    }
    atomic_write_text(folder / "answers.yaml", yaml.safe_dump(answers, sort_keys=False, allow_unicode=True, width=120))
    return folder


def generate(out_dir: str | Path = "data/samples") -> list[Path]:
    """Write all three sample engagements under ``out_dir``."""
    return [generate_client(spec, out_dir) for spec in CLIENTS]


if __name__ == "__main__":  # pragma: no cover - exercised by `make samples`
    for p in generate(sys.argv[1] if len(sys.argv) > 1 else "data/samples"):
        print(p)
