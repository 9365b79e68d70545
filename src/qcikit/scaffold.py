"""``qcikit new``: a fresh engagement folder from the shipped templates."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from ._io import atomic_write_text
from .engagement import REQUIRED
from .errors import QcikitError
from .templates import path as template_path


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "client"


def new_engagement(folder: str | Path, client: str) -> Path:
    """Create ``folder`` with engagement.yaml, rubric.yaml, scenarios.yaml, answers.yaml
    and an interactions.csv header, ready to be filled in.

    Refuses to touch a folder that already holds files, so nothing is overwritten.
    """
    folder = Path(folder)
    if not client.strip():
        raise QcikitError("--client is empty. Fix: pass the client's name, e.g. --client 'Northwind Outfitters'.")
    if folder.exists() and any(folder.iterdir()):
        raise QcikitError(f"{folder}: the folder already holds files; nothing was changed. "
                          "Fix: choose a new folder name, or move the files away first.")
    folder.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load(template_path("engagement.yaml").read_text(encoding="utf-8"))
    config["client"] = client.strip()
    config["slug"] = slugify(client)
    atomic_write_text(folder / "engagement.yaml", yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    for name in ("rubric.yaml", "scenarios.yaml", "answers.yaml"):
        atomic_write_text(folder / name, template_path(name).read_text(encoding="utf-8"))
    header = REQUIRED["interactions.csv"] + ["channel_detail", "effort"]
    atomic_write_text(folder / "interactions.csv", ",".join(header) + "\n")
    return folder
