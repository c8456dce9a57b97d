"""Finished sub-problems kept as they complete, so that a long run survives a fault.

`sitepivot sweep` and `sitepivot robust` keep every finished solve in an SQLite file next to
their output, ``<output>.partial.sqlite`` (`store_path`). A run that dies (Ctrl-C, a killed
process, a lost machine) leaves it behind; the same command with ``--resume`` reads the solves
already done from it and runs only the others, so that it writes exactly the workbook an
uninterrupted run writes (timings aside). Once the workbook is written the store is deleted.

Keys. Each result is stored under the SHA-256 of the run's identity and of its task's content
(`fingerprint`: the inputs as read, the settings and options, the scenario or sub-problem, and
the sitepivot version), never under a position or a name. The store also records the identity
of the run that made it: resuming it with other inputs or settings is refused, so a resume
never mixes two runs. Failed solves (status ``error``) are not kept: a resume runs them again.

Values are pickled (the file is the user's own, next to the output they asked for, and is
read back only by the same version of sitepivot).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import math
import pickle
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from models.errors import UsageError

T = TypeVar("T")

SUFFIX = ".partial.sqlite"
# Dataclass fields that vary between two runs of the same thing (a read time, a wall-clock
# deadline): left out of every fingerprint.
VOLATILE_FIELDS = frozenset({"read_seconds", "deadline"})
_MISSING = object()


def store_path(output: Path) -> Path:
    """Where the finished solves of the run writing `output` are kept:
    ``<output>.partial.sqlite``."""
    return output.with_name(output.name + SUFFIX)


def fingerprint(value: Any) -> str:
    """A stable SHA-256 (hex) of `value`'s content, the same in every process and session.

    Handled: None, bool, int, float (exact, by its hex form), str, bytes, enums, tuples and
    lists, dicts (order-free), sets, dataclasses (by class name and fields, `VOLATILE_FIELDS`
    left out), numpy arrays and pandas frames and series (by values, index, columns and
    dtypes). Anything else is a TypeError: a key built from an object's repr (an address)
    would never match again."""
    digest = hashlib.sha256()
    _feed(digest, value)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    put = digest.update
    if value is None or isinstance(value, bool | int | str | enum.Enum):
        put(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, float | np.floating):
        x = float(value)
        put(f"f:{x.hex() if math.isfinite(x) else repr(x)};".encode())
    elif isinstance(value, np.integer | np.bool_):
        put(f"i:{value.item()!r};".encode())
    elif isinstance(value, bytes):
        put(b"b:" + hashlib.sha256(value).digest())
    elif isinstance(value, tuple | list):
        put(f"seq{len(value)}(".encode())
        for item in value:
            _feed(digest, item)
        put(b")")
    elif isinstance(value, dict):
        put(f"map{len(value)}(".encode())
        for key_print, item in sorted((fingerprint(k), v) for k, v in value.items()):
            put(key_print.encode())
            _feed(digest, item)
        put(b")")
    elif isinstance(value, set | frozenset):
        put(f"set{len(value)}(".encode() + "".join(sorted(map(fingerprint, value))).encode()
            + b")")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        put(f"dc:{type(value).__qualname__}(".encode())
        for f in dataclasses.fields(value):
            if f.name not in VOLATILE_FIELDS:
                put(f.name.encode() + b"=")
                _feed(digest, getattr(value, f.name))
        put(b")")
    elif isinstance(value, np.ndarray):
        put(f"nd:{value.dtype.str}{value.shape}".encode())
        if value.dtype == object:
            _feed(digest, value.tolist())
        else:
            put(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, pd.DataFrame):
        put(f"df{value.shape}".encode())
        _feed(digest, [str(c) for c in value.columns])
        _feed(digest, [str(t) for t in value.dtypes])
        for column in range(value.shape[1]):
            _feed(digest, value.iloc[:, column])
    elif isinstance(value, pd.Series):
        put(f"s:{value.dtype}".encode())
        put(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    else:
        raise TypeError(f"cannot fingerprint a {type(value).__name__}: add it to "
                        "optimizer.checkpoint.fingerprint")


class ResultStore:
    """The finished solves of one run, in SQLite (see the module docstring).

    Open it with `open_store`. `get(key)` / `put(key, value)` read and keep one result (each
    `put` is committed at once, so a kill loses at most the solve in flight); `key(*parts)`
    is the key of a task of this run. `remember(what, compute)` runs `compute()` once per
    store (the result of a named step, e.g. the deterministic plan)."""

    def __init__(self, path: Path, identity: str, found: int) -> None:
        self.path = path
        self.identity = identity
        self.found = found  # results already in the store when it was opened
        self.used = 0  # results read back from it by this run
        self._db: sqlite3.Connection | None = sqlite3.connect(path)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"the result store {self.path} is closed")
        return self._db

    def key(self, *parts: str) -> str:
        """The key of one task of this run: SHA-256 of the run's identity and `parts`
        (fingerprints)."""
        return hashlib.sha256("|".join((self.identity, *parts)).encode()).hexdigest()

    def get(self, key: str) -> Any:
        """The result kept under `key`; when there is none, a marker that `is_missing` tells."""
        row = self.db.execute("SELECT value FROM results WHERE key = ?", (key,)).fetchone()
        if row is None:
            return _MISSING
        self.used += 1
        return pickle.loads(row[0])

    def put(self, key: str, label: str, value: Any) -> None:
        """Keep `value` under `key` (`label` says what it is, for a reader of the file)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO results (key, label, value) VALUES (?, ?, ?)",
                            (key, label, pickle.dumps(value, protocol=5)))

    def remember(self, what: str, compute: Callable[[], T]) -> T:
        """`compute()`'s result, from the store if this run kept it already (under `what`)."""
        key = self.key("step", what)
        value = self.get(key)
        if value is _MISSING:
            value = compute()
            self.put(key, what, value)
        return value

    def count(self) -> int:
        """How many results the store holds."""
        return int(self.db.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def remove(self) -> None:
        """Close and delete the store (once the run's output is written)."""
        self.close()
        self.path.unlink(missing_ok=True)


def is_missing(value: Any) -> bool:
    """True when `ResultStore.get` found nothing."""
    return value is _MISSING


def open_store(path: Path, identity: Any, *, resume: bool, description: str = ""
               ) -> ResultStore:
    """Open the store at `path` for the run whose identity is `identity` (anything
    `fingerprint` takes: inputs, settings, options, version).

    - No store there: a new one (with ``resume`` too: there is nothing to resume, so the run
      starts from the beginning; `ResultStore.found` is 0).
    - A store there, ``resume``: it must be this run's (same identity), else UsageError.
    - A store there, not ``resume``: UsageError saying to resume it or discard it (the caller
      deletes it first to start over, e.g. with ``--force``)."""
    from optimizer import __version__

    key = fingerprint((__version__, identity))
    path = Path(path)
    if path.exists():
        if not resume:
            raise UsageError(f"{path} holds the finished solves of an interrupted run: add "
                             "--resume to continue it, or --force to discard them and start "
                             "over")
        try:
            db = sqlite3.connect(path)
            row = db.execute("SELECT value FROM meta WHERE name = 'identity'").fetchone()
            db.close()
        except sqlite3.DatabaseError as err:
            raise UsageError(f"{path} is not a store of finished solves ({err}): delete it, or "
                             "add --force to start over") from err
        if row is None or row[0] != key:
            raise UsageError(f"{path} holds another run's solves (other inputs, settings, "
                             "options or sitepivot version): --resume continues only the same "
                             "command on the same workbook; add --force instead of --resume to "
                             "discard them and start over")
    elif not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    store = ResultStore(path, key, 0)
    with store.db:
        store.db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        store.db.execute("CREATE TABLE IF NOT EXISTS results "
                         "(key TEXT PRIMARY KEY, label TEXT, value BLOB)")
        store.db.execute("INSERT OR IGNORE INTO meta VALUES ('identity', ?)", (key,))
        store.db.execute("INSERT OR IGNORE INTO meta VALUES ('description', ?)", (description,))
    store.found = store.count()
    return store
