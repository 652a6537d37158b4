"""Cut a large CSV file into slices at record boundaries, for a parallel scan of each.

DuckDB scans one CSV in parallel, but the ingest needs each row's source line, which only an
insertion-ordered materialisation gives (see :mod:`layers._read`); past DuckDB's memory limit
that ordered insert falls back to one thread. Cut into slices that each fit in memory, the file
keeps the parallel scan: every slice is materialised in order, after the previous one.

A cut is made only at a newline that ends a record: the first newline after the target offset
with an even number of quote characters before it in the whole file (an odd count means the
newline lies inside a quoted field, ``"a<newline>b"``; a doubled quote ``""`` counts twice, so
escapes do not upset the count). A quote that is a literal character of an unquoted field
(``ab"c``, which DuckDB accepts) can make that count wrong; the slice before such a cut then ends
inside a quoted field, which DuckDB reports as an ``UNQUOTED VALUE`` error, and the ingest falls
back to one scan of the whole file (see ``layers.ingest``).

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = p.write_bytes(b'h\\n"a\\nb"\\nc\\nd\\n')
>>> csv_slices(p, 3)
[(0, 8), (8, 12)]
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

_BLOCK = 1 << 24


def csv_slices(path: Path, target: int, quote: bytes = b'"') -> list[tuple[int, int]]:
    """Byte ranges ``[start, end)`` covering ``path``, each cut just after a record's newline.

    Each slice but the last holds at least ``target`` bytes (then runs to the end of its last
    record); a file of at most ``target`` bytes is one slice. The first slice starts at 0 (so
    it holds the header and any byte-order mark).

    Parameters
    ----------
    path
        The CSV file (UTF-8; a GB18030 file is transcoded before it is cut).
    target
        The wanted slice size in bytes (at least 1).
    quote
        The quote character of the dialect (one byte).
    """
    size = path.stat().st_size
    if target < 1:
        raise ValueError(f"slice target must be at least 1 byte, got {target}")
    if size <= target:
        return [(0, size)]
    cuts = [0]
    want = target  # the next cut lies at the first record end at or after this offset
    quotes = 0  # quote characters in the file before `pos`
    pos = 0
    with path.open("rb") as fh:
        while want < size:
            fh.seek(pos)
            block = fh.read(_BLOCK)
            if not block:
                break
            base = pos
            # skip to the wanted offset, counting its quotes
            skip = max(0, min(want - base, len(block)))
            quotes += _count(block, quote, skip)
            at = skip
            cut = -1
            while at < len(block):
                nl = block.find(b"\n", at)
                if nl < 0:
                    quotes += block.count(quote, at)
                    at = len(block)
                    break
                quotes += block.count(quote, at, nl)
                at = nl + 1
                if quotes % 2 == 0:
                    cut = base + nl + 1
                    break
            pos = base + at
            if cut >= 0:
                if cut < size:
                    cuts.append(cut)
                want = max(cut + target, want + 1)
    cuts.append(size)
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _count(block: bytes, quote: bytes, end: int) -> int:
    """Occurrences of the byte ``quote`` in ``block[:end]`` (vectorised: the bulk of the file)."""
    if end < 4096:
        return block.count(quote, 0, end)
    import numpy as np

    view = np.frombuffer(block, dtype=np.uint8, count=end)
    return int(np.count_nonzero(view == quote[0]))


def blank_lines(path: Path, start: int, end: int) -> int:
    """Empty lines (``\\n`` or ``\\r\\n`` alone) that begin in ``[start, end)`` of ``path``.

    DuckDB skips them but counts them in the line numbers of its rejects, so the slices after
    one must too. ``start`` is a line start (0 or just after a newline).
    """
    import numpy as np

    count = 0
    lo = max(0, start - 2)  # the two bytes before: was the line before this one ended there?
    with path.open("rb") as fh:
        fh.seek(lo)
        prev = b"\n" if lo == 0 else b""  # the file's start is a line start
        pos = lo
        while pos < end:
            chunk = fh.read(min(_BLOCK, end - pos))
            if not chunk:
                break
            data = prev + chunk
            prev = data[-2:]
            first = pos - (len(data) - len(chunk))  # the file offset of data[0]
            pos += len(chunk)
            if b"\n\n" not in data and b"\n\r\n" not in data:
                continue  # the usual case: no empty line in this block
            arr = np.frombuffer(data, dtype=np.uint8)
            nl = arr == 10
            # a newline at i ends an empty line when i is a line start: data[i-1] is a newline,
            # or data[i-1] is a CR and data[i-2] a newline (CRLF); or i is the file's start
            lf = nl[1:] & nl[:-1]
            crlf = nl[2:] & (arr[1:-1] == 13) & nl[:-2]
            lf_at = np.flatnonzero(lf) + 1 + first
            crlf_at = np.flatnonzero(crlf) + 2 + first
            begin = max(start, first + len(data) - len(chunk))  # not counted before
            count += int(np.count_nonzero((lf_at >= begin) & (lf_at < end)))
            count += int(np.count_nonzero((crlf_at >= begin) & (crlf_at < end)))
    return count


def copy_range(src: Path, start: int, end: int, dst: Path) -> None:
    """Write bytes ``[start, end)`` of ``src`` to a new file ``dst`` (in the kernel when it can)."""
    with src.open("rb") as fin, dst.open("wb") as fout:
        offset, left = start, end - start
        try:
            while left > 0:
                done = os.copy_file_range(fin.fileno(), fout.fileno(), left, offset)
                if done <= 0:
                    break
                offset += done
                left -= done
        except OSError:  # another file system, or no copy_file_range: copy in user space
            pass
        fin.seek(offset)
        while left > 0:
            chunk = fin.read(min(left, _BLOCK))
            if not chunk:
                break
            fout.write(chunk)
            left -= len(chunk)
