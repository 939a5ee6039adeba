"""State stores behind one interface: in memory now; SQLite and Redis plug in the same way."""

from keyproxy.state.base import SUCCESS, KeyStatus, StateStore, Verdict
from keyproxy.state.memory import MemoryStore

__all__ = ["SUCCESS", "KeyStatus", "MemoryStore", "StateStore", "Verdict"]
