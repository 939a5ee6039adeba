"""State stores behind one interface: in memory, in memory and written to SQLite, or shared through Redis."""

from keyproxy.state.base import SUCCESS, KeyStatus, StateStore, Verdict
from keyproxy.state.memory import MemoryStore
from keyproxy.state.sqlite_store import SqliteStore
from keyproxy.state.sqlite_usage import read_usage

__all__ = [
    "SUCCESS",
    "KeyStatus",
    "MemoryStore",
    "SqliteStore",
    "StateStore",
    "Verdict",
    "read_usage",
]
