"""The loop of :mod:`qcikit._dfa` (numba). Module level, so numba's cache keeps the machine code.

A DFA reads a byte per table look-up, and each look-up waits for the one before: one text at a time, the
loop runs at the memory's latency. Four texts read side by side keep four look-ups in flight, which on the
starter rubric's set is 2.5 times faster than one. The table is flat and its entries premultiplied (a
state's row starts at ``state * n_classes``), shifted left by one bit: the low bit says that patterns match
on that transition, and only then is the mask read.
"""
import numpy as np

from ._kernels import borrowed, inline, jit


@inline
def _next(done, cursor):
    """The first text from ``cursor`` on that is not done (len(done) when none)."""
    n = len(done)
    while cursor < n and done[cursor]:
        cursor += 1
    return cursor


@inline
def _take(offsets, done, cursor, start):
    """The next text not done from ``cursor`` on, for a stream: (text, first byte, end, state, mask, cursor
    after it)."""
    i = _next(done, cursor)
    return i, offsets[i], offsets[i + 1], start, np.uint64(0), _next(done, i + 1)


@inline
def _close(trans, eof, n_classes, out, done, i, s, a):
    """Write the mask of text ``i``, read to its end in state ``s``: False when that state's row (hence its
    end-of-text mask) is not made yet."""
    if trans[s] < 0:
        return False
    out[i] = a | eof[s // n_classes]
    done[i] = True
    return True


@inline
def _one(data, lo, hi, classes, trans, mask, s, acc):
    """One text's bytes ``lo:hi`` from state ``s``: (state, mask found, stuck state or -1)."""
    for p in range(lo, hi):
        k = s + classes[data[p]]
        v = trans[k]
        if v < 0:
            return s, acc, s
        if v & 1:
            acc |= mask[k]
        s = v >> 1
    return s, acc, -1


@jit
def run(data, offsets, classes, trans, mask, eof, n_classes, start, out, done):
    """Write the mask of the patterns found in each text not ``done`` to ``out``. Returns -1 when every text is
    done, else a state (premultiplied) whose row is not made yet: Python makes it and calls again, and the
    texts in progress start over."""
    # The caller holds every array for the whole call: views that count no reference (see qcikit._kernels).
    data, offsets, classes, trans = borrowed(data), borrowed(offsets), borrowed(classes), borrowed(trans)
    mask, eof, out, done = borrowed(mask), borrowed(eof), borrowed(out), borrowed(done)
    n = len(offsets) - 1
    # Four streams, each on its own text: i (the text), p (the next byte), e (its end), s (state), a (mask).
    cursor = _next(done, 0)
    i3 = cursor
    for _ in range(3):
        i3 = _next(done, i3 + 1)
    if i3 < n:
        i0, p0, e0, s0, a0, cursor = _take(offsets, done, cursor, start)
        i1, p1, e1, s1, a1, cursor = _take(offsets, done, cursor, start)
        i2, p2, e2, s2, a2, cursor = _take(offsets, done, cursor, start)
        i3, p3, e3, s3, a3, cursor = _take(offsets, done, cursor, start)
        while True:
            m = min(e0 - p0, e1 - p1, e2 - p2, e3 - p3)
            for q in range(m):
                k0 = s0 + classes[data[p0 + q]]
                k1 = s1 + classes[data[p1 + q]]
                k2 = s2 + classes[data[p2 + q]]
                k3 = s3 + classes[data[p3 + q]]
                v0 = trans[k0]
                v1 = trans[k1]
                v2 = trans[k2]
                v3 = trans[k3]
                if v0 < 0:
                    return s0
                if v1 < 0:
                    return s1
                if v2 < 0:
                    return s2
                if v3 < 0:
                    return s3
                if v0 & 1:
                    a0 |= mask[k0]
                if v1 & 1:
                    a1 |= mask[k1]
                if v2 & 1:
                    a2 |= mask[k2]
                if v3 & 1:
                    a3 |= mask[k3]
                s0 = v0 >> 1
                s1 = v1 >> 1
                s2 = v2 >> 1
                s3 = v3 >> 1
            p0 += m
            p1 += m
            p2 += m
            p3 += m
            # The streams whose text ended: its mask out, the next text in (the rest, one at a time, below).
            if p0 == e0:
                if not _close(trans, eof, n_classes, out, done, i0, s0, a0):
                    return s0
                if cursor >= n:
                    break
                i0, p0, e0, s0, a0, cursor = _take(offsets, done, cursor, start)
            if p1 == e1:
                if not _close(trans, eof, n_classes, out, done, i1, s1, a1):
                    return s1
                if cursor >= n:
                    break
                i1, p1, e1, s1, a1, cursor = _take(offsets, done, cursor, start)
            if p2 == e2:
                if not _close(trans, eof, n_classes, out, done, i2, s2, a2):
                    return s2
                if cursor >= n:
                    break
                i2, p2, e2, s2, a2, cursor = _take(offsets, done, cursor, start)
            if p3 == e3:
                if not _close(trans, eof, n_classes, out, done, i3, s3, a3):
                    return s3
                if cursor >= n:
                    break
                i3, p3, e3, s3, a3, cursor = _take(offsets, done, cursor, start)
    # What is left (the streams in progress when the texts ran out, or fewer than four texts): one at a time.
    i = _next(done, 0)
    while i < n:
        s, a, stuck = _one(data, offsets[i], offsets[i + 1], classes, trans, mask, start, np.uint64(0))
        if stuck >= 0:
            return stuck
        if not _close(trans, eof, n_classes, out, done, i, s, a):
            return s
        i = _next(done, i + 1)
    return -1
