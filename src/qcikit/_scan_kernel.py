"""The compiled scanner of :mod:`qcikit._scan` (numba). Module-level functions, so numba's cache keeps the
machine code between processes: compiling takes seconds, loading it milliseconds."""
import numba
import numpy as np

CUSTOMER, AGENT = 1, 2  # as in assist
jit = numba.njit(nogil=True, cache=True)


@jit
def space(c):
    return c == 9 or c == 10 or c == 12 or c == 13 or c == 32

@jit
def digit(data, i, end):
    return i < end and 48 <= data[i] <= 57

@jit
def word(data, i, end, w):
    if i + len(w) > end:
        return False
    for k in range(len(w)):
        if data[i + k] != w[k]:
            return False
    return True

@jit
def clock(data, q, end):
    """``(\\d{1,2}):(\\d{2})(?::(\\d{2}))?\\]`` at ``q``: (position after "]", seconds), or (-1, 0)."""
    for hd in (2, 1):  # \d{1,2} is greedy: two digits first
        ok = True
        for k in range(hd):
            ok = ok and digit(data, q + k, end)
        r = q + hd
        if not ok or r >= end or data[r] != 58 or not (digit(data, r + 1, end) and digit(data, r + 2, end)):
            continue
        h = 0
        for k in range(hd):
            h = h * 10 + data[q + k] - 48
        m = (data[r + 1] - 48) * 10 + data[r + 2] - 48
        t = r + 3
        if t + 3 < end and data[t] == 58 and digit(data, t + 1, end) and digit(data, t + 2, end) and data[t + 3] == 93:
            return t + 4, h * 3600.0 + m * 60.0 + (data[t + 1] - 48) * 10 + data[t + 2] - 48
        if t < end and data[t] == 93:
            return t + 1, h * 3600.0 + m * 60.0
    return -1, 0.0

@jit
def stamp(data, i, end):
    """The stamp at a line's start ``i`` (data[i] is "["): (position after "]" or -1, seconds of the clock,
    position of the date or -1)."""
    # (date)? is greedy: with the date first, and without it when the rest then fails.
    p = i + 1
    if (p + 10 <= end and digit(data, p, end) and digit(data, p + 1, end) and digit(data, p + 2, end)
            and digit(data, p + 3, end) and data[p + 4] == 45 and digit(data, p + 5, end)
            and digit(data, p + 6, end) and data[p + 7] == 45 and digit(data, p + 8, end)
            and digit(data, p + 9, end)):
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

@jit
def prefix(data, i, end, agent_word):
    """Where the agent's words start on a line that opens with "[" (``i`` when the prefix does not match)."""
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

@jit
def scan(data, offsets, breaks, customer_word, agent_word):
    """``breaks``: the positions of every "\\n" in ``data`` (numpy finds them, vectorized)."""
    n = len(offsets) - 1
    n_lines = n + len(breaks)  # every transcript is one line, plus one per line break
    unit = np.empty(n_lines, np.int64)
    stamped = np.zeros(n_lines, np.bool_)
    clock_s = np.zeros(n_lines, np.float64)
    date_at = np.full(n_lines, -1, np.int64)
    speaker = np.zeros(n_lines, np.int8)
    owner = np.zeros(n_lines, np.int8)
    agent_data = np.empty(max(offsets[n] - offsets[0], 1), np.uint8)  # a slice of a column: its own bytes only
    agent_offsets = np.zeros(n_lines + 1, np.int64)
    agent_unit = np.empty(n_lines, np.int64)
    line = 0
    b = 0  # the next line break
    n_agent = 0
    written = 0
    for u in range(n):
        start, stop = offsets[u], offsets[u + 1]
        current = 0  # the speaker of the transcript's last stamped line
        i = start
        while True:
            if b < len(breaks) and breaks[b] < stop:
                end = breaks[b]
                b += 1
            else:
                end = stop
            unit[line] = u
            words = i
            if i < end and data[i] == 91:
                after, seconds, at = stamp(data, i, end)
                if after >= 0:
                    stamped[line] = True
                    clock_s[line] = seconds
                    date_at[line] = at
                    k = after
                    while k < end and space(data[k]):
                        k += 1
                    who = 0
                    if word(data, k, end, customer_word):
                        who = CUSTOMER
                    elif word(data, k, end, agent_word):
                        who = AGENT
                    speaker[line] = who
                    current = who
            owner[line] = current
            if current == AGENT:
                if i < end and data[i] == 91:
                    words = prefix(data, i, end, agent_word)
                agent_data[written:written + end - words] = data[words:end]
                written += end - words
                n_agent += 1
                agent_offsets[n_agent] = written
                agent_unit[n_agent - 1] = u
            line += 1
            if end >= stop:
                break
            i = end + 1
    return (unit, stamped, clock_s, date_at, speaker, owner,
            agent_data[:written], agent_offsets[:n_agent + 1], agent_unit[:n_agent])

