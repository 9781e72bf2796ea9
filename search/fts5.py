"""Embedded backend: SQLite FTS5 in its own file (the app database may be PostgreSQL).

Tables (one SQLite file, WAL mode):

* ``docs``   — one narrow row per listing: filter, facet and sort columns.
* ``stored`` — display fields (title, body, org_name, transfer modes) by the same rowid.
* ``tri_t``, ``tri_k``, ``tri_b`` — contentless FTS5 ``trigram`` (case-sensitive: text
  is case-folded before it gets here), one table per field: the canonical strings of
  title, tags and body (see ``search.text``), which are not stored a second time
  (``stored`` has the originals). Answer every term whose canonical form has three or
  more characters — all Latin terms (they are padded with spaces: " hplc ") and CJK
  terms of three or more characters. One table per field (format 11; before, one table
  with a column each) because a phrase query reads the position lists of every column
  of its table, whatever column it is filtered to: the title's query cost as much as
  the body's. The organisation is matched against its few distinct values instead
  (``_Values``).
* ``gram``   — contentless FTS5 with the ``ascii`` tokenizer (every non-ASCII character is a token
  character, whatever Unicode version SQLite knows) over the *gram tokens* of title /
  org / tags / body (``search.text.grams``: the distinct bigrams of each CJK run, plus
  every CJK character; every Latin word, and every two adjacent ones), each
  prefixed with its field's tag letter (t, o, k, b) and all in one column, so
  ``detail = 'none'`` (rowids only) suffices. Answers the one- and two-character CJK
  terms (检测, 专利, 药) that a trigram index silently cannot find, and one- and
  two-word Latin terms, each by one token ("b检测", "b药", "bhplc", "bgc·ms") — a
  lookup instead of merging the doclists of every bigram a character starts or
  intersecting the long position lists of common trigrams.
* ``bitmaps`` — for each gram token in at least 1/``BITMAP_SHARE`` of the listings (the
  common characters and words), a bitmap over *positions*: ``ranked`` holds the rowids of
  every listing in rank order (newest first, then id) as the last reindex or compaction
  found them, and bit p is the listing ``ranked[p]``. A changed listing gets a fresh rowid
  above them (rows are never changed in place), so the bitmaps stay true without upkeep:
  a common term's listings are one blob, unpacked by eight ``bytes.translate`` calls,
  where its doclist was tens of thousands of rowids walked in FTS5 and Python. Rows
  written since (the snapshot's tail) are tested on their canonical text; once they pile
  up, ``EmbeddedBackend.compact`` (the worker's timed job) ranks them in again without
  blocking readers or, but for a short write, writers. A reindex writes rowids in rank
  order, so there ``ranked`` is 1..n.
* the same ``bitmaps`` for each common trigram of each trigram table (format 12; key
  ``_tri_key``: "3", the field's tag letter, the trigram): a long term's listings in a
  field whose trigrams are all common are the AND of their bitmaps — exact for a
  three-character term, and for a longer one less the few listings FTS5 finds holding
  the trigrams but not the phrase (``(a AND b) NOT "phrase"``, a short answer) — instead
  of the phrase's own answer, tens of thousands of rowids to read, parse and place.
* ``meta``   — a generation number, bumped by every write; ``base_rows`` (the positions
  the bitmaps describe), ``base_rowid`` (the highest rowid then: rows above it are the
  tail) and ``max_rowid``.

Both FTS indexes are exact for their terms: the rowids they return need no re-check.
Contentless tables (SQLite < 3.43 has no ``contentless_delete``) are deleted from with the
FTS5 ``'delete'`` command and the very values that were inserted, recomputed from
``stored`` — so a change to ``search.text`` must bump ``SCHEMA_VERSION`` (which rebuilds).

Filters, facets and sorting do not go back to SQL for every matched row (that costs
~5 ms per 20,000 matches before any counting). Each process keeps a *snapshot* of the
small columns, rebuilt when the generation changes: listings are numbered by rank
(newest first, then id), and every facet value, every term's listings per field and the
query's selection are *bit sets* over ranks held in a Python int (bit p = the listing at
position p): a common term's bitmap blob is one already, filters AND in, facets are
``(selected & facet).bit_count()``. The tier score is kept as bit planes (plane j: bit j
of every listing's score), summed term by term by a ripple-carry adder over whole
planes; the page is read off by splitting the selection plane by plane, highest first,
into one set per score, each in rank order (nonzero bytes found by ``bytes.find``), so
ties fall to newest-then-id for free. (Before, one *byte* per listing: every AND, OR and
conversion cost 8x more, and each query unpacked bitmaps and packed its selection.)
A snapshot of 100,000 listings takes 1–1.5 s of CPU to build, most of it reading the
rows into Python; a preloading server builds it once, before it forks (``warm``).
"""
from __future__ import annotations

import bisect
import heapq
import json
import os
import sqlite3
import sys
import threading
from array import array
from collections import OrderedDict, deque
from contextlib import contextmanager
from itertools import chain, compress, islice, repeat
from operator import is_not, neg
from typing import Any, Iterable, Iterator

from .backend import (
    TIERS,
    ProgressCallback,
    finish_facets,
    make_hit,
)
from .documents import (
    TRANSFER_MODES,
    Document,
    SearchQuery,
    SearchResults,
    price_bucket,
    to_epoch_ms,
)
from .text import Term, canonical, grams
from .vocabulary import all_terms, parse_query

SCHEMA_VERSION = 12
CHUNK = 2000
TERM_CACHE_BYTES = 64 * 2**20  # per process: ~1,300 term alternatives at 100,000 listings
CHANGES_KEPT = 10_000  # generations of the change log kept for other processes' snapshots
# a snapshot brought up to date holds changed listings after its ranked part; past this
# many (or a twentieth of the listings) it is rebuilt instead
MAX_TAIL = 5_000
FTS_PGSZ = 8000  # FTS5 leaf page size: fewer, larger segments pages (faster bulk load)
# the gram table's in-memory buffer before a segment is written (FTS5 default 1 MB):
# its few distinct tokens (~tens of thousands) make a big buffer cheap and halve its load
# time; the trigram table's millions of distinct tokens make it slower, so it keeps 1 MB
GRAM_HASHSIZE = 64 * 2**20
# a gram token found in at least 1/BITMAP_SHARE of the listings gets a bitmap (n/8 bytes,
# at most 8x its doclist): ~1,500 tokens, 20 MB at 100,000 listings
BITMAP_SHARE = 64

# _SHIFT_TABLES[j] maps a 0/1 byte to 0/(1 << j); _BIT_TABLES[j] maps a byte to its bit j
_SHIFT_TABLES = [bytes(((b & 1) << j) for b in range(256)) for j in range(8)]
_BIT_TABLES = [bytes(((b >> j) & 1) for b in range(256)) for j in range(8)]
_EQUALS = [bytes(int(b == v) for b in range(256)) for v in range(256)]  # byte v -> 1, others 0
# a code group of values (``_Values.mask``) held by this many listings or more is found by
# translating the code layers (~0.3 ms at 100,000 listings) instead of position by position
_TRANSLATE_FROM = 1000

_TABLES = """
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    field TEXT,
    county TEXT,
    modes INTEGER NOT NULL,          -- bit i set = TRANSFER_MODES[i] offered
    voucher INTEGER NOT NULL,
    price_fen INTEGER,
    bucket TEXT NOT NULL,            -- price range facet key
    published_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS stored (
    rowid INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    org_name TEXT NOT NULL,
    modes_json TEXT NOT NULL,
    org_text TEXT NOT NULL,          -- Document.org_text as indexed (deletes repeat it)
    tags TEXT NOT NULL               -- Document.tags likewise
);
CREATE VIRTUAL TABLE IF NOT EXISTS tri_t USING fts5(
    c, tokenize = 'trigram case_sensitive 1', content = '', columnsize = 0
);
CREATE VIRTUAL TABLE IF NOT EXISTS tri_k USING fts5(
    c, tokenize = 'trigram case_sensitive 1', content = '', columnsize = 0
);
CREATE VIRTUAL TABLE IF NOT EXISTS tri_b USING fts5(
    c, tokenize = 'trigram case_sensitive 1', content = '', columnsize = 0
);
CREATE VIRTUAL TABLE IF NOT EXISTS gram USING fts5(
    g, tokenize = 'ascii', detail = 'none', content = '', columnsize = 0
);
INSERT INTO tri_t (tri_t, rank) VALUES ('pgsz', %(pgsz)d);
INSERT INTO tri_k (tri_k, rank) VALUES ('pgsz', %(pgsz)d);
INSERT INTO tri_b (tri_b, rank) VALUES ('pgsz', %(pgsz)d);
INSERT INTO gram (gram, rank) VALUES ('pgsz', %(pgsz)d);
INSERT INTO gram (gram, rank) VALUES ('hashsize', %(gram_hashsize)d);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta VALUES ('generation', 0);
INSERT OR IGNORE INTO meta VALUES ('complete_after', 0);
INSERT OR IGNORE INTO meta VALUES ('base_rows', 0);
INSERT OR IGNORE INTO meta VALUES ('base_rowid', 0);
INSERT OR IGNORE INTO meta VALUES ('max_rowid', 0);
CREATE TABLE IF NOT EXISTS bitmaps (
    token TEXT PRIMARY KEY,          -- a gram token, with its field's tag letter
    bits BLOB NOT NULL               -- bit p (little-endian) set = the listing at position p has it
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ranked (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rowids BLOB NOT NULL             -- position p's rowid: int64 little-endian, rank order
);
CREATE TABLE IF NOT EXISTS changes (
    generation INTEGER NOT NULL,
    rowid_ INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_generation ON changes (generation);
""".replace("%(pgsz)d", str(FTS_PGSZ)).replace("%(gram_hashsize)d", str(GRAM_HASHSIZE))
# FTS5 merge settings for everyday writes, and for the bulk load of a reindex (merging
# 64 segments at a time instead of 16: ~15% less CPU, the segments are merged
# by later writes); see bench/search.py
_STEADY = """
INSERT INTO tri_t (tri_t, rank) VALUES ('automerge', 16);
INSERT INTO tri_k (tri_k, rank) VALUES ('automerge', 16);
INSERT INTO tri_b (tri_b, rank) VALUES ('automerge', 16);
INSERT INTO gram (gram, rank) VALUES ('automerge', 16);
INSERT INTO tri_t (tri_t, rank) VALUES ('crisismerge', 64);
INSERT INTO tri_k (tri_k, rank) VALUES ('crisismerge', 64);
INSERT INTO tri_b (tri_b, rank) VALUES ('crisismerge', 64);
INSERT INTO gram (gram, rank) VALUES ('crisismerge', 64);
"""
_BULK_LOAD = """
INSERT INTO tri_t (tri_t, rank) VALUES ('automerge', %(merge)d);
INSERT INTO tri_k (tri_k, rank) VALUES ('automerge', %(merge)d);
INSERT INTO tri_b (tri_b, rank) VALUES ('automerge', %(merge)d);
INSERT INTO gram (gram, rank) VALUES ('automerge', %(merge)d);
INSERT INTO tri_t (tri_t, rank) VALUES ('crisismerge', %(crisis)d);
INSERT INTO tri_k (tri_k, rank) VALUES ('crisismerge', %(crisis)d);
INSERT INTO tri_b (tri_b, rank) VALUES ('crisismerge', %(crisis)d);
INSERT INTO gram (gram, rank) VALUES ('crisismerge', %(crisis)d);
""".replace("%(merge)d", "64").replace("%(crisis)d", "128")
_INDEXES = """
CREATE INDEX IF NOT EXISTS docs_newest ON docs (published_ms DESC, id);
"""
_BUMP = "UPDATE meta SET value = value + 1 WHERE key = 'generation'"
_DROP = """
DROP TABLE IF EXISTS docs;
DROP TABLE IF EXISTS stored;
DROP TABLE IF EXISTS tri;
DROP TABLE IF EXISTS tri_t;
DROP TABLE IF EXISTS tri_k;
DROP TABLE IF EXISTS tri_b;
DROP TABLE IF EXISTS gram;
DROP TABLE IF EXISTS changes;
DROP TABLE IF EXISTS bitmaps;
DROP TABLE IF EXISTS ranked;
"""



def _script(conn: sqlite3.Connection, script: str) -> None:
    """Run statements one by one (``executescript`` would COMMIT the open transaction)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _fts_phrase(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _modes_mask(modes: list[str]) -> int:
    mask = 0
    for m in modes:
        mask |= 1 << TRANSFER_MODES.index(m)
    return mask


@contextmanager
def _writing(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction holding the index file's lock from its start (other writers
    wait): committed at the end of the block, rolled back if it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _new_epoch(conn: sqlite3.Connection) -> None:
    """A write no change log describes (a new layout, a reindex, new bitmaps): a new
    generation that every snapshot is rebuilt for."""
    conn.execute(_BUMP)
    conn.execute("UPDATE meta SET value = (SELECT value FROM meta WHERE key = 'generation')"
                 " WHERE key = 'complete_after'")


def _tail_limit(base_n: int) -> int:
    """Changed listings a snapshot holds apart (its tail) before it is ranked afresh."""
    return min(MAX_TAIL, max(500, base_n // 20))


def _rank_key(doc: Document) -> tuple[int, str]:
    """Newest first, then id: the order of a snapshot's ranked part."""
    return (-to_epoch_ms(doc.published_at), doc.id)


def _pack_int(mask_bytes: bytes) -> int:
    """A byte mask (one 0/1 byte per index) as a bit set (bit i set = byte i is 1): bit j
    of every group of eight gathered by a strided slice, shifted by a translate."""
    packed = 0
    for j, table in enumerate(_SHIFT_TABLES):
        packed |= int.from_bytes(mask_bytes[j::8].translate(table), "little")
    return packed


def _pack_bits(mask_bytes: bytes) -> bytes:
    """A byte mask (one 0/1 byte per index) as bits, little-endian (bit i = byte i)."""
    return _pack_int(mask_bytes).to_bytes((len(mask_bytes) + 7) // 8, "little")


def _unpack_bits(bits: bytes, start: int, length: int) -> bytes:
    """Bytes ``start .. start + length - 1`` of the byte mask whose bits are ``bits``
    (the inverse of ``_pack_bits``, cut and zero-padded): eight translates, eight strided
    copies."""
    out = bytearray(len(bits) * 8)
    for j, table in enumerate(_BIT_TABLES):
        out[j::8] = bits.translate(table)
    out = out[start:start + length]
    if len(out) < length:
        out += bytes(length - len(out))
    return bytes(out)


_NONZERO = bytes(int(b != 0) for b in range(256))  # byte -> 1 if any bit of it is set
_BITS_OF = [tuple(j for j in range(8) if b >> j & 1) for b in range(256)]  # byte -> its set bits
_BIT = [1 << j for j in range(8)]
# fewer positions than this are set bit by bit in Python (~0.1 µs each); more, as a byte
# mask set in C and packed (~0.15 ms at 100,000 positions, whatever their number)
_LOOP_BELOW = 1024


def _bits_at(positions: Iterable[int], n: int, count: int | None = None) -> int:
    """The bit set (bit p = position p) of ``positions``, all below ``n``."""
    if count is not None and count < _LOOP_BELOW:
        buf = bytearray((n + 7) >> 3)
        bit = _BIT
        for p in positions:
            buf[p >> 3] |= bit[p & 7]
        return int.from_bytes(buf, "little")
    buf = bytearray(n)
    deque(map(buf.__setitem__, positions, repeat(1)), maxlen=0)
    return _pack_int(buf)


def _positions(bits: int, skip: int = 0, limit: int | None = None, end: int | None = None) -> list[int]:
    """The set bits of ``bits`` in ascending order (positions below ``end``), the first
    ``skip`` passed over, at most ``limit``: nonzero bytes found in C (a translate, then
    ``bytes.find``), whole bytes skipped by their bit count."""
    if end is not None and bits >> end:
        bits &= (1 << end) - 1
    data = bits.to_bytes((bits.bit_length() + 7) >> 3, "little")
    flags = data.translate(_NONZERO)
    out: list[int] = []
    if limit is not None and limit <= 0:
        return out
    i = flags.find(1)
    while i >= 0:
        set_bits = _BITS_OF[data[i]]
        if skip >= len(set_bits):
            skip -= len(set_bits)
        else:
            base = i << 3
            for j in set_bits[skip:]:
                out.append(base + j)
                if limit is not None and len(out) >= limit:
                    return out
            skip = 0
        i = flags.find(1, i + 1)
    return out


def _add_planes(a: list[int], b: list[int]) -> list[int]:
    """The sum of two numbers per position, each held as bit planes (plane j: bit j of
    every position's number): a ripple-carry adder over whole planes."""
    out: list[int] = []
    carry = 0
    for j in range(max(len(a), len(b))):
        x = a[j] if j < len(a) else 0
        y = b[j] if j < len(b) else 0
        half = x ^ y
        out.append(half ^ carry)
        carry = (x & y) | (carry & half)
    if carry:
        out.append(carry)
    while out and not out[-1]:
        out.pop()
    return out


def _scores_at(planes: list[int], positions: list[int]) -> list[int]:
    """The numbers the bit ``planes`` hold at ``positions``."""
    if not planes or not positions:
        return []
    out = [0] * len(positions)
    for j, plane in enumerate(planes):
        data = plane.to_bytes((plane.bit_length() + 7) >> 3, "little")
        for k, p in enumerate(positions):
            i = p >> 3
            if i < len(data) and data[i] >> (p & 7) & 1:
                out[k] |= 1 << j
    return out


def _small_rows(doc: Document, rowid: int) -> tuple[tuple, tuple]:
    """The ``docs`` and ``stored`` rows of ``doc``."""
    return (
        (
            rowid,
            doc.id,
            doc.kind,
            doc.field,
            doc.county,
            _modes_mask(doc.transfer_modes),
            int(doc.voucher_eligible),
            doc.price_fen,
            price_bucket(doc.price_fen),
            to_epoch_ms(doc.published_at),
        ),
        (rowid, doc.title, doc.body, doc.org_name, json.dumps(doc.transfer_modes), doc.org_text, doc.tags),
    )


def _rows(doc: Document, rowid: int) -> tuple[tuple, tuple, tuple, tuple]:
    small = _small_rows(doc, rowid)
    return small + _fts_rows(rowid, doc.title, doc.body, small[1][-2], small[1][-1])


_INSERTS = (
    "INSERT INTO docs VALUES (?,?,?,?,?,?,?,?,?,?)",
    "INSERT INTO stored VALUES (?,?,?,?,?,?,?)",
)
# the trigram table of each column a long term is looked up in, and where a tri row
# (rowid, ct, cb, co, ck) holds its text: one table per column, so that a phrase query
# reads the position lists of that column only (a column filter over one table read
# every column's: the title's query cost as much as the body's). The organisation is
# matched against its distinct values (``_Values``), never here.
_TRI_TABLES = {"ct": ("tri_t", 1), "cb": ("tri_b", 2), "ck": ("tri_k", 4)}


def _write_fts(conn: sqlite3.Connection, tri: list[tuple], gram: list[tuple], delete: bool = False) -> None:
    """Insert the ``tri`` rows (rowid, ct, cb, co, ck) and ``gram`` rows (rowid, g) of
    ``_fts_rows`` into the FTS tables — or, with ``delete``, remove them (contentless
    FTS5: a row is removed by repeating the values it was inserted with)."""
    for table, i in _TRI_TABLES.values():
        if delete:
            sql = f"INSERT INTO {table} ({table}, rowid, c) VALUES ('delete', ?, ?)"
        else:
            sql = f"INSERT INTO {table} (rowid, c) VALUES (?, ?)"
        conn.executemany(sql, [(row[0], row[i]) for row in tri])
    if delete:
        conn.executemany("INSERT INTO gram (gram, rowid, g) VALUES ('delete', ?,?)", gram)
    else:
        conn.executemany("INSERT INTO gram (rowid, g) VALUES (?,?)", gram)


def _prepare(texts: list[tuple[str, str, str, str]], first_rowid: int) -> tuple[list[tuple], list[tuple]]:
    """The ``tri`` and ``gram`` rows of (title, body, org_name, tags) texts, rowids from
    ``first_rowid``: the text work of a reindex, run in a helper process for big ones."""
    rows = [_fts_rows(i, *t) for i, t in enumerate(texts, start=first_rowid)]
    return [r[0] for r in rows], [r[1] for r in rows]


_GRAM_TAGS = {"ct": "t", "cb": "b", "co": "o", "ck": "k"}  # tri column -> tag of its gram tokens
# the columns in the order the query reads them, and the score tiers over them
_COLUMNS = ("ct", "co", "ck", "cb")
_TIERS = [({"title": 0, "org": 1, "tags": 2, "body": 3}[f], typed, score) for f, typed, score in TIERS]


def _tri_key(tag: str, trigram: str) -> str:
    """The ``bitmaps`` key of a trigram of one field's trigram table: "3", the field's tag
    letter, the trigram (a gram token's key starts with its tag letter, never "3")."""
    return "3" + tag + trigram


def _trigrams(pattern: str) -> list[str]:
    """The distinct trigram tokens of a canonical string (every run of three characters,
    as FTS5's trigram tokenizer cuts it), in order."""
    return list(dict.fromkeys(pattern[i:i + 3] for i in range(len(pattern) - 2)))


def _gram_text(ct: str, cb: str, co: str, ck: str) -> str:
    """The ``gram`` column: the tagged gram tokens of the three canonical strings. Their
    order varies between processes (set order); with ``detail = 'none'`` no position is
    stored, so the FTS5 'delete' of a row sees the same (token, rowid) pairs whatever
    the order — a 'delete' in one process undoes an insert prepared in another."""
    return " ".join(filter(None, (grams(ct, "t"), grams(cb, "b"), grams(co, "o"), grams(ck, "k"))))


def _fts_rows(rowid: int, title: str, body: str, org: str, tags: str) -> tuple[tuple, tuple]:
    ct, cb, co, ck = canonical(title), canonical(body), canonical(org), canonical(tags)
    return (rowid, ct, cb, co, ck), (rowid, _gram_text(ct, cb, co, ck))


def _worker_main() -> None:  # pragma: no cover - runs in the helper process
    """Helper process loop: read pickled (texts, first_rowid) frames from stdin, write the
    pickled ``_prepare`` result for each to stdout; stop at end of input."""
    import pickle
    import struct

    src, dst = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = src.read(8)
        if len(head) < 8:
            return
        texts, first = pickle.loads(src.read(struct.unpack("<Q", head)[0]))
        out = pickle.dumps(_prepare(texts, first), protocol=pickle.HIGHEST_PROTOCOL)
        dst.write(struct.pack("<Q", len(out)) + out)
        dst.flush()


class _Preparer:
    """Runs ``_prepare`` on chunks: in one helper process (a plain ``python -c`` child, so
    the caller's ``__main__`` is never re-imported) once a second chunk shows up and the
    machine has a spare CPU; inline otherwise, or if the child cannot be started.
    Results come back in submission order."""

    def __init__(self, inline: bool = False) -> None:
        self._inline = inline  # never a helper process (the caller's setting)
        self._proc: Any = None
        self._feeder: threading.Thread | None = None
        self._jobs: Any = None
        self._tried = False
        self._pending: deque = deque()  # inline results, or None for "read from the child"
        self.depth = 2  # chunks handed to the child ahead of the one being inserted

    def _start(self) -> None:
        self._tried = True
        if (os.cpu_count() or 1) < 2 or self._inline:
            return
        import queue
        import subprocess

        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        code = f"import sys; sys.path.insert(0, {root!r}); from search.fts5 import _worker_main; _worker_main()"
        try:
            self._proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE)
        except OSError:
            return
        self._jobs = queue.Queue()
        self._feeder = threading.Thread(target=self._feed, name="reindex-feeder", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        import pickle
        import struct

        stdin = self._proc.stdin
        try:
            while (job := self._jobs.get()) is not None:
                data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
                stdin.write(struct.pack("<Q", len(data)) + data)
                stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def submit(self, texts: list[tuple[str, str, str, str]], first_rowid: int, more_coming: bool) -> None:
        if more_coming and not self._tried:
            self._start()
        if self._proc is not None:
            self._jobs.put((texts, first_rowid))
            self._pending.append(None)
        else:
            self._pending.append(_prepare(texts, first_rowid))

    def _receive(self) -> tuple[list[tuple], list[tuple]]:
        import pickle
        import struct

        out = self._proc.stdout
        head = out.read(8)
        if len(head) < 8:
            raise RuntimeError(f"reindex helper process died (exit code {self._proc.poll()})")
        return pickle.loads(out.read(struct.unpack("<Q", head)[0]))

    def ready(self, wait_all: bool = False) -> Iterator[tuple[list[tuple], list[tuple]]]:
        """Finished batches, oldest first: all of them if ``wait_all``, else all but the
        ``depth`` newest the child may still be working on."""
        while self._pending and (wait_all or len(self._pending) > self.depth
                                 or self._pending[0] is not None):
            item = self._pending.popleft()
            yield self._receive() if item is None else item

    def close(self) -> None:
        self._pending.clear()
        if self._proc is not None:
            self._jobs.put(None)
            self._proc.stdout.close()  # a child blocked writing gets EPIPE and exits
            try:
                self._proc.wait(timeout=10)
            except Exception:
                self._proc.kill()
                self._proc.wait()
            if self._feeder is not None:
                self._feeder.join(timeout=10)
            self._proc = None


class EmbeddedBackend:
    """SQLite FTS5 search in the file at ``path`` (created if missing)."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 30.0,
                 term_cache_bytes: int = TERM_CACHE_BYTES, reindex_inline: bool = False) -> None:
        self.path = os.fspath(path)
        if self.path == ":memory:" or self.path.startswith("file:"):
            raise ValueError("the embedded backend needs a file path (one file, many connections)")
        self.timeout = timeout
        self.term_cache_bytes = term_cache_bytes
        self.reindex_inline = reindex_inline  # prepare a reindex in this process, no helper
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._snap: _Snapshot | None = None
        self.rebuilds = 0  # snapshots built from scratch by this process (bench, tests)

    # ------------------------------------------------------------ connections ----

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            directory = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(directory, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("PRAGMA mmap_size = 1073741824")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
        self._snap = None

    def warm(self) -> None:
        """Build this process's snapshot now and close the connections, keeping the
        snapshot: a preloading server's master calls this before it forks (see
        ``deploy/gunicorn.conf.py``), so that every worker starts with it (shared
        copy-on-write) instead of building its own on its first query — ~2 s at
        160,000 listings. SQLite connections must not cross a fork; a worker opens its
        own and, if the index moved on meanwhile, brings the snapshot forward from the
        change log as after any write."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            self._snapshot(conn)
        finally:
            conn.execute("COMMIT")
        snap = self._snap
        self.close()
        self._snap = snap

    # ----------------------------------------------------------------- writes ----

    def ensure_index(self) -> None:
        conn = self._conn()
        with _writing(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:  # nothing to do: leave other processes' snapshots be
                return
            if version != 0:
                _script(conn, _DROP)  # a derived index: rebuild it by reindexing
            _script(conn, _TABLES + _STEADY + _INDEXES)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            _new_epoch(conn)

    def _delete_rowids(self, conn: sqlite3.Connection, rowids: list[int]) -> None:
        tri: list[tuple] = []
        gram: list[tuple] = []
        for i in range(0, len(rowids), 500):
            part = rowids[i : i + 500]
            marks = ",".join("?" * len(part))
            for rowid, title, body, org, tags in conn.execute(
                    f"SELECT rowid, title, body, org_text, tags FROM stored WHERE rowid IN ({marks})", part):
                t, g = _fts_rows(rowid, title, body, org, tags)
                tri.append(t)
                gram.append(g)
        _write_fts(conn, tri, gram, delete=True)
        for table in ("stored", "docs"):
            conn.executemany(f"DELETE FROM {table} WHERE rowid = ?", [(r,) for r in rowids])

    def index(self, docs: Iterable[Document]) -> None:
        docs = list(docs)
        if not docs:
            return
        latest = {d.id: d for d in docs}  # the last version of an id wins
        conn = self._conn()
        with _writing(conn):
            ids = list(latest)
            existing = dict(self._lookup(conn, ids))
            self._delete_rowids(conn, list(existing.values()))
            # every version gets a fresh rowid, above any the reindex gave: the bitmaps
            # describe rows 1..base_rows as the reindex wrote them, and stay true for them
            next_rowid = conn.execute(
                "SELECT max(coalesce((SELECT max(rowid) FROM docs), 0),"
                " coalesce((SELECT value FROM meta WHERE key = 'max_rowid'), 0)) + 1").fetchone()[0]
            batches: list[list[tuple]] = [[], [], [], []]
            for rowid, doc_id in enumerate(ids, start=next_rowid):
                for batch, row in zip(batches, _rows(latest[doc_id], rowid)):
                    batch.append(row)
            for sql, batch in zip(_INSERTS, batches):
                conn.executemany(sql, batch)
            _write_fts(conn, batches[2], batches[3])
            conn.execute("UPDATE meta SET value = ? WHERE key = 'max_rowid'", (next_rowid + len(ids) - 1,))
            self._log(conn, list(existing.values()) + [row[0] for row in batches[0]])

    @staticmethod
    def _log(conn: sqlite3.Connection, rowids: list[int]) -> None:
        """Start a new generation and note the rowids it changed (added, replaced or
        removed), so that other processes bring their snapshots up to date from these
        rows instead of rebuilding them; entries older than ``CHANGES_KEPT`` generations
        are pruned (a snapshot that old is rebuilt)."""
        generation = conn.execute(_BUMP + " RETURNING value").fetchone()[0]
        conn.executemany("INSERT INTO changes VALUES (?, ?)", [(generation, r) for r in rowids])
        if generation % 64 == 0:
            floor = generation - CHANGES_KEPT
            if floor > 0:
                conn.execute("DELETE FROM changes WHERE generation <= ?", (floor,))
                conn.execute("UPDATE meta SET value = max(value, ?) WHERE key = 'complete_after'", (floor,))

    def _lookup(self, conn: sqlite3.Connection, ids: list[str]) -> Iterator[tuple[str, int]]:
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            yield from conn.execute(f"SELECT id, rowid FROM docs WHERE id IN ({marks})", part)

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return
        conn = self._conn()
        with _writing(conn):
            rowids = [rowid for _, rowid in self._lookup(conn, ids)]
            self._delete_rowids(conn, rowids)
            self._log(conn, rowids)

    def reindex(self, docs: Iterable[Document], progress: ProgressCallback | None = None) -> int:
        """Rebuild every table inside one write transaction: readers (WAL) keep seeing the
        old index until COMMIT, then the new one; writers (other connections, other
        processes) wait for it and then apply their change on top — nothing is lost."""
        conn = self._conn()
        conn.execute("PRAGMA synchronous = OFF")  # derived data: reindex again after a crash
        conn.execute("BEGIN IMMEDIATE")
        preparer = _Preparer(inline=self.reindex_inline)
        try:
            _script(conn, _DROP + _TABLES)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            _script(conn, _BULK_LOAD)
            n = 0
            seen: set[str] = set()
            chunk: list[tuple[str, str, str, str]] = []
            small: tuple[list[tuple], list[tuple]] = ([], [])

            def insert_small() -> None:
                for sql, batch in zip(_INSERTS, small):
                    conn.executemany(sql, batch)
                    batch.clear()

            def insert_fts(batches: tuple[list[tuple], list[tuple]]) -> None:
                _write_fts(conn, *batches)

            # rowids in rank order (newest first, then id): the compaction below ranks them
            # 1..n, so a snapshot's position p is rowid p + 1 until the next one
            for doc in sorted(docs, key=_rank_key):
                if doc.id in seen:
                    raise ValueError(f"duplicate document id in reindex: {doc.id}")
                seen.add(doc.id)
                if len(chunk) >= CHUNK:
                    preparer.submit(chunk, n - len(chunk) + 1, more_coming=True)
                    chunk = []
                    insert_small()
                    for batches in preparer.ready():
                        insert_fts(batches)
                        if progress:
                            progress(batches[0][-1][0])
                n += 1
                for batch, row in zip(small, _small_rows(doc, n)):
                    batch.append(row)
                chunk.append((doc.title, doc.body, small[1][-1][-2], small[1][-1][-1]))
            if chunk:
                preparer.submit(chunk, n - len(chunk) + 1, more_coming=False)
            insert_small()
            for batches in preparer.ready(wait_all=True):
                insert_fts(batches)
            _script(conn, _STEADY + _INDEXES)
            conn.execute("UPDATE meta SET value = 0 WHERE key = 'base_rows'")
            conn.execute("UPDATE meta SET value = ? WHERE key = 'max_rowid'", (n,))
            _new_epoch(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            preparer.close()
            conn.execute("PRAGMA synchronous = NORMAL")
        self.compact(optimize=True)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE docs")
        if progress:
            progress(n)
        return n

    def tail_rows(self) -> int:
        """Listings written since the bitmaps were (the rows a snapshot tests on their text)."""
        conn = self._conn()
        return conn.execute("SELECT count(*) FROM docs WHERE rowid > (SELECT value FROM meta"
                            " WHERE key = 'base_rowid')").fetchone()[0]

    def compact_due(self) -> bool:
        """Whether the tail has grown to half the size past which snapshots give up the
        bitmaps (``_tail_limit``): the worker's timed job compacts then, well before."""
        conn = self._conn()
        base = conn.execute("SELECT value FROM meta WHERE key = 'base_rows'").fetchone()
        return self.tail_rows() * 2 >= _tail_limit(base[0] if base else 0)

    def compact(self, optimize: bool = False) -> bool:
        """Rank every listing afresh and write the bitmaps over that order: the rows
        written since the last reindex or compaction (the tail) join the ranked part, so
        queries read them from bitmaps too instead of testing their text.

        The work is done in a *read* transaction (a consistent view at one generation G:
        writers go on meanwhile); only the result is written, in a short write
        transaction. That result stays true whatever was written after G: a listing
        changed since G got a fresh rowid above G's ``max_rowid`` (so it is in the tail,
        and its old rowid, now dead, is simply missing from ``docs``) — rows are never
        changed in place. It is dropped if a reindex or another compaction got in first.
        Readers in other processes see a new epoch and rebuild their snapshot once.

        A bitmap over positions 0..n-1 (the ranked rowids, newest first, then id) is
        written for every gram token in at least 1/``BITMAP_SHARE`` of the listings (the
        common characters and words, whose doclists are long), so that a query reads such
        a term's listings as one blob instead of walking tens of thousands of rowids in
        FTS5 and Python. With ``optimize`` (after a reindex) both FTS indexes are first
        merged into one segment each (a phrase of the trigram index reads its long
        position lists from every segment; ~10 s at 100,000 listings, under the write
        lock). Returns whether the result was written."""
        conn = self._conn()
        if optimize:
            with _writing(conn):
                for table, _ in _TRI_TABLES.values():
                    conn.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
                conn.execute("INSERT INTO gram (gram) VALUES ('optimize')")
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.gram_vocab USING fts5vocab(main, gram, row)")
        for table, _ in _TRI_TABLES.values():
            conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{table}_vocab USING fts5vocab(main, {table}, row)")
        conn.execute("BEGIN")  # one consistent view; no write lock
        try:
            generation = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
            top = conn.execute("SELECT max(coalesce((SELECT max(rowid) FROM docs), 0),"
                               " (SELECT value FROM meta WHERE key = 'max_rowid'))").fetchone()[0]
            ranked = [r for (r,) in conn.execute("SELECT rowid FROM docs ORDER BY published_ms DESC, id")]
            n = len(ranked)
            position = [0] * (top + 1)
            for p, rowid in enumerate(ranked):
                position[rowid] = p
            floor = max(1, n // BITMAP_SHARE)
            # (table, token, the bitmaps row's key): gram tokens as they are, trigrams
            # under their field's key (``_tri_key``)
            wanted = [("gram", t, t) for (t,) in conn.execute(
                "SELECT term FROM temp.gram_vocab WHERE doc >= ?", (floor,))]
            for column, (table, _) in _TRI_TABLES.items():
                wanted += [(table, t, _tri_key(_GRAM_TAGS[column], t)) for (t,) in conn.execute(
                    f"SELECT term FROM temp.{table}_vocab WHERE doc >= ?", (floor,))]
            rows = []
            for table, token, key in wanted:
                found = conn.execute(f"SELECT group_concat(rowid) FROM {table} WHERE {table} MATCH ?",
                                     (_fts_phrase(token),)).fetchone()[0]
                if not found:
                    continue
                buf = bytearray(n)
                deque(map(buf.__setitem__, map(position.__getitem__, json.loads(f"[{found}]")), repeat(1)),
                      maxlen=0)
                rows.append((key, _pack_bits(bytes(buf))))
        finally:
            conn.execute("COMMIT")
        conn.execute("DROP TABLE temp.gram_vocab")
        for table, _ in _TRI_TABLES.values():
            conn.execute(f"DROP TABLE temp.{table}_vocab")
        blob = array("q", ranked)
        if sys.byteorder != "little":
            blob.byteswap()
        with _writing(conn):
            if conn.execute("SELECT value FROM meta WHERE key = 'complete_after'").fetchone()[0] > generation:
                return False  # a reindex (or another compaction) after G: its own bitmaps stand
            conn.execute("DELETE FROM bitmaps")
            conn.executemany("INSERT INTO bitmaps VALUES (?, ?)", rows)
            conn.execute("INSERT OR REPLACE INTO ranked VALUES (1, ?)", (blob.tobytes(),))
            conn.execute("UPDATE meta SET value = ? WHERE key = 'base_rows'", (n,))
            conn.execute("UPDATE meta SET value = ? WHERE key = 'base_rowid'", (top,))
            _new_epoch(conn)
        return True

    # ----------------------------------------------------------------- reads -----

    def count(self) -> int:
        return self._conn().execute("SELECT count(*) FROM docs").fetchone()[0]

    def _snapshot(self, conn: sqlite3.Connection) -> "_Snapshot":
        """The snapshot for the generation visible in the current read transaction: the
        process's own if current; else brought up to date from the change log (the rows
        other writers changed since); rebuilt only after a reindex, after a long absence
        (pruned log) or once too many changed listings sit outside its ranked part."""
        generation = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
        snap = self._snap
        if snap is not None and snap.generation == generation:
            return snap
        with self._lock:  # one thread of the process updates; the others use the result
            snap = self._snap
            if snap is not None and snap.generation == generation:
                return snap
            complete_after = conn.execute("SELECT value FROM meta WHERE key = 'complete_after'").fetchone()[0]
            fresh = None
            if snap is not None and complete_after <= snap.generation < generation:
                changed = [r for (r,) in conn.execute(
                    "SELECT DISTINCT rowid_ FROM changes WHERE generation > ?", (snap.generation,))]
                if snap.tail_size + len(changed) <= _tail_limit(snap.base_n):
                    fresh = snap.advanced(conn, generation, changed)
            if fresh is None:
                found = conn.execute("SELECT rowids FROM ranked WHERE id = 1").fetchone()
                ranked = None
                if found:
                    ranked = array("q")
                    ranked.frombytes(found[0])
                    if sys.byteorder != "little":
                        ranked.byteswap()
                base_rowid = conn.execute("SELECT value FROM meta WHERE key = 'base_rowid'").fetchone()[0]
                fresh = _Snapshot.build(conn, generation, self.term_cache_bytes, ranked, base_rowid)
                self.rebuilds += 1
            self._snap = fresh
            return fresh

    def _rowids(self, conn: sqlite3.Connection, terms: tuple[Term, ...], column: str) -> list[int]:
        """Rowids where any of ``terms`` matches in one FTS column (ct, co, ck or cb): one
        FTS5 query (an OR) per index, not one per term. A rowid may repeat."""
        short = [t.gram for t in terms if t.gram is not None]
        long_ = [t.pattern for t in terms if t.gram is None]
        queries = []
        if short:  # a gram token, or any token a single CJK character starts
            tag = _GRAM_TAGS[column]
            queries.append(("gram", " OR ".join(_fts_phrase(tag + x) + (" *" if prefix else "")
                                                for x, prefix in short)))
        if long_:
            queries.append((_TRI_TABLES[column][0], " OR ".join(map(_fts_phrase, long_))))
        out: list[int] = []
        for table, match in queries:
            found = conn.execute(f"SELECT group_concat(rowid) FROM {table} WHERE {table} MATCH ?",
                                 (match,)).fetchone()[0]
            if found:
                out += json.loads(f"[{found}]")  # C-speed parse
        return out

    def _term_masks(self, conn: sqlite3.Connection, snap: "_Snapshot", terms: tuple[Term, ...]) -> tuple[int, ...]:
        """(title, org, tags, body) bit sets of "any of ``terms``", from the snapshot's
        cache if there."""
        masks = snap.cached(terms)
        if masks is None:
            if snap.bitmap_rows:
                masks = self._bitmap_masks(conn, snap, terms)
            else:
                masks = tuple(snap.value_mask(c, terms) if c in snap.values
                              else snap.mask(self._rowids(conn, terms, column))
                              for c, column in enumerate(_COLUMNS))
            snap.remember(terms, masks)
        return masks

    @staticmethod
    def _gram_rowids(conn: sqlite3.Connection, token: str, seen: dict[str, set[int]]) -> set[int]:
        """Rowids holding one gram token (for tokens without a bitmap: fewer than
        1/``BITMAP_SHARE`` of the listings), remembered in ``seen`` for the query."""
        got = seen.get(token)
        if got is None:
            found = conn.execute("SELECT group_concat(rowid) FROM gram WHERE gram MATCH ?",
                                 (_fts_phrase(token),)).fetchone()[0]
            got = seen[token] = set(json.loads(f"[{found}]")) if found else set()
        return got

    def _bitmap_masks(self, conn: sqlite3.Connection, snap: "_Snapshot", terms: tuple[Term, ...]) -> tuple[int, ...]:
        """``_term_masks`` where the snapshot's ranked part is the bitmaps' (``snap.bitmap_rows``).
        Per column: a term whose gram token has a bitmap is read from it — in the
        organisation's field too, where any other term is matched against the distinct
        names (``_Values``); a longer term whose trigrams all have bitmaps is their AND
        (``_trigram_mask``); any other longer term (trigram index) is asked of FTS5 only if
        the bitmaps of its own gram tokens (each one a listing must hold in that field to
        contain the term) leave some listing in — a field none can match costs no phrase
        query over long position lists. The rows written since the reindex (the tail)
        are tested on their canonical text."""
        needs: dict[tuple[int, Term], list[str]] = {}  # (column, long term) -> its gram tokens
        tokens: set[str] = set()
        for c, column in enumerate(_COLUMNS):
            tag = _GRAM_TAGS[column]
            for t in terms:
                if t.gram is not None:
                    tokens.add(tag + t.gram[0])
                elif c not in snap.values:
                    needs[c, t] = [tag + g for g in grams(t.pattern).split()]
                    tokens.update(needs[c, t])
                    tokens.update(_tri_key(tag, x) for x in _trigrams(t.pattern))
        found: dict[str, bytes] = {}
        rare: dict[str, set[int]] = {}
        if tokens:
            keys = sorted(tokens)
            marks = ",".join("?" * len(keys))
            found = dict(conn.execute(f"SELECT token, bits FROM bitmaps WHERE token IN ({marks})", keys))
        out = []
        for c, column in enumerate(_COLUMNS):
            tag = _GRAM_TAGS[column]
            from_bits = [t for t in terms if t.gram is not None and tag + t.gram[0] in found]
            skipped: list[Term] = []  # long terms no listing can hold in this field
            from_tris: list[Term] = []
            m = 0
            if c in snap.values:
                # the organisation: a common gram token's bitmap (one blob however many
                # names hold it); the rest against the distinct names, tail included
                rest = tuple(t for t in terms if t not in from_bits)
                if rest:
                    m = snap.value_mask(c, rest)
            else:
                for t in terms:
                    if t.gram is not None:
                        continue
                    keys = [_tri_key(tag, x) for x in _trigrams(t.pattern)]
                    if keys and all(k in found for k in keys):
                        # its trigrams all have bitmaps (all common): the listings holding
                        # every one of them, less those FTS5 finds without the phrase (few:
                        # the trigrams apart) — not the phrase's long list of rowids
                        from_tris.append(t)
                        m |= self._trigram_mask(conn, snap, column, t.pattern, [found[k] for k in keys])
                        continue
                    candidates = -1
                    for g in needs[c, t]:
                        if g in found:
                            candidates &= int.from_bytes(found[g], "little")
                            if not candidates:
                                break
                    if candidates:
                        # its rarer gram tokens (no bitmap: short doclists, cheap to read
                        # whole) must all be held by one listing, or the phrase query over
                        # the long position lists of its trigrams can only find nothing
                        common: set[int] | None = None
                        for g in needs[c, t]:
                            if g not in found:
                                common = self._gram_rowids(conn, g, rare) if common is None \
                                    else common & self._gram_rowids(conn, g, rare)
                                if not common:
                                    break
                        if common is None or common:
                            continue
                    skipped.append(t)
                rest = tuple(t for t in terms if t not in from_bits and t not in skipped and t not in from_tris)
                if rest:
                    m |= snap.mask(self._rowids(conn, rest, column))
            if from_bits:  # a bitmap is the bit set itself: bit p, position p
                held = 0
                for t in from_bits:
                    held |= int.from_bytes(found[tag + t.gram[0]], "little")
                if held.bit_length() > snap.bitmap_rows:  # never past the ranked part
                    held &= (1 << snap.bitmap_rows) - 1
                m |= held
            patterns = [t.pattern for t in from_bits + skipped + from_tris]
            if patterns:
                for p, texts in snap._tail_texts.items():
                    text = texts[c]
                    if any(pattern in text for pattern in patterns):
                        m |= 1 << p
            out.append(m)
        return tuple(out)

    @staticmethod
    def _trigram_mask(conn: sqlite3.Connection, snap: "_Snapshot", column: str, pattern: str,
                      blobs: list[bytes]) -> int:
        """The ranked listings whose field ``column`` holds ``pattern``, from the bitmaps of
        its trigrams (``blobs``): every one of them held, and, for more than one, not
        where FTS5 finds them all but not the phrase (``NOT``: rowids of the few
        listings that hold the trigrams apart). Positions past the ranked part are left
        to the caller (the tail is tested on its text)."""
        m = -1
        for blob in blobs:
            m &= int.from_bytes(blob, "little")
            if not m:
                return 0
        if m.bit_length() > snap.bitmap_rows:
            m &= (1 << snap.bitmap_rows) - 1
        tris = _trigrams(pattern)
        if len(tris) > 1 and m:
            table = _TRI_TABLES[column][0]
            match = "(" + " AND ".join(map(_fts_phrase, tris)) + ") NOT " + _fts_phrase(pattern)
            found = conn.execute(f"SELECT group_concat(rowid) FROM {table} WHERE {table} MATCH ?",
                                 (match,)).fetchone()[0]
            if found:
                apart = snap.mask(json.loads(f"[{found}]"))
                m = (m | apart) ^ apart  # m without them
        return m

    def query(self, q: SearchQuery) -> SearchResults:
        conn = self._conn()
        terms = parse_query(q.text)
        conn.execute("BEGIN")  # one snapshot for everything below
        try:
            snap = self._snapshot(conn)
            selected = snap.live
            planes: list[int] = []  # bit j of every listing's score: plane j, bit p = position p
            for alternatives in terms:
                typed = anything = self._term_masks(conn, snap, alternatives[:1])
                if len(alternatives) > 1:
                    others = self._term_masks(conn, snap, alternatives[1:])
                    anything = tuple(a | b for a, b in zip(typed, others))
                selected &= anything[0] | anything[1] | anything[2] | anything[3]
                if selected:  # each listing scores the best tier the term reaches there
                    reached = 0
                    value_bits = [0, 0, 0, 0]  # the term's score, bit j (tier values < 16)
                    for column, typed_only, value in _TIERS:
                        # (x | r) ^ r is x without r: cheaper than x & ~r on big ints
                        # (no negative number to make and mask)
                        m = (typed if typed_only else anything)[column]
                        m = (m | reached) ^ reached
                        if m:
                            for j in _BITS_OF[value]:
                                value_bits[j] |= m
                            reached |= m
                    planes = _add_planes(planes, value_bits)
            for name, value in (("kind", q.kind), ("field", q.field), ("county", q.county),
                                ("transfer_mode", q.transfer_mode),
                                ("voucher_eligible", q.voucher_eligible)):
                if value is not None:
                    selected &= snap.bits.get((name, value), 0)
            if q.price_min_fen is not None or q.price_max_fen is not None:
                selected &= snap.price_mask(q.price_min_fen, q.price_max_fen)
            offset, limit = q.window
            if q.facets:
                facets = snap.facets(selected)
                total = sum(n for _, n in facets["kind"])  # every listing has one kind
            else:
                facets = {}
                total = selected.bit_count()
            positions: list[int] = []
            scores: list[int] = []
            if limit and total > offset:
                if terms and q.sort == "relevance":
                    positions, scores = snap.page_by_score(planes, selected, offset, limit)
                else:
                    if q.sort in ("price_asc", "price_desc"):
                        positions = snap.page_by_price(selected, q.sort, offset, limit, total)
                    else:
                        positions = snap.page_by_rank(selected, offset, limit)
                    scores = _scores_at(planes, positions)
            hits = self._hits(conn, [snap.rowid_at[p] for p in positions],
                              scores or [0] * len(positions), all_terms(terms))
        finally:
            conn.execute("COMMIT")
        return SearchResults(total=total, hits=hits, facets=facets)

    def _hits(self, conn: sqlite3.Connection, rowids: list[int], scores: list[int], terms: list[Term]):
        if not rowids:
            return []
        marks = ",".join("?" * len(rowids))
        rows = conn.execute(
            "SELECT d.rowid, d.id, d.kind, d.field, d.county, d.price_fen, d.voucher, d.published_ms,"
            " s.title, s.body, s.org_name, s.modes_json"
            f" FROM docs d JOIN stored s ON s.rowid = d.rowid WHERE d.rowid IN ({marks})",
            rowids,
        ).fetchall()
        by_rowid = {}
        for (rowid, id_, kind, field, county, price, voucher, ms, title, body, org, modes) in rows:
            by_rowid[rowid] = {
                "id": id_, "kind": kind, "field": field, "county": county, "price_fen": price,
                "voucher_eligible": voucher, "published_ms": ms, "title": title, "body": body,
                "org_name": org, "transfer_modes": json.loads(modes),
            }
        return [make_hit(by_rowid[r], s, terms) for r, s in zip(rowids, scores)]

    # ------------------------------------------------------------------ misc ----

    def drop(self) -> None:
        """Delete the index file (tests, and to start over)."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(self.path + suffix)
            except FileNotFoundError:
                pass


def _identity_prefix(rowid_at: list[int]) -> int:
    """The largest k such that position p holds rowid p + 1 for every p < k (all of them
    after a reindex, which writes rowids in rank order): list comparisons in C, a binary
    search over the prefix length."""
    n = len(rowid_at)
    if rowid_at[:n] == list(range(1, n + 1)):
        return n
    lo, hi = 0, n  # the prefix of length lo is the identity, of length hi not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if rowid_at[:mid] == list(range(1, mid + 1)):
            lo = mid
        else:
            hi = mid
    return lo


# facet columns of a snapshot row (``_SNAPSHOT_COLUMNS``): name, index, facet value of a
# column value (transfer modes, a bit field, apart)
_FACET_COLUMNS = (("kind", 2, None), ("field", 3, None), ("county", 4, None), ("voucher_eligible", 6, bool),
                  ("price_range", 7, None))
# a dead position (a listing deleted since the ranking): no kind, no facet value
_DEAD_ROW = (0, "", None, None, None, 0, None, None, None, 0)


def _column_codes(values: list) -> tuple[bytes, dict[Any, int]] | None:
    """A code byte per value (None: 0; each distinct value 1, 2, ... in order of first
    appearance) and the codes given, or None past 255 distinct values."""
    coded: dict[Any, int] = {}
    for value in dict.fromkeys(values):  # distinct, in C
        if value is not None:
            coded[value] = len(coded) + 1
    if len(coded) > 255:
        return None
    table = {None: 0, **coded}
    return bytes(map(table.__getitem__, values)), coded


_SNAPSHOT_COLUMNS = "rowid, id, kind, field, county, modes, voucher, bucket, price_fen, published_ms"


def _facet_keys(kind, field, county, modes, voucher, bucket) -> list[tuple[str, Any]]:
    keys = [("kind", kind), ("voucher_eligible", bool(voucher)), ("price_range", bucket)]
    if field is not None:
        keys.append(("field", field))
    if county is not None:
        keys.append(("county", county))
    keys += [("transfer_mode", m) for i, m in enumerate(TRANSFER_MODES) if modes & (1 << i)]
    return keys


class _Values:
    """The distinct values of a field many listings share (organisation names: a few
    thousand strings for 100,000 listings), each with the positions that hold it: a
    term is tested against every distinct canonical string at once (``str.find`` over
    them joined by newlines, which no canonical string holds) instead of asking FTS5 for
    tens of thousands of rowids — the same rule (substring of the canonical string) the
    indexes answer. Copied on write: a snapshot brought up to date shares the lists it
    does not extend."""

    def __init__(self, texts: list[str], positions: list[list[int]], layers: list[bytes] | None = None,
                 coded: int = 0) -> None:
        self.texts = texts  # canonical strings
        self.positions = positions  # each sorted
        self.index = {t: i for i, t in enumerate(texts)}
        self._joined: tuple[str, list[int]] | None = None
        # positions 0 .. coded - 1 also as codes, one byte string per byte of the code:
        # value i has code i + 1 (0: none), byte k of it at layers[k][p] — so the listings
        # of many values are found by a translate per layer, not position by position
        self.layers = layers or []
        self.coded = coded
        self.coded_values = len(texts) if coded else 0  # values added later have no code

    @classmethod
    def of(cls, groups: Iterable[tuple[str, list[int]]], n: int = 0) -> "_Values":
        """From (raw text, its positions in order) pairs over positions ``0 .. n - 1``.
        The most common values come first, so that they share one code group (the same
        higher bytes)."""
        by_canonical: dict[str, list[list[int]]] = {}
        for raw, ps in groups:
            by_canonical.setdefault(canonical(raw), []).append(ps)
        merged = [(text, lists[0] if len(lists) == 1 else sorted(chain.from_iterable(lists)))
                  for text, lists in by_canonical.items()]
        ordered = sorted(merged, key=lambda item: -len(item[1]))
        positions = [ps for _, ps in ordered]
        layers: list[bytearray] = []
        top = len(positions)
        while top:
            layers.append(bytearray(n))
            top >>= 8
        for i, ps in enumerate(positions):
            code = i + 1
            for layer in layers:
                if code & 255:
                    deque(map(layer.__setitem__, ps, repeat(code & 255)), maxlen=0)
                code >>= 8
        return cls([t for t, _ in ordered], positions, [bytes(layer) for layer in layers], n)

    def extended(self, added: list[tuple[str, int]]) -> "_Values":
        """A copy with (canonical text, position) pairs added."""
        texts, positions, index = list(self.texts), list(self.positions), dict(self.index)
        copied: set[int] = set()
        for text, p in added:
            i = index.get(text)
            if i is None:
                i = index[text] = len(texts)
                texts.append(text)
                positions.append([])
                copied.add(i)
            elif i not in copied:
                positions[i] = list(positions[i])
                copied.add(i)
            positions[i].append(p)
        new = _Values.__new__(_Values)
        new.texts, new.positions, new.index, new._joined = texts, positions, index, None
        # the added positions are past ``coded``, the added values past ``coded_values``
        new.layers, new.coded, new.coded_values = self.layers, self.coded, self.coded_values
        return new

    def matching(self, patterns: list[str]) -> list[int]:
        """Indexes of the values holding any of ``patterns``."""
        if self._joined is None:
            starts, at = [], 0
            for t in self.texts:
                starts.append(at)
                at += len(t) + 1
            self._joined = ("\n".join(self.texts), starts)
        joined, starts = self._joined
        found: set[int] = set()
        for pattern in patterns:
            at = joined.find(pattern)
            while at >= 0:
                i = bisect.bisect_right(starts, at) - 1
                found.add(i)
                if i + 1 >= len(starts):
                    break
                at = joined.find(pattern, starts[i + 1])
        return sorted(found)

    def mask(self, hit: list[int], n: int) -> int:
        """The bit set over ``n`` positions of the listings holding any of the values
        ``hit``. Per code group (values whose codes differ only in the lowest byte): a
        translate of the lowest layer (and one per higher layer, to keep the group's
        own), C-speed at ~0.3 ms a group however many listings, then packed to bits; a
        group of few listings, and the positions added past ``coded``, are set one by one."""
        groups: dict[int, list[int]] = {}
        uncoded = []
        for i in hit:
            if i < self.coded_values:
                groups.setdefault((i + 1) >> 8, []).append(i)
            else:
                uncoded.append(i)
        if uncoded:
            groups[-1] = uncoded
        translated: list[bytes] = []  # byte masks (one 0/1 byte per position)
        loose: list[list[int]] = []
        coded = self.coded
        for high, members in groups.items():
            lists = [self.positions[i] for i in members]
            if high >= 0 and sum(map(len, lists)) >= _TRANSLATE_FROM:
                table = bytearray(256)
                for i in members:
                    table[(i + 1) & 255] = 1
                g = self.layers[0].translate(table)
                if len(self.layers) > 1:
                    gi = int.from_bytes(g, "little")
                    for layer in self.layers[1:]:
                        gi &= int.from_bytes(layer.translate(_EQUALS[high & 255]), "little")
                        high >>= 8
                    g = gi.to_bytes(len(g), "little")
                translated.append(g)
                lists = [ps[bisect.bisect_left(ps, coded):] for ps in lists]
            loose += [ps for ps in lists if ps]
        bits = 0
        if translated:
            g = translated[0]
            if len(translated) > 1:
                gi = 0
                for t in translated:
                    gi |= int.from_bytes(t, "little")
                g = gi.to_bytes(len(g), "little")
            bits = _pack_int(g)
        if loose:
            bits |= _bits_at(chain.from_iterable(loose), n, sum(map(len, loose)))
        return bits


class _Snapshot:
    """The small columns of every listing as bit sets over *positions*: a Python int
    whose bit ``p`` is set when the listing at position ``p`` is in.

    Positions ``0 .. base_n - 1`` are the listings of the last rebuild in rank order
    (0 = newest; ties by id), so newest-first paging reads set bits in order. A snapshot is
    brought up to date (``advanced``) without a rebuild: a changed listing's old
    position is switched off in ``live`` (every query starts from ``live``) and its new
    version, if any, gets a fresh position at the end — the *tail*, kept in its own
    sorted lists and merged into pages. Cached term masks are carried over and extended
    for the tail listings by testing the term against their canonical strings in Python
    (the same rule the FTS indexes answer, see ``search.text``), so a write costs other
    processes microseconds per changed listing, not a rebuild."""

    generation: int
    n: int  # positions (live and dead)
    base_n: int

    @classmethod
    def build(cls, conn: sqlite3.Connection, generation: int, cache_bytes: int = TERM_CACHE_BYTES,
              ranked: Iterable[int] | None = None, base_rowid: int = 0) -> "_Snapshot":
        """From the ``docs`` table. With ``ranked`` (the rowids the last reindex or
        compaction ranked, in rank order, and bitmaps over them, see
        ``EmbeddedBackend.compact``): position p is ``ranked[p]`` (a listing deleted since
        leaves a dead position), and the rows written since (fresh rowids above
        ``base_rowid``) make the tail — so a bitmap is a mask over positions as it stands.
        Otherwise every row is ranked afresh."""
        self = cls()
        self.generation = generation
        self.bitmap_rows = 0
        rows: list = []
        tail_rows: list = []
        rowid_at: list[int] = []
        ranked = list(ranked or ())
        if ranked and conn.execute("SELECT count(*) FROM docs WHERE rowid > ?",
                                   (base_rowid,)).fetchone()[0] > _tail_limit(len(ranked)):
            ranked = []  # too many rows written since: rank everything afresh, without the bitmaps
        if ranked:
            found = conn.execute(f"SELECT {_SNAPSHOT_COLUMNS} FROM docs WHERE rowid <= ? ORDER BY rowid",
                                 (base_rowid,)).fetchall()
            if len(found) == len(ranked) and [r[0] for r in found] == ranked:
                rows = found  # nothing deleted, ranked in rowid order (a reindex's): as read
            else:
                where = dict(zip(ranked, range(len(ranked))))
                rows = [None] * len(ranked)
                for r in found:
                    p = where.get(r[0])
                    if p is None:  # not what compact() leaves: never trust the bitmaps then
                        ranked = []
                        break
                    rows[p] = r
        if ranked:
            tail_rows = conn.execute(
                f"SELECT {', '.join('d.' + c for c in _SNAPSHOT_COLUMNS.split(', '))},"
                " s.title, s.org_text, s.tags, s.body FROM docs d JOIN stored s ON s.rowid = d.rowid"
                " WHERE d.rowid > ? ORDER BY d.published_ms DESC, d.id", (base_rowid,)).fetchall()
            self.bitmap_rows = len(ranked)
            rowid_at = ranked
        else:
            rows = conn.execute(f"SELECT {_SNAPSHOT_COLUMNS} FROM docs ORDER BY published_ms DESC, id").fetchall()
            rowid_at = [r[0] for r in rows]
        base_n = self.base_n = len(rows)
        n = self.n = base_n + len(tail_rows)
        everything = rows + [r[:10] for r in tail_rows]
        self.rowid_at = rowid_at + [r[0] for r in tail_rows]
        self.id_at = [r[1] if r else "" for r in everything]
        self.price_at = [r[8] if r else None for r in everything]
        self.ms_at = [r[9] if r else 0 for r in everything]
        size = (max(self.rowid_at) + 1) if everything else 0
        self.identity = _identity_prefix(self.rowid_at)
        self.pos_of = [0] * size
        deque(map(self.pos_of.__setitem__, self.rowid_at, range(n)), maxlen=0)
        # facet masks column by column, in C where it can be: each value of a column a
        # code byte per position (0: none, or a dead position), each value's byte mask one
        # translate of the codes — not a Python loop over every listing and its keys
        dead = everything.count(None)
        live_bytes = bytes(map(bool, everything)) if dead else b"\x01" * n  # rows are tuples
        full = [r if r is not None else _DEAD_ROW for r in everything] if dead else everything
        masks: dict[tuple[str, Any], bytes] = {}
        for name, i, as_key in _FACET_COLUMNS:
            codes = _column_codes([r[i] for r in full])
            if codes is None:  # more distinct values than a byte holds: position by position
                members: dict[Any, list[int]] = {}
                for rank, value in enumerate(r[i] for r in full):
                    if value is not None:
                        members.setdefault(value, []).append(rank)
                for value, ranks in members.items():
                    buf = bytearray(n)
                    deque(map(buf.__setitem__, ranks, repeat(1)), maxlen=0)
                    masks[name, as_key(value) if as_key else value] = bytes(buf)
                continue
            code_bytes, coded = codes
            for value, code in coded.items():
                masks[name, as_key(value) if as_key else value] = code_bytes.translate(_EQUALS[code])
        modes = bytes([r[5] for r in full])  # bit i set = TRANSFER_MODES[i] offered
        for i, mode in enumerate(TRANSFER_MODES):
            m = modes.translate(_BIT_TABLES[i])
            if m.count(1):
                masks["transfer_mode", mode] = m
        # one *bit* per position: ANDing and counting a facet value costs microseconds
        self.bits = {key: _pack_int(m) for key, m in masks.items()}
        self.live = _pack_int(live_bytes) if dead else (1 << n) - 1
        base_prices = self.price_at[:base_n]
        priced = sorted(compress(zip(base_prices, range(base_n)), map(is_not, base_prices, repeat(None))))
        unpriced = [r for r, price in enumerate(base_prices) if price is None and live_bytes[r]]
        self.prices = [p for p, _ in priced]
        self.priced_ranks = [r for _, r in priced]
        self.orders = {
            "price_asc": self.priced_ranks + unpriced,
            "price_desc": [r for _, r in sorted(zip(map(neg, self.prices), self.priced_ranks))] + unpriced,
        }
        self.tail: list[int] = list(range(base_n, n))  # tail positions, newest first (then id)
        self.tail_size = len(self.tail)
        # term -> masks, least recently used first, with the canonical strings of the
        # tail listings to extend them by
        self._terms: OrderedDict[tuple[Term, ...], tuple[int, ...]] = OrderedDict()
        self._tail_texts: dict[int, tuple[str, ...]] = {
            p: tuple(canonical(t) for t in r[10:]) for p, r in enumerate(tail_rows, start=base_n)}
        # the organisation names of every listing, by distinct value (tags are not: their
        # many combinations make a common word match thousands of distinct strings)
        pos_of = self.pos_of
        groups = []  # (name, its positions)
        for org, found in conn.execute("SELECT org_text, group_concat(rowid) FROM stored GROUP BY org_text"):
            rowids = json.loads(f"[{found}]")
            places = list(map(pos_of.__getitem__, rowids)) if max(rowids) < len(pos_of) else []
            if list(map(self.rowid_at.__getitem__, places)) != rowids:
                # not what the docs table said: only the rows that have a position
                places = [pos_of[r] for r in rowids if r < len(pos_of) and self.rowid_at[pos_of[r]] == r]
            places.sort()
            groups.append((org, places))
        self.values = {_COLUMNS.index("co"): _Values.of(groups, n)}
        self._init_caches(cache_bytes)
        return self

    def _init_caches(self, cache_bytes: int) -> None:
        self._terms_lock = threading.Lock()
        self._price_masks: dict[tuple[int | None, int | None], int] = {}
        self.cache_bytes = cache_bytes
        self._max_terms = max(0, cache_bytes // (len(_COLUMNS) * (self.n // 8 + 32)))

    def advanced(self, conn: sqlite3.Connection, generation: int, changed: list[int]) -> "_Snapshot":
        """A copy brought to ``generation``, where the listings of rowids ``changed`` were
        added, replaced or removed. Shares the append-only lists with this snapshot
        (a reader of the old one never looks past its own ``n``)."""
        new = _Snapshot()
        new.generation = generation
        new.base_n = self.base_n
        new.bitmap_rows = self.bitmap_rows
        new.rowid_at, new.id_at, new.price_at, new.ms_at = self.rowid_at, self.id_at, self.price_at, self.ms_at
        new.prices, new.priced_ranks, new.orders = self.prices, self.priced_ranks, self.orders
        new.pos_of = list(self.pos_of)
        new.identity = self.identity  # positions below it keep their rowids
        new.bits = dict(self.bits)
        new.tail = list(self.tail)
        new._tail_texts = dict(self._tail_texts)
        live = self.live
        n = self.n
        for rowid in changed:  # the old versions go
            if rowid < len(self.pos_of):
                p = self.pos_of[rowid]
                if p < n and self.rowid_at[p] == rowid and live >> p & 1:
                    live ^= 1 << p
                    new._tail_texts.pop(p, None)
        rows = []
        for i in range(0, len(changed), 500):
            part = changed[i : i + 500]
            marks = ",".join("?" * len(part))
            rows += conn.execute(
                f"SELECT {', '.join('d.' + c for c in _SNAPSHOT_COLUMNS.split(', '))},"
                f" s.title, s.org_text, s.tags, s.body"
                f" FROM docs d JOIN stored s ON s.rowid = d.rowid WHERE d.rowid IN ({marks})", part).fetchall()
        # the new versions arrive at fresh positions
        add_bits: dict[tuple[str, Any], int] = {}
        fresh: list[int] = []
        for (rowid, id_, kind, field, county, modes, voucher, bucket, price, ms, *texts) in rows:
            p = n
            n += 1
            new.rowid_at.append(rowid)
            new.id_at.append(id_)
            new.price_at.append(price)
            new.ms_at.append(ms)
            if rowid >= len(new.pos_of):
                new.pos_of.extend([0] * (rowid + 1 - len(new.pos_of)))
            new.pos_of[rowid] = p
            live |= 1 << p
            for key in _facet_keys(kind, field, county, modes, voucher, bucket):
                add_bits[key] = add_bits.get(key, 0) | 1 << p
            new._tail_texts[p] = tuple(canonical(t) for t in texts)  # title, org, tags, body
            fresh.append(p)
        for key, m in add_bits.items():
            new.bits[key] = new.bits.get(key, 0) | m
        new.live = live
        new.n = n
        for p in fresh:
            bisect.insort(new.tail, p, key=new._newest_key)
        new.tail = [p for p in new.tail if p in new._tail_texts]  # dead tail positions out
        new.tail_size = self.tail_size + len(fresh)
        new.values = {c: v.extended([(new._tail_texts[p][c], p) for p in fresh]) for c, v in self.values.items()}
        new._init_caches(self.cache_bytes)
        # carry the term cache over: a term's masks gain the fresh positions it matches
        new._terms = OrderedDict()
        with self._terms_lock:
            cached = list(self._terms.items())
        for terms, masks in cached:
            patterns = [t.pattern for t in terms]
            extra = [0] * len(_COLUMNS)
            for p in fresh:
                for c, text in enumerate(new._tail_texts[p]):
                    if any(pattern in text for pattern in patterns):
                        extra[c] |= 1 << p
            new._terms[terms] = tuple(m | e for m, e in zip(masks, extra)) if any(extra) else masks
        return new

    def _base_price_key(self, p: int) -> tuple:
        """Where position ``p`` of the ranked part stands in ``orders["price_asc"]``."""
        price = self.price_at[p]
        return (price is None, price or 0, p)

    def _base_price_desc_key(self, p: int) -> tuple:
        price = self.price_at[p]
        return (price is None, -(price or 0), p)

    def _newest_key(self, p: int) -> tuple[int, str]:
        return (-self.ms_at[p], self.id_at[p])

    def _price_key(self, p: int) -> tuple:
        price = self.price_at[p]
        return (price is None, price or 0) + self._newest_key(p)

    def _price_desc_key(self, p: int) -> tuple:
        price = self.price_at[p]
        return (price is None, -(price or 0)) + self._newest_key(p)

    # ------------------------------------------------------------- term cache ----

    def cached(self, term: tuple[Term, ...]) -> tuple[int, ...] | None:
        with self._terms_lock:
            masks = self._terms.get(term)
            if masks is not None:
                self._terms.move_to_end(term)
            return masks

    def remember(self, term: tuple[Term, ...], masks: tuple[int, ...]) -> None:
        if not self._max_terms:
            return
        with self._terms_lock:
            self._terms[term] = masks
            self._terms.move_to_end(term)
            while len(self._terms) > self._max_terms:
                self._terms.popitem(last=False)

    def clear_term_cache(self) -> None:
        with self._terms_lock:
            self._terms.clear()

    # ------------------------------------------------------------------ masks ----

    def _mask_of_ranks(self, ranks: Iterable[int], count: int | None = None) -> int:
        return _bits_at(ranks, self.n, count)

    def value_mask(self, c: int, terms: tuple[Term, ...]) -> int:
        """The bit set of the listings whose field ``_COLUMNS[c]`` (the organisation) holds
        any of ``terms``."""
        values = self.values[c]
        hit = values.matching([t.pattern for t in terms])
        return values.mask(hit, self.n) if hit else 0

    def mask(self, rowids: list[int]) -> int:
        """The bit set of the positions of ``rowids``."""
        if not rowids:
            return 0
        k = self.identity
        if not k or len(rowids) < _LOOP_BELOW:
            return self._mask_of_ranks(map(self.pos_of.__getitem__, rowids), len(rowids))
        # rowid r is position r - 1 up to rowid k (a reindex writes rowids in rank order):
        # set the bytes by rowid, one call each, and take positions 0 .. k - 1 as one slice;
        # the rowids above k (few unless compactions reshuffled the order) go through pos_of
        buf = bytearray(len(self.pos_of))
        deque(map(buf.__setitem__, rowids, repeat(1)), maxlen=0)
        m = _pack_int(buf[1:k + 1])
        if len(buf) > k + 1:
            later = list(self._iter_find(buf, 1, len(buf), k + 1))
            if later:
                m |= self._mask_of_ranks(map(self.pos_of.__getitem__, later), len(later))
        return m

    def price_mask(self, lo: int | None, hi: int | None) -> int:
        key = (lo, hi)
        m = self._price_masks.get(key)
        if m is None:
            a = 0 if lo is None else bisect.bisect_left(self.prices, lo)
            b = len(self.prices) if hi is None else bisect.bisect_right(self.prices, hi)
            m = self._mask_of_ranks(self.priced_ranks[a:b], b - a) if a < b else 0
            for p in self.tail:
                price = self.price_at[p]
                if price is not None and (lo is None or price >= lo) and (hi is None or price <= hi):
                    m |= 1 << p
            if len(self._price_masks) > 256:
                self._price_masks.clear()
            self._price_masks[key] = m
        return m

    def facets(self, selected: int) -> dict[str, list[tuple[Any, int]]]:
        raw: dict[str, dict[Any, int]] = {
            "kind": {}, "field": {}, "county": {}, "transfer_mode": {},
            "voucher_eligible": {}, "price_range": {},
        }
        if selected:
            for (name, value), m in self.bits.items():
                n = (selected & m).bit_count()
                if n:
                    raw[name][value] = n
        return finish_facets(raw)

    # ----------------------------------------------------------------- paging ----

    def _tail_in(self, selected: int, tail: list[int] | None = None) -> list[int]:
        """The positions of ``tail`` (default: the tail, newest first) in ``selected``."""
        tail = self.tail if tail is None else tail
        if not tail:
            return []
        base_n = self.base_n
        rest = selected >> base_n  # the tail's bits only: a small int
        return [p for p in tail if rest >> (p - base_n) & 1] if rest else []

    def _merge(self, base: Iterable[int], extra: list[int], key, offset: int, limit: int) -> list[int]:
        """Positions of the ranked part (``base``, in order) merged with the tail
        positions ``extra`` (sorted by ``key``)."""
        if not extra:
            return list(islice(base, offset, offset + limit))
        return list(islice(heapq.merge(base, extra, key=key), offset, offset + limit))

    def _iter_find(self, buf: bytes, value: int, end: int, start: int = 0) -> Iterator[int]:
        needle = bytes([value])
        pos = buf.find(needle, start, end)
        while pos >= 0:
            yield pos
            pos = buf.find(needle, pos + 1, end)

    def page_by_rank(self, selected: int, offset: int, limit: int) -> list[int]:
        """Positions of the selected listings, newest first, from ``offset``."""
        extra = self._tail_in(selected)
        if not extra:
            return _positions(selected, offset, limit, self.base_n)
        # at most offset + limit of the ranked part can come before the page's end
        base = _positions(selected, 0, offset + limit, self.base_n)
        return self._merge(base, extra, self._newest_key, offset, limit)

    def page_by_score(self, planes: list[int], selected: int, offset: int,
                      limit: int) -> tuple[list[int], list[int]]:
        """Highest score first, then newest, then id: the positions and their scores.
        ``planes`` hold the score's bits (plane j: bit j of every position's score);
        the selected listings are split plane by plane, the highest first, into the sets
        of one score each, in descending order, until the page is full."""
        out: list[int] = []
        scores: list[int] = []
        stack = [(selected, len(planes) - 1, 0)]  # (set, plane to split next, score so far)
        while stack and len(out) < limit:
            part, j, score = stack.pop()
            if j >= 0:
                high = part & planes[j]
                low = part ^ high
                if low:
                    stack.append((low, j - 1, score))
                if high:  # popped first: the higher scores
                    stack.append((high, j - 1, score | 1 << j))
                continue
            if not score:  # no listing a term reaches (never selected while there are terms)
                continue
            count = part.bit_count()
            if offset >= count:  # whole score levels before the page are only counted
                offset -= count
                continue
            got = self.page_by_rank(part, offset, limit - len(out))
            out += got
            scores += [score] * len(got)
            offset = 0
        return out, scores

    def page_by_price(self, selected: int, sort: str, offset: int, limit: int,
                      total: int | None = None) -> list[int]:
        order = self.orders[sort]
        want = offset + limit
        if total is not None and total * 4 < min(len(order), want * len(order) // max(total, 1)):
            # few selected: walking the price order (~0.1 µs a listing) would pass most of it
            # before ``want`` of them; find them and sort those instead
            key = self._base_price_key if sort == "price_asc" else self._base_price_desc_key
            base = iter(heapq.nsmallest(want, _positions(selected, end=self.base_n), key=key))
        else:
            base_n = self.base_n
            ranked = selected & ((1 << base_n) - 1) if selected.bit_length() > base_n else selected
            selected_bytes = _unpack_bits(ranked.to_bytes((base_n + 7) >> 3, "little"), 0, base_n)
            base = compress(order, map(selected_bytes.__getitem__, order))
        if not self.tail:
            return list(islice(base, offset, offset + limit))
        key = self._price_key if sort == "price_asc" else self._price_desc_key
        tail = self._tail_in(selected, sorted(self.tail, key=key))
        return self._merge(base, tail, key, offset, limit)
