"""Vectorized helpers for large tables (a contact centre's population has millions of rows)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def isin(values: pd.Series, allowed) -> np.ndarray:
    """``values.isin(allowed)`` as a boolean array, fast on Arrow-backed strings.

    pandas' ``isin`` on Arrow strings turns ``allowed`` into Python objects one by one (5.5 s for a million
    ids here); Arrow's own ``is_in`` does the same in 0.4 s. Other dtypes use pandas.
    """
    if isinstance(getattr(allowed, "dtype", None), pd.CategoricalDtype):  # the categories in use, each once
        allowed = pd.Categorical(allowed)
        used = np.bincount(allowed.codes[allowed.codes >= 0], minlength=len(allowed.categories)) > 0
        allowed = pd.Series(allowed.categories[used])
    if isinstance(values.dtype, pd.CategoricalDtype):
        return per_category(values, lambda text: isin(text, allowed))
    arr = getattr(values.array, "_pa_array", None)
    if arr is None:
        return np.array(values.isin(allowed), dtype=bool)  # a copy: pandas' copy-on-write view is read-only
    import pyarrow as pa
    import pyarrow.compute as pc

    other = getattr(getattr(allowed, "array", None), "_pa_array", None)
    if other is None:
        items = list(allowed) if not isinstance(allowed, (list, tuple)) else allowed
        other = pa.array([str(x) for x in items if x is not None and x == x], type=pa.large_string())
    else:
        other = other.combine_chunks() if isinstance(other, pa.ChunkedArray) else other
    if not pa.types.is_large_string(other.type) and pa.types.is_large_string(arr.type):
        other = other.cast(pa.large_string())
    elif pa.types.is_large_string(other.type) and not pa.types.is_large_string(arr.type):
        other = other.cast(arr.type)
    if len(other) == len(arr) and arr.null_count == 0:
        # A run's ids checked against the population it scored: the same ids in the same order, told by one
        # comparison of the buffers where hashing a million ids took 0.4 s.
        whole = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        if whole.equals(other):
            return np.ones(len(arr), dtype=bool)
    if len(other) > max(8 * len(values), 100_000):
        # A few hundred ids against a population of millions: hashing the million every time costs 0.2 s. The
        # population's ids that are among the values are found instead (a hash of the few), and the values then
        # looked up in those: the same answer, nulls included.
        other = pc.filter(other, pc.is_in(other, value_set=pc.unique(arr)))
    # A fresh, writable array: Arrow may hand back a read-only view, which callers combine in place.
    return np.array(pc.is_in(arr, value_set=other).to_numpy(zero_copy_only=False), dtype=bool)


# What pandas.to_numeric reads as a number in a text cell: decimals, exponents, signs, infinities.
_NUMBER = r"^\s*[-+]?((\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[iI][nN][fF]([iI][nN][iI][tT][yY])?)\s*$"


def to_number(values: pd.Series) -> pd.Series:
    """``pd.to_numeric(values, errors="coerce")`` as floats, fast on Arrow-backed strings.

    pandas parses Arrow strings one Python object at a time (6 ms for 13,000 cells, 7 s for fifteen
    million); Arrow checks the text with one regex pass and casts the numbers in C. Other dtypes use pandas.
    """
    arr = getattr(values.array, "_pa_array", None)
    if arr is None or not (str(arr.type) in ("string", "large_string")):
        return pd.to_numeric(values, errors="coerce").astype(float)
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    text = pc.utf8_trim_whitespace(arr)
    number = pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
    out = pc.cast(pc.if_else(number, text, pa.scalar(None, text.type)), pa.float64())
    return pd.Series(out.to_numpy(zero_copy_only=False), index=values.index, name=values.name, dtype=float)


def lookup(values: pd.Series, table: pd.Series) -> np.ndarray:
    """``values.map(table)`` as an array, each distinct value looked up once: a score file repeats a few
    element ids over thousands of rows (millions for a machine run), and pandas maps Arrow strings row by row."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # each category looked up once, then one gather by code
        found = table.reindex(pd.Index(values.cat.categories.astype(str))).to_numpy()
        found = found.astype(float) if found.dtype.kind in "iub" else found
        missing = np.array([np.nan], dtype=found.dtype if found.dtype.kind in "fc" else object)
        return np.concatenate([found, missing])[values.cat.codes.to_numpy()]
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    found = table.reindex(pd.Index(distinct)).to_numpy()
    out = found[np.where(codes < 0, 0, codes)] if len(found) else np.full(len(values), np.nan, dtype=object)
    if (codes < 0).any():
        out = out.astype(object) if out.dtype.kind not in "fc" else out.copy()
        out[codes < 0] = np.nan
    return out


def in_wave(frame: pd.DataFrame, wave: str) -> np.ndarray:
    """Which rows of ``frame`` belong to ``wave``, as a boolean array (a missing wave belongs to none): the mask
    :func:`filter_rows` takes the population's rows of a wave by."""
    return (frame["wave"].astype(str) == wave).fillna(False).to_numpy(dtype=bool)


def filter_rows(frame: pd.DataFrame, mask, columns=None) -> pd.DataFrame:
    """``frame.loc[mask, columns]`` with each column filtered by the boolean ``mask`` on its own. pandas takes a
    frame's rows by position, which on a column of a million transcripts held in chunks first joins the chunks:
    a copy of the whole column (1.4 GB, half a second) to keep a few rows. A boolean filter reads the kept rows
    only, chunk by chunk."""
    mask = np.asarray(mask, dtype=bool)
    columns = list(frame.columns if columns is None else columns)
    kept = frame.index[mask]
    return pd.DataFrame({c: frame[c][mask].array for c in columns}, index=kept, columns=columns)


def from_arrow(table) -> pd.DataFrame:
    """An Arrow table as a DataFrame whose text columns stay Arrow strings (pandas' ``str`` dtype): no Python
    object per cell, which is what keeps a million transcripts in bounded memory. The table is released as
    it converts."""
    import pyarrow as pa

    text = pd.StringDtype("pyarrow", na_value=np.nan)
    return table.to_pandas(types_mapper=lambda t: text if pa.types.is_large_string(t) or pa.types.is_string(t) else None,
                           self_destruct=True)


def per_category(values: pd.Series, decide) -> np.ndarray:
    """``decide`` (a text Series -> booleans) for every row; for a categorical, once per category and then
    looked up by code (a missing value is False): fifteen million rows of a machine run, a few decisions."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return np.asarray(decide(values), dtype=bool)
    # The categories as pandas' own text (Arrow-backed): a million ids made Python objects took 0.2 s.
    per = np.asarray(decide(pd.Series(values.cat.categories.astype(str))), dtype=bool)
    # A missing value's code is -1, which takes the appended False: one gather over the rows.
    return np.append(per, False)[values.cat.codes.to_numpy()]


def distinct(values: pd.Series, mask=None) -> int:
    """``values[mask].nunique()``: for a categorical, counted on its codes, each category marked once it is seen
    (a machine run's fifteen million rows: 0.08 s for a million ids against pandas' 0.14 s, and 0.12 s
    against 0.30 s for the elements under a mask).

    >>> distinct(pd.Series(["a", "b", "a", None], dtype="category"), np.array([True, False, True, True]))
    1
    """
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return int((values if mask is None else values[mask]).nunique())
    codes = values.cat.codes.to_numpy()
    seen = np.zeros(len(values.cat.categories) + 1, dtype=bool)  # the last slot takes code -1 (missing): not counted
    seen[codes if mask is None else codes[mask]] = True
    return int(np.count_nonzero(seen[:-1]))


def arrow_categories(categories: pd.Index, large: bool = False):
    """A categorical's categories as one Arrow string array (``large``: 64-bit offsets). Arrow-backed ones (a
    run's million ids) are taken as Arrow holds them, never made a million Python strings first (0.1 s each
    time); others go through ``str``."""
    import pyarrow as pa

    kind = pa.large_string() if large else pa.string()
    if isinstance(categories.dtype, pd.StringDtype) and categories.dtype.storage == "pyarrow":
        out = pa.array(categories.array)
        # One array: handed the chunks as they were read, Arrow's dictionary builders convert value by value.
        return (out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out).cast(kind)
    return pa.array(np.asarray(categories.astype(str), dtype=object), type=kind)


def decode(values: pd.Series) -> pd.Series:
    """A categorical as text (pandas' ``str`` dtype, Arrow-backed), each row taken from its category in Arrow:
    fifteen million rows of a machine run become text without a Python string per row. Other Series as given."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values
    import pyarrow as pa

    codes = values.cat.codes.to_numpy()
    categories = arrow_categories(values.cat.categories, large=True)
    taken = categories.take(pa.array(codes, mask=codes < 0))
    return pd.Series(pd.array(taken, dtype=pd.StringDtype("pyarrow", na_value=np.nan)), index=values.index, name=values.name)


def group_codes(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which distinct combination of ``columns`` each row holds, numbered in order of first appearance (as
    ``pd.factorize`` of the rows' tuples numbers them), and the position of each combination's first row. A
    missing value is a value of its own.

    One factorize per column and one of the combined integer codes: a MultiIndex or a concatenated string
    key per row costs several times more on the tens of thousands of rows a score file holds.

    >>> codes, first = group_codes(pd.DataFrame({"a": ["x", "y", "x"], "b": [1, 2, 1]}), ["a", "b"])
    >>> codes.tolist(), first.tolist()
    ([0, 1, 0], [0, 1])
    """
    key = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        code, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        # Re-numbered after each column, so the combined code stays below the number of rows.
        key, _ = pd.factorize(key * (len(uniques) + 1) + code)
    key, _ = pd.factorize(key)
    first = np.full(int(key.max()) + 1 if len(key) else 0, len(key), dtype=np.int64)
    np.minimum.at(first, key, np.arange(len(key)))
    return key.astype(np.int64), first
