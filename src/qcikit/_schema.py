"""Typed records for the YAML files (rubric.yaml, engagement.yaml), checked without pydantic when they are sound.

Every command reads engagement.yaml and rubric.yaml first.  pydantic's import and the build of its models
cost about as much as the rest of the package's start together (issue 19: a command's start within 1.2×
``import pandas``), and a sound file, the common case, needs none of its machinery.

So the records are plain dataclasses, and :func:`validate` checks a mapping in two steps:

1. **Here, strictly.**  A value that is exactly of its declared type (a ``str`` for ``str``, an ``int`` or
   ``float`` for ``float``, a ``bool`` for ``bool``, a ``list``/``dict`` of such) and within its constraints
   is taken as it is.  Anything in doubt (a wrong type, ``"0.5"`` for a number, surrounding whitespace to
   strip, an unknown key, a broken constraint or check) stops this step.
2. **pydantic, from the same declarations**, only for what step 1 doubted.  Its models are built from these
   dataclasses on first need (:func:`pydantic_model`), so its coercions and its messages, which the tests and
   the bad-input corpus pin, are exactly those of a hand-written pydantic model.  Its result is turned back
   into the dataclasses; its errors are raised as :class:`SchemaError`.

Step 1 only accepts what step 2 would accept with the same result (``tests/test_schema.py`` checks this on
thousands of mutated files), so which step decided never shows.

A record declares per field pydantic's constraint names (``gt``, ``ge``, ``lt``, ``le``, ``min_length``,
``pattern``) with :func:`spec`, and per class: ``__extra__`` (``"forbid"`` or ``"allow"``), ``__strip__``
(strip whitespace from strings), ``__checks__`` (field name → function of the value, raising ``ValueError``),
``__after__`` (function of the record) and ``__before__`` (function of the raw value).
"""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import MISSING, fields
from functools import lru_cache
from typing import Any, Literal


class SchemaError(Exception):
    """A mapping that does not fit its record: ``errors()`` as pydantic gives them (``loc``, ``type``, ``msg``)."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc'])) or 'the file'}: {e['msg']}" for e in errors))
        self._errors = errors

    def errors(self) -> list[dict[str, Any]]:
        return self._errors


class _Doubt(Exception):
    """Step 1 cannot decide: pydantic will."""


def spec(default: Any = MISSING, *, factory: Any = MISSING, **constraints: Any) -> Any:
    """A dataclass field with a default (or a ``factory``) and pydantic's constraints (``gt=0``, ``pattern=…``)."""
    if isinstance(default, (list, dict)):
        raise TypeError("a list or dict default is shared between records: pass factory=list or factory=dict")
    return dataclasses.field(default=default, default_factory=factory, metadata=constraints)


def record(cls: type) -> type:
    """Make ``cls`` a keyword-only dataclass record (see the module docstring for its class attributes)."""
    cls = dataclasses.dataclass(kw_only=True)(cls)
    cls.__extra__ = getattr(cls, "__extra__", "forbid")
    cls.__strip__ = getattr(cls, "__strip__", False)
    return cls


def validate(cls: type, data: Any, *, fast: bool = True) -> Any:
    """``data`` as a ``cls`` record, or :class:`SchemaError` with every problem (pydantic's wording).

    ``fast=False`` skips step 1 (for the tests that compare both steps).
    """
    if fast:
        try:
            return _strict(cls, data)
        except _Doubt:
            pass
    from pydantic import ValidationError

    try:
        model = pydantic_model(cls).model_validate(data)
    except ValidationError as exc:
        raise SchemaError(exc.errors()) from None
    return _from_model(cls, model)


def as_dict(rec: Any) -> dict[str, Any]:
    """A record as a plain mapping (nested records too), as pydantic's ``model_dump`` gives it."""
    return dataclasses.asdict(rec)


# -- step 1 ------------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _strict(cls: type, data: Any) -> Any:
    return _checker(cls, False)(data)


def _doubt(*_: Any) -> Any:
    raise _Doubt


@lru_cache(maxsize=None)
def _checker(tp: Any, strip: bool) -> Any:
    """The strict check of one declared type, as a function of the value (built once per type: a rubric's
    hundred rules are then checked without looking at their declarations again)."""
    if dataclasses.is_dataclass(tp):
        return _record_checker(tp)
    if tp is str:
        if strip:
            return lambda v: v if type(v) is str and v == v.strip() else _doubt()
        return lambda v: v if type(v) is str else _doubt()
    if tp is float:
        return lambda v: v if type(v) is float else float(v) if type(v) is int and abs(v) < 2**53 else _doubt()
    if tp is int or tp is bool:
        return lambda v: v if type(v) is tp else _doubt()
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return lambda v: v if type(v) is str and v in args else _doubt()
    if origin is list:
        item = _checker(args[0], strip)
        return lambda v: [item(x) for x in v] if type(v) is list else _doubt()
    if origin is dict:
        key, value = _checker(args[0], strip), _checker(args[1], strip)
        return lambda v: {key(k): value(x) for k, x in v.items()} if type(v) is dict else _doubt()
    if origin is typing.Union or origin is types.UnionType:
        arms = [_checker(arm, strip) for arm in args if arm is not type(None)]
        optional = type(None) in args

        def union(v: Any) -> Any:
            if v is None and optional:
                return None
            # Only a value exactly one arm takes is decided here: then pydantic's smart mode picks that arm too.
            taken = []
            for arm in arms:
                try:
                    taken.append(arm(v))
                except _Doubt:
                    pass
            return taken[0] if len(taken) == 1 else _doubt()
        return union
    raise TypeError(f"no strict check for {tp!r}")  # a declaration this module does not know: a bug, not input


def _record_checker(cls: type) -> Any:
    hints, checks = _hints(cls), cls.__dict__.get("__checks__", {})
    plan = [(f.name, f.default is MISSING and f.default_factory is MISSING, _checker(hints[f.name], cls.__strip__),
             f.metadata, checks.get(f.name)) for f in fields(cls)]
    names = {f.name for f in fields(cls)}
    before, after, forbid = getattr(cls, "__before__", None), getattr(cls, "__after__", None), cls.__extra__ == "forbid"

    def check(data: Any) -> Any:
        if before is not None:
            data = before(data)
        if type(data) is not dict:
            raise _Doubt
        values = {}
        for name, required, value_of, constraints, field_check in plan:
            if name not in data:
                if required:
                    raise _Doubt
                continue
            value = value_of(data[name])
            if constraints:
                _constrain(value, constraints)
            if field_check is not None:
                try:
                    value = field_check(value)
                except ValueError:
                    raise _Doubt from None
            values[name] = value
        extra = [k for k in data if k not in names] if len(values) < len(data) else ()
        if extra and (forbid or any(type(k) is not str for k in extra)):
            raise _Doubt
        rec = cls(**values)
        # pydantic keeps extra keys as attributes: so do the records (an engagement.yaml may carry notes).
        rec.__dict__.update({k: data[k] for k in extra})
        if after is not None:
            try:
                after(rec)
            except ValueError:
                raise _Doubt from None
        return rec
    return check


def _constrain(v: Any, c: dict[str, Any]) -> None:
    if v is None or not c:
        return
    # A comparison with NaN is False, as in pydantic: NaN fails every bound.
    if ("gt" in c and not v > c["gt"]) or ("ge" in c and not v >= c["ge"]) \
            or ("lt" in c and not v < c["lt"]) or ("le" in c and not v <= c["le"]):
        raise _Doubt
    if "min_length" in c and len(v) < c["min_length"]:
        raise _Doubt
    # ASCII: pydantic's (Rust) \d is any Unicode digit; accepting only what both read alike is enough here.
    if "pattern" in c and not re.fullmatch(c["pattern"], v, re.ASCII):
        raise _Doubt


# -- step 2 ------------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def pydantic_model(cls: type) -> Any:
    """The pydantic model of a record, with the same fields, defaults, constraints and checks."""
    from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

    def translate(tp: Any) -> Any:
        if dataclasses.is_dataclass(tp):
            return pydantic_model(tp)
        args = typing.get_args(tp)
        if not args or typing.get_origin(tp) is Literal:
            return tp
        new = tuple(translate(a) for a in args)
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            return typing.Union[new]
        return typing.get_origin(tp)[new]

    defs: dict[str, Any] = {}
    for f in fields(cls):
        tp = translate(_hints(cls)[f.name])
        if f.default is not MISSING:
            defs[f.name] = (tp, Field(f.default, **f.metadata))
        elif f.default_factory is not MISSING:
            factory = f.default_factory
            factory = pydantic_model(factory) if dataclasses.is_dataclass(factory) else factory
            defs[f.name] = (tp, Field(default_factory=factory, **f.metadata))
        else:
            defs[f.name] = (tp, Field(**f.metadata))
    checks = {f"_check_{name}": field_validator(name)(_on_value(check))
              for name, check in cls.__dict__.get("__checks__", {}).items()}
    if getattr(cls, "__after__", None) is not None:
        checks["_after"] = model_validator(mode="after")(_on_model(cls.__after__))
    if getattr(cls, "__before__", None) is not None:
        checks["_before"] = model_validator(mode="before")(_on_value(cls.__before__))
    base = type("_Base", (BaseModel,), {"model_config": ConfigDict(extra=cls.__extra__,
                                                                      str_strip_whitespace=cls.__strip__)})
    return create_model(cls.__name__, __base__=base, __validators__=checks, __module__=cls.__module__, **defs)


def _on_value(fn: Any) -> Any:
    def check(cls: type, value: Any) -> Any:
        return fn(value)
    return classmethod(check)


def _on_model(fn: Any) -> Any:
    def check(self: Any) -> Any:
        fn(self)
        return self
    return check


def _from_model(cls: type, model: Any) -> Any:
    hints = _hints(cls)
    rec = cls(**{f.name: _plain(hints[f.name], getattr(model, f.name)) for f in fields(cls)})
    rec.__dict__.update(model.model_extra or {})
    return rec


def _plain(tp: Any, v: Any) -> Any:
    """A value of a validated pydantic model as the record's field holds it (models become records)."""
    if v is None:
        return None
    if dataclasses.is_dataclass(tp):
        return _from_model(tp, v)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return [_plain(args[0], x) for x in v]
    if origin is dict:
        return {k: _plain(args[1], x) for k, x in v.items()}
    if origin is typing.Union or origin is types.UnionType:
        for arm in args:
            if dataclasses.is_dataclass(arm) and type(v).__name__ == arm.__name__:
                return _from_model(arm, v)
    return v
