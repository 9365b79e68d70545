"""One compiled pass over transcripts' bytes: what the rules scorer reads of each transcript.

:func:`qcikit.assist.read_agent` reads transcripts with Arrow's kernels: split into lines, a capturing RE2
regex on every line that opens with ``[``, a replacing regex for the agent's name, then numpy over every
line for the times and a join of the agent's lines. Each is a pass over all lines, and on a contact
centre's million transcripts those passes cost as much as the rules themselves. This module does the same
reading in a single pass per transcript, compiled by numba (an optional dependency, ``qcikit[scale]``):
the stamp regex and the agent-prefix regex are spelled out as the byte tests RE2 would make, with the same
leftmost-first choices, and the times, the silences and the agent's joined words are worked out on the way.
The answers are the Arrow path's, transcript for transcript (tests/test_assist.py compares both on the
samples, on planted oddities and on fuzzed transcripts); without numba the Arrow path runs.

The regexes, for reference (``\\s`` is RE2's ``[\\t\\n\\f\\r ]``, ``\\d`` is ``[0-9]``)::

    stamp:  ^\\[(\\d{4}-\\d{2}-\\d{2})?[ T]?(\\d{1,2}):(\\d{2})(?::(\\d{2}))?\\]\\s*(Customer|Agent)?
    prefix: ^\\[[^\\]]*\\]\\s*Agent\\s*\\([^)]*\\)(?:\\s*\\([^)]*\\))?\\s*:?\\s*
"""
from __future__ import annotations

import functools

import numpy as np

CUSTOMER_WORD = np.frombuffer(b"Customer", np.uint8)
AGENT_WORD = np.frombuffer(b"Agent", np.uint8)


@functools.lru_cache(maxsize=1)
def kernel():
    """The compiled reader, or None without numba (or where numba cannot compile it). Compiled, or loaded from
    numba's cache, here and once: the processes and threads that call it later find it ready."""
    try:
        from ._scan_kernel import read_agent
    except ImportError:
        return None
    try:
        import pyarrow as pa

        _read(read_agent, [pa.array(["[2026-01-01 00:00] Customer: -\n[00:01] Agent (A): -"])], 60.0, True)
    except Exception as exc:  # numba's own errors (no compiler for this platform, a cache it cannot read)
        import warnings

        warnings.warn(f"the compiled transcript scan could not be built ({type(exc).__name__}: {exc}); transcripts "
                      "are read by Arrow's kernels instead, with the same answers.", RuntimeWarning, stacklevel=2)
        return None
    return read_agent


def read_agent(chunks, gap: float, widths: bool = True):
    """Read transcripts, a list of Arrow string arrays (the chunks of a column: read where they lie, never
    joined into one): ``answered``, ``has_customer``, ``silent``, ``widest`` (numpy, one per transcript;
    None unless ``widths``) and the agent's joined lines (an Arrow LargeStringArray). None without numba."""
    run = kernel()
    return None if run is None else _read(run, chunks, gap, widths)


def _read(run, chunks, gap: float, widths: bool):
    import pyarrow as pa
    import pyarrow.compute as pc

    n = sum(len(c) for c in chunks)
    spans = []
    for chunk in chunks:
        if chunk.null_count:
            chunk = pc.fill_null(chunk, "")  # a null reads as an empty transcript
        # One array type per argument, whatever the chunk (numba compiles, and caches, a version per type): the
        # bytes read-only as Arrow holds them, the offsets a fresh int64 copy (eight bytes a transcript).
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
        offsets = np.array(offsets[chunk.offset:chunk.offset + len(chunk) + 1], dtype=np.int64)
        raw = chunk.buffers()[2]
        data = np.frombuffer(raw if raw is not None and len(raw) else bytes(8), dtype=np.uint8)
        data.flags.writeable = False  # a buffer Arrow made in memory is writable, one it read is not: one type
        spans.append((data, offsets))
    size = sum(int(o[-1] - o[0]) for _, o in spans)
    answered = np.full(n, np.nan)
    has_customer = np.zeros(n, dtype=bool)
    silent = np.zeros(n, dtype=bool)
    widest = np.zeros(n, dtype=np.int64)
    out = np.empty(max(size, 1), dtype=np.uint8)
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    first, written = 0, 0
    for data, offsets in spans:
        # A transcript's bytes as uint64 for the line-break search: from the buffer's start, eight at a time.
        words = np.frombuffer(data, dtype=np.uint64, count=len(data) // 8)
        words.flags.writeable = False
        written = run(data, words, offsets, CUSTOMER_WORD, AGENT_WORD, float(gap), bool(widths), answered,
                      has_customer, silent, widest, out, out_offsets, first, written)
        first += len(offsets) - 1
    agent = pa.LargeStringArray.from_buffers(n, pa.py_buffer(out_offsets), pa.py_buffer(out[:written]))
    return answered, has_customer, silent, widest if widths else None, agent
