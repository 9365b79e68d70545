"""Vectorized helpers for large tables (a contact centre's population has millions of rows)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def isin(values: pd.Series, allowed) -> np.ndarray:
    """``values.isin(allowed)`` as a boolean array, fast on Arrow-backed strings.

    pandas' ``isin`` on Arrow strings turns ``allowed`` into Python objects one by one (5.5 s for a million
    ids here); Arrow's own ``is_in`` does the same in 0.4 s. Other dtypes use pandas.
    """
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
    # A fresh, writable array: Arrow may hand back a read-only view, which callers combine in place.
    return np.array(pc.is_in(arr, value_set=other).to_numpy(zero_copy_only=False), dtype=bool)
