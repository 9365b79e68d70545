"""``import.yaml``: how an export's channels and groups become the engagement's touchpoints and teams."""
from __future__ import annotations

from pathlib import Path

from .._io import read_yaml
from .._schema import SchemaError, record, spec, validate
from ..errors import QcikitError
from ._base import CHANNEL_ALIASES, _key

UNASSIGNED = "Unassigned"


def _text_keys(data):
    # YAML reads `360001234: Billing` with an integer key; ids are text everywhere in the kit.
    if isinstance(data, dict):
        data = {**data, **{key: {str(k): str(v) for k, v in data[key].items()}
                           for key in ("touchpoints", "teams") if isinstance(data.get(key), dict)}}
    return data


@record
class ImportSettings:
    """The contents of ``import.yaml`` (every key optional)."""

    # A source's channel name (Zendesk via.channel, Intercom source.type, Freshdesk source code, a messages
    # file's channel) -> a level of the touchpoint facet.
    touchpoints: dict[str, str] = spec(factory=dict)
    # A source's group or team (id or name) -> the team name coaching pages use.
    teams: dict[str, str] = spec(factory=dict)
    # The team of conversations without a group.
    default_team: str = UNASSIGNED

    __before__ = _text_keys


def load_settings(folder: Path) -> ImportSettings:
    path = folder / "import.yaml"
    if not path.is_file():
        return ImportSettings()
    data = read_yaml(path)
    try:
        return validate(ImportSettings, data)
    except SchemaError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "the file"
        raise QcikitError(f"import.yaml, {where}: {err['msg']}. Fix: keep to the keys touchpoints "
                          "({channel: level}), teams ({group id or name: team}) and default_team (docs/formats.md)."
                          ) from None


class Mapper:
    """Channel -> touchpoint level and group -> team, with the engagement's levels known up front."""

    def __init__(self, settings: ImportSettings, levels: list[str], fallback: str | None = None):
        self.settings = settings
        self.levels = list(levels)
        self.fallback = fallback
        if fallback is not None and fallback not in self.levels:
            raise QcikitError(f"--touchpoint '{fallback}' is not a level of the touchpoint facet. "
                              f"Fix: use one of {', '.join(self.levels)}.")
        for channel, level in settings.touchpoints.items():
            if level not in self.levels:
                raise QcikitError(f"import.yaml, touchpoints.{channel}: '{level}' is not a level of the touchpoint "
                                  f"facet in scenarios.yaml. Fix: map it to one of {', '.join(self.levels)}.")
        by_key = {_key(level): level for level in self.levels}
        self._default: dict[str, str] = {}
        for canonical, aliases in CHANNEL_ALIASES.items():
            level = by_key.get(_key(canonical)) or next(
                (by_key[_key(a)] for a in aliases if _key(a) in by_key), None)
            if level is not None:
                for alias in (canonical, *aliases):
                    self._default.setdefault(_key(alias), level)
        for level in self.levels:
            self._default[_key(level)] = level
        self._cache: dict[str, str] = {}

    def touchpoint(self, channel: str, where: str) -> str:
        hit = self._cache.get(channel)
        if hit is not None:
            return hit
        if channel in self.settings.touchpoints:
            level = self.settings.touchpoints[channel]
        elif not channel and self.fallback:
            level = self.fallback
        else:
            level = self._default.get(_key(channel)) if channel else None
            if level is None and self.fallback:
                level = self.fallback
        if level is None:
            shown = f"channel '{channel}'" if channel else "no channel"
            raise QcikitError(f"{where}: {shown} does not map to a touchpoint of this engagement. Fix: add "
                              f"`touchpoints: {{{channel or 'CHANNEL'}: LEVEL}}` to import.yaml with LEVEL one of "
                              f"{', '.join(self.levels)}" + ("" if channel else ", or pass --touchpoint LEVEL") + ".")
        self._cache[channel] = level
        return level

    def team(self, *names: str) -> str:
        """The team of the first of ``names`` (group id, then group name) that import.yaml maps, else the
        group's own name, else ``default_team``."""
        for name in names:
            if name and name in self.settings.teams:
                return self.settings.teams[name]
        for name in reversed(names):
            if name:
                return name
        return self.settings.default_team
