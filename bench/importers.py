"""How fast `qcikit import` reads a large helpdesk export, and in how much memory.

    python bench/importers.py            # 100,000 Zendesk tickets (about 500,000 comments)
    python bench/importers.py 20000      # any size

A seeded generator writes a Zendesk account export (NDJSON, one ticket per line, comments embedded, as
the export writes them) with users.json and groups.json to a temporary folder, never committed: HTML and
plain bodies, Gmail and Outlook quoted replies, internal notes, trigger comments, merged tickets. Each step
runs in its own process and prints wall time and peak RSS:

- floor: every line parsed with orjson (the least any importer must do);
- what an analyst writes instead: ``pandas.read_json(lines=True)`` then ``json_normalize`` of the comments
  (no quote stripping, no HTML, no time zones: the start of the days of pandas work);
- ``qcikit import`` into an empty engagement, and again (idempotent: nothing changes).

Peak RSS is the importing process's; "worker MB" the largest worker's (each holds the users lookup, forked).
Then a profile of the import, in one process, on a tenth of the tickets says what dominates. Targets (issue): under 5
minutes and under 1 GB peak for 100,000 tickets on this 2-core machine.
"""
from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

CUSTOMER = ["Why was I charged twice for order {o}?", "My {p} stopped working this morning.",
            "Where is my order {o}? It was due yesterday.", "Can I change the address on order {o}?",
            "I'd like to return the {p}, it's too small."]
AGENT_HTML = ("<p>Hi {n},</p><p>Thanks for waiting &amp; sorry about the {p} &#8212; I've checked order {o}.</p>"
              "<ol><li>Check the refund on your next statement.</li><li>Keep the notice we e-mailed.</li></ol>"
              "<p>Happy trails!<br>Your Northwind crew</p>")
REPLIES = ["Thanks, that worked!\n\nSent from my iPhone\n\nOn Mon, Jul 6, 2026 at 10:00 AM Northwind <s@nw.example> "
           "wrote:\n> Hi {n},\n> Thanks for waiting.",
           "Still not fixed.\n\nFrom: Northwind <s@nw.example>\nSent: Monday, July 6, 2026 10:00 AM\nTo: {n}\n"
           "Subject: RE: order {o}\n\nHi {n}, thanks for waiting.",
           "<div>Danke!</div><div class='gmail_quote'>Am Mo., 6. Juli 2026 um 10:00 Uhr schrieb Northwind:"
           "<blockquote>Hi {n}</blockquote></div>",
           "Great, thank you.", "Lovely – merci beaucoup!"]
PRODUCTS = ["tent", "boots", "backpack", "stove", "jacket"]
NAMES = ["Zoë", "Bram", "Aoife", "Émile", "Lucía", "Jürgen", "Sam", "Noor"]


def make(folder: Path, n: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    users = [{"id": 1000 + i, "name": f"Agent {i}", "role": "agent"} for i in range(50)]
    n_customers = max(1, n // 2)
    users += [{"id": 100000 + i, "name": f"{NAMES[i % len(NAMES)]} Customer{i}", "role": "end-user"}
              for i in range(n_customers)]
    (folder / "users.json").write_text(json.dumps({"users": users}))
    (folder / "groups.json").write_text(json.dumps({"groups": [{"id": 360000 + g, "name": f"Team {g}"} for g in range(8)]}))
    with (folder / "tickets.json").open("w", encoding="utf-8") as out:
        for t in range(n):
            customer, agent = 100000 + rng.randrange(n_customers), 1000 + rng.randrange(50)
            name, product, order = NAMES[customer % len(NAMES)], rng.choice(PRODUCTS), rng.randrange(10000, 99999)
            fill = {"n": name, "p": product, "o": order}
            start = 1_782_900_000 + t * 60
            first = rng.choice(CUSTOMER).format(**fill)
            comments = [{"id": t * 10, "author_id": customer, "public": True, "body": first, "plain_body": first,
                         "created_at": _iso(start), "via": {"channel": "email"}}]
            clock = start
            for k in range(1, 1 + rng.choice((3, 4, 4, 5))):
                clock += rng.randrange(300, 20000)
                roll = rng.random()
                if roll < 0.1:
                    c = {"author_id": agent, "public": False, "body": "Checked the order log."}
                elif roll < 0.15:
                    c = {"author_id": -1, "public": True, "body": "Your request was updated.", "via": {"channel": "rule"}}
                elif k % 2:
                    c = {"author_id": agent, "public": True, "html_body": AGENT_HTML.format(**fill)}
                else:
                    reply = rng.choice(REPLIES).format(**fill)
                    c = {"author_id": customer, "public": True,
                         **({"html_body": reply} if reply.startswith("<") else {"body": reply})}
                comments.append({"id": t * 10 + k, "created_at": _iso(clock), "via": {"channel": "email"}, **c})
            ticket = {"id": t + 1, "created_at": _iso(start), "subject": f"Order {order}", "description": first,
                      "status": "solved", "requester_id": customer, "assignee_id": agent,
                      "group_id": 360000 + rng.randrange(8), "via": {"channel": rng.choice(["email", "web", "email"])},
                      "tags": ["closed_by_merge"] if rng.random() < 0.01 else [], "comments": comments}
            out.write(json.dumps(ticket, ensure_ascii=False) + "\n")
    return folder


def _iso(seconds: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def engagement(folder: Path) -> Path:
    from qcikit.scaffold import new_engagement

    eng = new_engagement(folder, "Bench Outfitters", notebooks=False)
    text = (eng / "engagement.yaml").read_text().replace("waves: [wave-1]", "waves: [2026-Q3]")
    (eng / "engagement.yaml").write_text(text + "\ntimezone: Europe/London\n")
    return eng


def measure(code: str) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS (MB) of the process and of its largest worker, and stdout of ``python -c code``."""
    script = ("import resource, time, sys\nt = time.perf_counter()\n"
              f"try:\n    exec({code!r})\nexcept SystemExit:\n    pass\n"
              "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,"
              " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    lines = out.strip().splitlines()
    seconds, mb, child = lines[-1].split()
    return float(seconds), float(mb), float(child), "\n".join(lines[:-1])


def profile(export: Path, eng: Path, n: int) -> str:
    """The functions that take the import's time, by own time, on the first ``n`` tickets, in one process
    (with workers the profile would show only the main process waiting for them)."""
    code = (f"import cProfile, pstats, io, itertools, pathlib\n"
            f"src = pathlib.Path({str(export)!r})\n"
            f"part = src.parent / 'part'; part.mkdir(exist_ok=True)\n"
            f"import shutil; shutil.copy(src / 'users.json', part); shutil.copy(src / 'groups.json', part)\n"
            f"with open(src / 'tickets.json') as f, open(part / 'tickets.json', 'w') as o:\n"
            f"    o.writelines(itertools.islice(f, {n}))\n"
            f"from qcikit.importers import import_export\n"
            f"pr = cProfile.Profile(); pr.enable()\n"
            f"import_export({str(eng)!r}, 'zendesk', '2026-Q3', [part], workers=1)\n"
            f"pr.disable(); s = io.StringIO(); pstats.Stats(pr, stream=s).sort_stats('tottime').print_stats(12)\n"
            f"print(s.getvalue())")
    return measure(code)[3]


def main(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="qcikit-bench-import-") as tmp:
        export = make(Path(tmp) / "zendesk", n)
        size = (export / "tickets.json").stat().st_size / 1e6
        comments = sum(len(json.loads(line)["comments"]) for line in (export / "tickets.json").open())
        print(f"Zendesk NDJSON: {n:,} tickets, {comments:,} comments, {size:,.0f} MB")
        steps = {
            "floor: orjson, every line": f"import orjson\nfor line in open({str(export / 'tickets.json')!r}, 'rb'): "
                                         "orjson.loads(line)",
            "instead: pandas.read_json + json_normalize": (
                f"import pandas as pd\ndf = pd.read_json({str(export / 'tickets.json')!r}, lines=True)\n"
                "c = pd.json_normalize(df.to_dict('records'), record_path='comments', meta=['id'], meta_prefix='t_')"),
        }
        eng = engagement(Path(tmp) / "eng")
        steps["qcikit import"] = (f"from qcikit.cli import main; main(['import', {str(eng)!r}, '--from', 'zendesk', "
                                  f"'--wave', '2026-Q3', {str(export)!r}])")
        steps["qcikit import, again (nothing changes)"] = steps["qcikit import"]
        rows = []
        for label, code in steps.items():
            seconds, mb, child, out = measure(code)
            rows.append((label, seconds, mb, child))
            if out:
                print("   ", out.replace("\n", "\n    "))
        floor = rows[0][1]
        print(f"\n{'step':<44}{'seconds':>9}{'tickets/s':>11}{'peak MB':>9}{'worker MB':>11}{'× floor':>9}")
        for label, seconds, mb, child in rows:
            print(f"{label:<44}{seconds:>9.1f}{n / seconds:>11,.0f}{mb:>9.0f}{child:>11.0f}{seconds / floor:>9.1f}")
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "importers.json").write_text(json.dumps(
            {"tickets": n, "comments": comments, "mb": size,
             "steps": [{"step": s, "seconds": round(t, 2), "peak_mb": round(m), "worker_peak_mb": round(c)}
                       for s, t, m, c in rows]}, indent=1))
        print(f"\nWhat dominates (own time, first {max(1, n // 10):,} tickets):")
        print(profile(export, engagement(Path(tmp) / "eng-profile"), max(1, n // 10)))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
