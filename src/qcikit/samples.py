"""Seeded generator of the fictional sample engagements in ``data/samples/``.

Three clients in different industries and sizes: an online outdoor retailer
(Northwind Outfitters), a B2B software company (Brightwave Analytics) and an
energy utility (Voltania Energy).  Each folder is complete — engagement.yaml,
interactions.csv, scenarios.yaml, rubric.yaml, sample.csv, inventory.csv,
scores.csv, gold.csv, mystery_shops.csv and answers.yaml — and regenerating
with the same seed gives byte-identical files.

The data are made to teach. Every transcript is composed from behaviours
(:mod:`qcikit.transcripts`): the interaction's true element points choose which
rules fire, the text shows them (with timestamps and case facts, so every rule
is decidable), and gold is the rubric's rules applied to them, with the
evidence quoted. Raters disagree for readable reasons (``HABITS``: one lenient,
one strict, one careless); some elements really improve from the first wave to
the second; a few transcripts hold HTML, a ``<script>`` and personal data
(e-mail addresses, phone numbers) so that escaping and redaction can be seen to work.

Run ``python -m qcikit.samples data/samples`` to regenerate.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import inventory, sampling, transcripts
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
    # The auto-scorer whose machine scores the sample keeps (autoscores.csv) and whose assisted QCI its report heads with.
    assisted: str | None = None


CLIENTS = [
    ClientSpec(
        slug="northwind", client="Northwind Outfitters", industry="online retail (outdoor gear)", size=2400, seed=101,
        teams=["Trail Team", "Summit Team", "Basecamp Team"],
        touchpoint_mix={"email": 0.45, "chat": 0.35, "phone": 0.15, "face_to_face": 0.05},
        competitors=["PeakGear", "TrailMart"],
        brand_voice={"tone": "warm, upbeat and plain-spoken", "signature_phrases": ["Happy trails!", "See you out there"],
                     "avoid": ["unfortunately", "per our policy"], "sign_off": "Your Northwind crew"},
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
        nouns={"item": "dashboard export", "account": "workspace", "thing": "API key", "fee": "seat licence",
               "ref": "reference"},
        improving={"complete_accurate": 0.12, "proactive_next_step": 0.2},
        baseline_shift=0.08,
        competitor_quality={"Datalynx": 0.15, "InsightPro": -0.1}, assisted="rules",
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
        nouns={"item": "smart meter", "account": "account", "thing": "meter reading", "fee": "standing charge",
               "ref": "account"},
        improving={"response_time": 0.15, "policy_reason": 0.2, "apology_courtesy": 0.16},
        baseline_shift=-0.08,
        competitor_quality={"BrightGrid": 0.0, "EcoPower": 0.1},
    ),
]

WAVES = {"2026-Q2": ("2026-04-01", 91), "2026-Q3": ("2026-07-01", 92)}
FIRST = ["Maria", "James", "Aisha", "Chen", "Olga", "Tomás", "Priya", "Kwame", "Sofia", "Liam", "Yuki", "Fatima",
         "Noah", "Elena", "Omar", "Grace", "Mateo", "Hannah", "Ravi", "Zoe"]
LAST = ["Okafor", "Smith", "Nguyen", "García", "Kowalski", "Brown", "Patel", "Müller", "Rossi", "Dubois", "Kim", "Silva"]
RATERS = ["ana", "ben", "chloe", "dev"]

def _interactions(spec: ClientSpec, schema, rubric, rng) -> tuple[pd.DataFrame, pd.DataFrame, dict, np.ndarray]:
    """The population: facets, agents, latent quality, and a transcript composed from each interaction's
    true element points (:mod:`qcikit.transcripts`), so that what a rater reads supports the points."""
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
    # True element points: the latent model (agent skill, element difficulty, improving elements in wave 2).
    el = rubric.elements
    ids = list(el.index)
    maxp = el["max_points"].to_numpy()
    base = rng.permutation(np.linspace(0.9, -0.6, len(ids))) + spec.baseline_shift * 4
    improve = np.array([spec.improving.get(e, 0.0) for e in ids])
    logit = base[None, :] + 1.7 * quality[:, None] + rng.normal(0, 0.6, (n, len(ids)))
    share = np.clip(_sigmoid(logit) + (wave == wave_names[1])[:, None] * improve[None, :], 0, 1)
    target = np.round(share * maxp[None, :])
    # Not applicable is a fact a rater can read: no policy in the case facts, nothing went wrong, only to be heard.
    no_policy = rng.random(n) < 0.55
    calm_info = (frame["emotional_state"].to_numpy() == "calm") & (frame["objective"].to_numpy() == "get_information")
    heard = frame["objective"].to_numpy() == "be_heard"
    spoken = np.isin(touch, ["phone", "face_to_face"])
    choose = transcripts.RuleChooser(rubric)
    comps = []
    inquiry, mood, objective = (frame[c].tolist() for c in ("inquiry_type", "emotional_state", "objective"))
    starts = started.to_pydatetime()
    for i in range(n):
        na = {e for e, flag in (("policy_reason", no_policy[i]), ("apology_courtesy", calm_info[i]),
                                ("proactive_next_step", heard[i]), ("written_presentation", spoken[i])) if flag}
        fired = transcripts.resolve({e: choose(e, target[i, k], touch[i], rng) for k, e in enumerate(ids) if e not in na})
        ctx = {"touchpoint": touch[i], "inquiry": inquiry[i], "mood": mood[i],
               "objective": objective[i], "name": names[i], "agent": agents[agent_idx[i]],
               "start": starts[i], "nouns": spec.nouns, "slug": spec.slug, "brand_voice": spec.brand_voice,
               "special": special[i]}
        comp = transcripts.compose(ctx, fired, na, rng)
        comp.na = na - {"written_presentation"} if spoken[i] else na  # excluded for spoken channels: no row at all
        comps.append(comp)
    detail = {"email": "support inbox", "chat": "web chat", "phone": "hotline", "face_to_face": "store / office desk"}
    effort = np.where(rng.random(n) < 0.4, np.clip(np.round(3.2 - 1.1 * quality + rng.normal(0, 1.1, n)), 1, 7), np.nan)
    ids_out = [f"{spec.slug[:2].upper()}-{k:06d}" for k in range(1, n + 1)]
    out = pd.DataFrame({
        "interaction_id": ids_out,
        "started_at": started.strftime("%Y-%m-%d %H:%M"),
        "touchpoint": touch,
        "channel_detail": [detail[t] for t in touch],
        "agent_id": agents[agent_idx],
        "team": np.array(spec.teams)[team_of_agent[agent_idx]],
        "wave": wave,
        "transcript": [c.transcript for c in comps],
        "effort": pd.array(effort, dtype="Int64"),
    })
    truth = frame.assign(interaction_id=out["interaction_id"], quality=quality, spoken=spoken)
    return out, truth, dict(zip(ids_out, comps)), base


def _raters(spec: ClientSpec) -> list[str]:
    return RATERS[:4] if spec.size >= 1000 else RATERS[:3]


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# How each sample rater reads the rules: the causes of their disagreement a trainee can look for.
HABITS = {"ana": transcripts.Reading(slip=0.02),                    # the lead: careful
          "ben": transcripts.Reading(strict=0.75, slip=0.03),       # strict: misses implied apologies, moods, situations
          "chloe": transcripts.Reading(lenient=0.95, forgives=0.95, slip=0.03),  # lenient: credits a bare "Hi", lets faults pass
          "dev": transcripts.Reading(careless=0.6, slip=0.04)}      # careless: skims the end of long transcripts
GOLD_SIZE = 40


def _scores(spec, rubric, sample, truth, comps, rng):
    """Each rater's points from their reading of the transcripts' behaviours; gold from the rules that fired."""
    ids = list(rubric.elements.index)
    t = truth.set_index("interaction_id").loc[sample["interaction_id"]]
    wave2 = (sample["wave"].to_numpy() == list(WAVES)[1])
    raters = _raters(spec)
    n = len(t)
    primary = rng.integers(0, len(raters), size=n)
    overlap = np.zeros(n, dtype=bool)
    for w in WAVES:
        pos = np.flatnonzero(sample["wave"].to_numpy() == w)
        overlap[rng.choice(pos, size=min(40, len(pos)), replace=False)] = True
    iids = sample["interaction_id"].to_numpy()
    waves = sample["wave"].to_numpy()
    spoken = t["spoken"].to_numpy()
    rows = []
    for r_i, r in enumerate(raters):
        for i in np.flatnonzero(overlap | (primary == r_i)):
            comp = comps[iids[i]]
            pts = transcripts.element_points(rubric, transcripts.read(comp, HABITS[r], rng, rubric), ids)
            for e in ids:
                if e == "written_presentation" and spoken[i]:
                    continue  # excluded in spoken channels by the rubric's scenario rule: no row
                rows.append((iids[i], r, e, np.nan if e in comp.na else pts[e], waves[i], rubric.version))
    scores = pd.DataFrame(rows, columns=["interaction_id", "rater", "element", "points", "wave", "rubric_version"])
    # Gold: the rules that fired, for the wave-1 overlap set, with the evidence and the rule in words.
    gold_rows = []
    for i in np.flatnonzero(overlap & ~wave2)[:GOLD_SIZE]:
        comp = comps[iids[i]]
        for e in ids:
            if e == "written_presentation" and spoken[i]:
                continue
            hits = [h for h in comp.hits if h.element == e]
            rules = list(dict.fromkeys(h.rule for h in hits))
            if e in comp.na:
                gold_rows.append((iids[i], e, np.nan, waves[i], "", "", "Not applicable in this interaction."))
                continue
            signed = rubric.rule_deltas(e)
            strongest = max(hits, key=lambda h: abs(signed[h.rule]), default=None)
            gold_rows.append((iids[i], e, rubric.points_for(e, rules), waves[i], " ".join(rules),
                              strongest.evidence if strongest else "", transcripts.rationale(rubric, e, rules)))
    gold = pd.DataFrame(gold_rows, columns=["interaction_id", "element", "points", "wave", "rules", "evidence", "rationale"])
    return scores, gold


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
    if spec.assisted:
        config["assisted"] = spec.assisted
    atomic_write_text(folder / "engagement.yaml", yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120))
    interactions, truth, comps, base = _interactions(spec, schema, rubric, rng)
    write_csv(interactions, folder / "interactions.csv")
    sample = sampling.draw_by_wave(interactions, 0.05, 0.95, strata="touchpoint", seed=spec.seed)
    write_csv(_fmt(sample[["interaction_id", "wave", "touchpoint", "stratum", "weight"]]), folder / "sample.csv")
    inv = truth.set_index("interaction_id").loc[sample["interaction_id"], schema.names].reset_index()
    write_csv(inv, folder / "inventory.csv")
    scores, gold = _scores(spec, rubric, sample, truth, comps, rng)
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
    if spec.assisted == "rules":
        _autoscores(folder)
    return folder


def _autoscores(folder: Path) -> None:
    """The rules scorer's run on the whole population, frozen the day before the first wave began (as a
    consultant freezes a scorer before the raters start, so it cannot be tuned on their scores)."""
    from . import assist
    from .engagement import Engagement

    first = min(start for start, _ in WAVES.values())
    frozen = (pd.Timestamp(first, tz="UTC") - pd.Timedelta(days=1)).isoformat()
    (folder / assist.AUTOSCORES).unlink(missing_ok=True)  # an earlier generation's run is not this one's
    rows = assist.autoscore(Engagement.load(folder), "rules").assign(frozen_at=frozen)
    assist.write_autoscores_csv(rows, folder / assist.AUTOSCORES)


def generate(out_dir: str | Path = "data/samples") -> list[Path]:
    """Write all three sample engagements under ``out_dir``."""
    return [generate_client(spec, out_dir) for spec in CLIENTS]


if __name__ == "__main__":  # pragma: no cover - exercised by `make samples`
    for p in generate(sys.argv[1] if len(sys.argv) > 1 else "data/samples"):
        print(p)
