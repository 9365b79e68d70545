"""The loop of :mod:`qcikit._dfa` (numba). Module level, so numba's cache keeps the machine code.

A DFA reads a byte per table look-up, and each look-up waits for the one before: one text at a time, the
loop runs at the memory's latency. Four texts read side by side keep four look-ups in flight, which on the
starter rubric's set is 2.5 times faster than one. The table is flat and its entries premultiplied (a
state's row starts at ``state * n_classes``), shifted left by one bit: the low bit says that patterns match
on that transition, and only then is the mask read.
"""
import numba
import numpy as np

jit = numba.njit(nogil=True, cache=True)


@jit
def _next(done, cursor):
    """The first text from ``cursor`` on that is not done (len(done) when none)."""
    n = len(done)
    while cursor < n and done[cursor]:
        cursor += 1
    return cursor


@jit
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
    n = len(offsets) - 1
    cursor = _next(done, 0)
    # Four streams, each on its own text: i (the text), p (the next byte), e (its end), s (state), a (mask).
    i0 = cursor
    cursor = _next(done, cursor + 1)
    i1 = cursor
    cursor = _next(done, cursor + 1)
    i2 = cursor
    cursor = _next(done, cursor + 1)
    i3 = cursor
    cursor = _next(done, cursor + 1) if i3 < n else n
    if i3 < n:
        p0, e0 = offsets[i0], offsets[i0 + 1]
        p1, e1 = offsets[i1], offsets[i1 + 1]
        p2, e2 = offsets[i2], offsets[i2 + 1]
        p3, e3 = offsets[i3], offsets[i3 + 1]
        s0 = s1 = s2 = s3 = start
        a0 = a1 = a2 = a3 = np.uint64(0)
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
            # The streams whose text ended: its mask out, the next text in.
            if p0 == e0:
                if trans[s0] < 0:
                    return s0
                out[i0] = a0 | eof[s0 // n_classes]
                done[i0] = True
                if cursor >= n:
                    break
                i0, s0, a0 = cursor, start, np.uint64(0)
                p0, e0 = offsets[i0], offsets[i0 + 1]
                cursor = _next(done, cursor + 1)
            if p1 == e1:
                if trans[s1] < 0:
                    return s1
                out[i1] = a1 | eof[s1 // n_classes]
                done[i1] = True
                if cursor >= n:
                    break
                i1, s1, a1 = cursor, start, np.uint64(0)
                p1, e1 = offsets[i1], offsets[i1 + 1]
                cursor = _next(done, cursor + 1)
            if p2 == e2:
                if trans[s2] < 0:
                    return s2
                out[i2] = a2 | eof[s2 // n_classes]
                done[i2] = True
                if cursor >= n:
                    break
                i2, s2, a2 = cursor, start, np.uint64(0)
                p2, e2 = offsets[i2], offsets[i2 + 1]
                cursor = _next(done, cursor + 1)
            if p3 == e3:
                if trans[s3] < 0:
                    return s3
                out[i3] = a3 | eof[s3 // n_classes]
                done[i3] = True
                if cursor >= n:
                    break
                i3, s3, a3 = cursor, start, np.uint64(0)
                p3, e3 = offsets[i3], offsets[i3 + 1]
                cursor = _next(done, cursor + 1)
    # What is left (the streams in progress when the texts ran out, or fewer than four texts): one at a time.
    i = _next(done, 0)
    while i < n:
        s, a, stuck = _one(data, offsets[i], offsets[i + 1], classes, trans, mask, start, np.uint64(0))
        if stuck >= 0:
            return stuck
        if trans[s] < 0:
            return s
        out[i] = a | eof[s // n_classes]
        done[i] = True
        i = _next(done, i + 1)
    return -1
