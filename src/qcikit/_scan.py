"""One compiled pass over transcripts' bytes: lines, stamps, speakers and the agent's own words.

:func:`qcikit.assist.read_lines` reads transcripts with Arrow's kernels: split into lines, a capturing RE2
regex on every line that opens with ``[``, a replacing regex for the agent's name. Each kernel is a pass
over all lines, and on a contact centre's million transcripts those passes are most of the rules scorer's
time. This module does the same reading in a single pass per transcript, compiled by numba (an optional
dependency, ``qcikit[scale]``): the stamp regex and the agent-prefix regex are spelled out as the byte
tests RE2 would make, with the same leftmost-first choices. The answers are the Arrow path's, line for line
(tests/test_assist.py compares both on the samples and on planted oddities); without numba the Arrow path
runs.

The regexes, for reference (``\\s`` is RE2's ``[\\t\\n\\f\\r ]``, ``\\d`` is ``[0-9]``)::

    stamp:  ^\\[(\\d{4}-\\d{2}-\\d{2})?[ T]?(\\d{1,2}):(\\d{2})(?::(\\d{2}))?\\]\\s*(Customer|Agent)?
    prefix: ^\\[[^\\]]*\\]\\s*Agent\\s*\\([^)]*\\)(?:\\s*\\([^)]*\\))?\\s*:?\\s*
"""
from __future__ import annotations

import functools

import numpy as np

@functools.lru_cache(maxsize=1)
def kernel():
    """The compiled scanner, or None without numba (or where numba cannot compile it). Compiled, or loaded from
    numba's cache, here and once: the threads that call it later find it ready."""
    try:
        from ._scan_kernel import scan
    except ImportError:
        return None
    try:
        one = np.frombuffer(b"[00:00] Agent (A): -", np.uint8)
        scan(one, np.array([0, len(one)], np.int64), np.zeros(0, np.int64), np.frombuffer(b"Customer", np.uint8),
             np.frombuffer(b"Agent", np.uint8))
    except Exception as exc:  # numba's own errors (no compiler for this platform, a cache it cannot read)
        import warnings

        warnings.warn(f"the compiled transcript scan could not be built ({type(exc).__name__}: {exc}); transcripts "
                      "are read by Arrow's kernels instead, with the same answers.", RuntimeWarning, stacklevel=2)
        return None
    return scan


def scan(arr):
    """Read a LargeStringArray of transcripts (no nulls): the per-line arrays of :class:`assist.Lines` and the
    agent's lines with their stamp and name removed (an Arrow LargeStringArray, and the transcript of each).
    None without numba."""
    import pyarrow as pa

    run = kernel()
    if run is None:
        return None
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + n + 1]
    raw = arr.buffers()[2]
    data = np.frombuffer(raw, dtype=np.uint8) if raw is not None else np.zeros(0, np.uint8)
    data = data[:offsets[-1]] if n else data[:0]
    # Line breaks are found by numpy's vectorized compare, faster than a byte loop that stops at each one.
    breaks = np.flatnonzero(data[offsets[0]:] == 10) + offsets[0] if n else np.zeros(0, np.int64)
    unit, stamped, clock_s, date_at, speaker, owner, agent_data, agent_offsets, agent_unit = run(
        data, offsets, breaks, np.frombuffer(b"Customer", np.uint8), np.frombuffer(b"Agent", np.uint8))
    agent = pa.LargeStringArray.from_buffers(len(agent_unit), pa.py_buffer(agent_offsets), pa.py_buffer(agent_data))
    return unit, stamped, clock_s, date_at, speaker, owner, agent, agent_unit, data


def dates(data, date_at):
    """The ten characters at each position of ``date_at`` (a date's place in ``data``), as Arrow strings."""
    import pyarrow as pa

    at = np.asarray(date_at, dtype=np.int64)
    picked = data[at[:, None] + np.arange(10)].reshape(-1) if len(at) else np.zeros(0, np.uint8)
    offsets = np.arange(len(at) + 1, dtype=np.int64) * 10
    return pa.LargeStringArray.from_buffers(len(at), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(picked)))
