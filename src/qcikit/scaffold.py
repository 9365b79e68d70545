"""``qcikit new``: a fresh engagement folder from the shipped templates."""
from __future__ import annotations

import json
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


def new_engagement(folder: str | Path, client: str, notebooks: bool = True) -> Path:
    """Create ``folder`` with engagement.yaml (every key commented), rubric.yaml,
    scenarios.yaml, answers.yaml, an interactions.csv header and — unless
    ``notebooks=False`` — the workspace notebooks in ``folder/notebooks/``.

    Refuses to touch a folder that already holds files, so nothing is overwritten.
    """
    folder = Path(folder)
    if not client.strip():
        raise QcikitError("--client is empty. Fix: pass the client's name, e.g. --client 'Northwind Outfitters'.")
    if folder.exists() and any(folder.iterdir()):
        raise QcikitError(f"{folder}: the folder already holds files; nothing was changed. "
                          "Fix: choose a new folder name, or move the files away first.")
    folder.mkdir(parents=True, exist_ok=True)
    # Text substitution, not a YAML round trip: the template's comments explain every key and must survive.
    # json.dumps gives a double-quoted string, which is valid YAML whatever the client's name holds.
    config = template_path("engagement.yaml").read_text(encoding="utf-8")
    config = config.replace("{client}", json.dumps(client.strip(), ensure_ascii=False), 1)
    config = config.replace("{slug}", json.dumps(slugify(client)), 1)
    yaml.safe_load(config)  # the template stays valid YAML (a broken package fails here, not in validate)
    atomic_write_text(folder / "engagement.yaml", config)
    for name in ("rubric.yaml", "scenarios.yaml", "answers.yaml"):
        atomic_write_text(folder / name, template_path(name).read_text(encoding="utf-8"))
    header = REQUIRED["interactions.csv"] + ["channel_detail", "effort"]
    atomic_write_text(folder / "interactions.csv", ",".join(header) + "\n")
    if notebooks:
        from .workspace import write_notebooks

        write_notebooks(folder)
    return folder
