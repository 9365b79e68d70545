"""The compiled reader of :mod:`qcikit._scan` (numba). Module-level functions, so numba's cache keeps the
machine code between processes: compiling takes seconds, loading it milliseconds."""
import numpy as np

from ._kernels import borrowed, inline, jit

CUSTOMER, AGENT = 1, 2  # as in assist


@inline
def space(c):
    return c == 9 or c == 10 or c == 12 or c == 13 or c == 32

@inline
def digit(c):
    return 48 <= c <= 57

@inline
def word(data, i, end, w):
    if i + len(w) > end:
        return False
    for k in range(len(w)):
        if data[i + k] != w[k]:
            return False
    return True

@inline
def clock_at(b0, b1, b2, b3, b4, b5, b6, b7, b8):
    """``(\d{1,2}):(\d{2})(?::(\d{2}))?\]`` on the nine bytes from where the clock may start (0 past the
    line's end): (bytes it takes, seconds), or (-1, 0). The bytes come as values, so each test is a compare in
    a register: read through the array, the same tests cost a fifth of the whole reading."""
    if digit(b0) and digit(b1) and b2 == 58 and digit(b3) and digit(b4):  # \d{1,2} is greedy: two digits first
        hm = ((b0 - 48) * 10 + b1 - 48) * 3600.0 + ((b3 - 48) * 10 + b4 - 48) * 60.0
        if b5 == 58 and digit(b6) and digit(b7) and b8 == 93:
            return 9, hm + (b6 - 48) * 10 + b7 - 48
        if b5 == 93:
            return 6, hm
    if digit(b0) and b1 == 58 and digit(b2) and digit(b3):
        hm = (b0 - 48) * 3600.0 + ((b2 - 48) * 10 + b3 - 48) * 60.0
        if b4 == 58 and digit(b5) and digit(b6) and b7 == 93:
            return 8, hm + (b5 - 48) * 10 + b6 - 48
        if b4 == 93:
            return 5, hm
    return -1, 0.0

@inline
def clock(data, q, end):
    """The clock at ``q``: (position after "]", seconds), or (-1, 0)."""
    took, seconds = clock_at(data[q] if q < end else 0, data[q + 1] if q + 1 < end else 0,
                             data[q + 2] if q + 2 < end else 0, data[q + 3] if q + 3 < end else 0,
                             data[q + 4] if q + 4 < end else 0, data[q + 5] if q + 5 < end else 0,
                             data[q + 6] if q + 6 < end else 0, data[q + 7] if q + 7 < end else 0,
                             data[q + 8] if q + 8 < end else 0)
    return (q + took if took >= 0 else -1), seconds

@inline
def stamp(data, i, end):
    """The stamp at a line's start ``i`` (data[i] is "["): (position after "]" or -1, seconds of the clock,
    position of the date or -1)."""
    # (date)? is greedy: with the date first, and without it when the rest then fails.
    p = i + 1
    if (p + 10 <= end and digit(data[p]) and digit(data[p + 1]) and digit(data[p + 2]) and digit(data[p + 3])
            and data[p + 4] == 45 and digit(data[p + 5]) and digit(data[p + 6]) and data[p + 7] == 45
            and digit(data[p + 8]) and digit(data[p + 9])):
        q = p + 10
        if q < end and (data[q] == 32 or data[q] == 84):  # [ T]? (a digit never is one of them)
            q += 1
        after, seconds = clock(data, q, end)
        if after >= 0:
            return after, seconds, p
    q = p
    if q < end and (data[q] == 32 or data[q] == 84):
        q += 1
    after, seconds = clock(data, q, end)
    return after, seconds, -1

@inline
def prefix(data, i, end, agent_word, closed):
    """Where the agent's words start on a line that opens with "[" (``i`` when the prefix does not match).
    ``closed``: the position after the line's first "]" when the stamp found it, else -1."""
    k = closed
    if k < 0:
        k = i + 1
        while k < end and data[k] != 93:
            k += 1
        if k >= end:
            return i
        k += 1
    while k < end and space(data[k]):
        k += 1
    if not word(data, k, end, agent_word):
        return i
    k += len(agent_word)
    while k < end and space(data[k]):
        k += 1
    if k >= end or data[k] != 40:
        return i
    while k < end and data[k] != 41:
        k += 1
    if k >= end:
        return i
    k += 1
    # (?:\s*\([^)]*\))? : taken whenever it can match, since what follows always does
    j = k
    while j < end and space(data[j]):
        j += 1
    if j < end and data[j] == 40:
        c = j
        while c < end and data[c] != 41:
            c += 1
        if c < end:
            k = c + 1
    while k < end and space(data[k]):
        k += 1
    if k < end and data[k] == 58:
        k += 1
    while k < end and space(data[k]):
        k += 1
    return k

_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
_BREAKS = np.uint64(0x0A0A0A0A0A0A0A0A)  # "\n" in every byte


@inline
def line_end(data, words, i, stop):
    """The position of the first "\n" in ``data[i:stop]`` (``stop`` when none). Eight bytes at a time where
    ``words`` (the same bytes as uint64) allows: a byte equal to "\n" is a zero byte of ``word ^ _BREAKS``,
    which the classic test ``(v - ones) & ~v & highs`` finds without a branch per byte. Each part is a slice
    looped over by its own length, so numba knows no index is negative (a tenth faster than indexing ``data``)."""
    head = data[i:min(stop, (i + 7) & ~7)]
    for k in range(head.shape[0]):
        if head[k] == 10:
            return i + k
    i += head.shape[0]
    aligned = words[i >> 3:stop >> 3]
    for k in range(aligned.shape[0]):
        v = aligned[k] ^ _BREAKS
        if ((v - _ONES) & ~v & _HIGHS) != np.uint64(0):
            break
        i += 8
    tail = data[i:stop]
    for k in range(tail.shape[0]):
        if tail[k] == 10:
            return i + k
    return stop


@inline
def civil_days(data, p):
    """Days since 1970-01-01 of the "YYYY-MM-DD" at ``p``, as Arrow's ``strptime("%Y-%m-%d")`` reads it: a month
    of 1–12 and a day of 1–31 (the 30th of February runs on into March), else -1 and False."""
    y = (data[p] - 48) * 1000 + (data[p + 1] - 48) * 100 + (data[p + 2] - 48) * 10 + data[p + 3] - 48
    m = (data[p + 5] - 48) * 10 + data[p + 6] - 48
    d = (data[p + 8] - 48) * 10 + data[p + 9] - 48
    if m < 1 or m > 12 or d < 1 or d > 31:
        return -1, False
    # Howard Hinnant's days_from_civil (proleptic Gregorian calendar).
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468, True


@jit
def read_agent(data, words, offsets, customer_word, agent_word, gap, widths,
               answered, has_customer, silent, widest, out, out_offsets, first_unit, written):
    """Read the transcripts of one Arrow chunk (``offsets`` into ``data``; ``words``: ``data`` as uint64, see
    line_end) into the arrays of a batch, from transcript ``first_unit`` and byte ``written`` on. Per
    transcript: seconds to the agent's first stamped line (``answered``, left NaN without one), whether a
    customer line is stamped, whether the agent's turn came after more than ``gap`` seconds of silence once
    the agent had answered, the agent's longest line in characters (when ``widths``), and the agent's lines
    (stamp and name removed) joined by "\n" into ``out`` and ``out_offsets`` (Arrow's string buffers; the
    agent's text is never longer than the transcript). Returns the bytes written by then."""
    # The caller holds every array for the whole call: views that count no reference (see qcikit._kernels).
    data, words, offsets = borrowed(data), borrowed(words), borrowed(offsets)
    customer_word, agent_word = borrowed(customer_word), borrowed(agent_word)
    answered, has_customer, silent = borrowed(answered), borrowed(has_customer), borrowed(silent)
    widest, out, out_offsets = borrowed(widest), borrowed(out), borrowed(out_offsets)
    n = len(offsets) - 1
    # The stamped lines of the longest transcript, at most: k stamped lines take six bytes each ("[0:00]", the
    # shortest stamp) and k - 1 line breaks, so k <= (bytes + 1) / 7. Made once and never grown (numba checks no
    # bound), so the loop carries no array whose reference it must count.
    longest = 0
    for t in range(n):
        longest = max(longest, offsets[t + 1] - offsets[t])
    cap = longest // 6 + 1
    raw = np.empty(cap, np.float64)
    who_of = np.empty(cap, np.int8)
    dated = np.empty(cap, np.bool_)
    for t in range(n):
        start, stop = offsets[t], offsets[t + 1]
        u = first_unit + t
        current = 0  # the speaker of the transcript's last stamped line: a body line belongs to it
        ns = 0
        joined = False
        i = start
        while True:
            end = line_end(data, words, i, stop)
            at_words = i
            after = -1
            if i < end and data[i] == 91:
                after, seconds, at = stamp(data, i, end)
                if after >= 0:
                    k = after
                    while k < end and space(data[k]):
                        k += 1
                    who = 0
                    if word(data, k, end, customer_word):
                        who = CUSTOMER
                    elif word(data, k, end, agent_word):
                        who = AGENT
                    current = who
                    ok = False
                    if at >= 0:
                        days, ok = civil_days(data, at)
                        if ok:
                            seconds = days * 86400.0 + seconds
                    raw[ns] = seconds
                    dated[ns] = ok
                    who_of[ns] = who
                    ns += 1
            if current == AGENT:
                if i < end and data[i] == 91:
                    at_words = prefix(data, i, end, agent_word, after)
                if joined:
                    out[written] = 10
                    written += 1
                joined = True
                # Slices looped over by their own length: numba knows the index is never negative, and the
                # loop compiles to vector instructions (the same loop indexing ``data`` itself does not).
                src = data[at_words:end]
                dst = out[written:written + end - at_words]
                written += end - at_words
                if widths:
                    chars = 0
                    for c in range(src.shape[0]):
                        b = src[c]
                        dst[c] = b
                        chars += (b & 0xC0) != 0x80  # a UTF-8 continuation byte starts no character
                    if chars > widest[u]:
                        widest[u] = chars
                else:
                    for c in range(src.shape[0]):
                        dst[c] = src[c]
            if end >= stop:
                break
            i = end + 1
        out_offsets[u + 1] = written
        # Clock-only times that go back crossed midnight: a day is carried over (dated lines never carry),
        # comparing each stamped line's time as written with the line before; times count from the first line.
        carry = 0.0
        before = raw[0] if ns else 0.0
        first = before
        best = np.inf
        for k in range(ns):
            written_time = raw[k]
            if k > 0 and not dated[k] and written_time - before < 0:
                carry += 86400.0
            before = written_time
            raw[k] = written_time + carry - first
            if who_of[k] == AGENT and raw[k] < best:
                best = raw[k]
            elif who_of[k] == CUSTOMER:
                has_customer[u] = True
        if best < np.inf:
            answered[u] = best
            for k in range(1, ns):
                if who_of[k] == AGENT and raw[k] > best and raw[k] - raw[k - 1] > gap:
                    silent[u] = True
                    break
    return written
