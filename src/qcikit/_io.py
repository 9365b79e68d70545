"""Small file helpers shared by the modules: atomic writes and careful reads."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from .errors import QcikitError


def report_stem(slug: str, wave: str) -> str:
    """``<slug>-<wave>``: each wave of each engagement has its own files, so no report overwrites another.
    (Here, not in :mod:`qcikit.report`: the report's kernel names its tables with it, and importing the renderer
    would import nbformat, whose schema validators take seconds to build.)

    >>> report_stem("northwind", "2026-Q3"), report_stem("acme", "wave 1/2")
    ('northwind-2026-Q3', 'acme-wave-1-2')
    """
    return f"{slug}-{re.sub(r'[^A-Za-z0-9._-]+', '-', str(wave)).strip('-')}"


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically.

    The data go to a temporary file in the same folder, are flushed to disk,
    then renamed over ``path``: a reader sees the old file or the new one,
    never half of one, even when the process dies mid-write.
    """
    return _atomic(path, lambda fh: fh.write(data))


def _atomic(path: str | os.PathLike, write) -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a data file should read like any other
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_csv(df, path: str | os.PathLike) -> Path:
    """Write a DataFrame as CSV atomically, with ``\\n`` line ends (byte-stable)."""
    return atomic_write_text(path, df.to_csv(index=False, lineterminator="\n"))


def write_arrow_csv(table, path: str | os.PathLike, plain: bool = False) -> Path:
    """Write an Arrow table as CSV atomically, quoting only where needed and with ``\\n`` line ends: the same
    bytes as :func:`write_csv` for plain values, twenty times faster for millions of rows (machine scores)."""
    import pyarrow.csv as pacsv

    # Arrow quotes every string when asked to quote "where needed"; the kit's CSVs quote only values holding
    # a comma, a quote or a line break (as pandas does). Without such values nothing needs quotes; with one,
    # pandas writes the file.
    # ``plain``: the caller has checked that no value needs quotes (on a column's distinct values, say).
    special = not plain and any(needs_quotes(col) for col in table.columns if col.type in ("string", "large_string"))
    if special:
        return write_csv(table.to_pandas(), path)

    def write(fh) -> None:
        fh.write((",".join(table.column_names) + "\n").encode("utf-8"))  # Arrow would quote the names
        pacsv.write_csv(table, fh, pacsv.WriteOptions(quoting_style="none", include_header=False))

    return _atomic(path, write)


def needs_quotes(values) -> bool:
    """Whether any of ``values`` (an Arrow string array) holds a comma, a quote or a line break."""
    import pyarrow.compute as pc

    return bool(pc.any(pc.match_substring_regex(values.cast("string"), '[,"\r\n]')).as_py())


def read_text(path: str | os.PathLike, error=QcikitError) -> str:
    """Read a UTF-8 text file; a clear error names the file when it is not UTF-8."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            f"{path.name}: the file is not UTF-8 text (byte {exc.start} cannot be decoded). "
            "Fix: save it as UTF-8 (in Excel: 'CSV UTF-8'; in an editor: 'Save with encoding UTF-8')."
        ) from None


def read_yaml(path: str | os.PathLike, error=QcikitError):
    """Read a YAML file into Python objects with an error naming the line."""
    path = Path(path)
    text = read_text(path, error)
    if not text.strip():
        raise error(f"{path.name}: the file is empty. Fix: fill it in (`qcikit new` writes a starter).")
    import yaml  # here, not at the top: a command that reads no YAML starts without it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "it is not valid YAML"
        raise error(
            f"{path.name}: cannot read the YAML{where}: {problem}. "
            "Fix: correct the indentation or quoting on that line."
        ) from None
