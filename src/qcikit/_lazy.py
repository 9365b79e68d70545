"""Import heavy libraries on first use, so that ``qcikit --help`` and every command start quickly.

scipy.stats, phonenumbers, matplotlib, seaborn and ipywidgets cost seconds to import; most commands
need none of them before they read data, and some never do.
"""
from __future__ import annotations

import importlib
from types import ModuleType


class LazyModule(ModuleType):
    """A stand-in for a module, imported the first time one of its attributes is read."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_target"] = None

    def _load(self) -> ModuleType:
        if self.__dict__["_target"] is None:
            self.__dict__["_target"] = importlib.import_module(self.__name__)
        return self.__dict__["_target"]

    def __getattr__(self, attr: str):
        return getattr(self._load(), attr)


def lazy(name: str) -> ModuleType:
    """``stats = lazy("scipy.stats")``: the module, imported when first used."""
    return LazyModule(name)
