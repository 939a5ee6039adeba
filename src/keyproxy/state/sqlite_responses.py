"""Stored responses of a SqliteStore between a change and its write: they answer reads until it lands."""

from __future__ import annotations

from collections.abc import Sequence

from keyproxy.state.sqlite_journal import Change, Journal, ResponseDeleted, ResponseStored


class UnwrittenResponses:
    """The latest put or delete of each response not written yet; the journal carries the same change to
    the writer thread, and a successful write makes the entry unnecessary (the file answers from then on)."""

    __slots__ = ("_changes", "_journal")

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._changes: dict[str, ResponseStored | ResponseDeleted] = {}

    def put(self, response_id: str, record: bytes, expires_at: float) -> None:
        self._change(ResponseStored(response_id, record, expires_at))

    def delete(self, response_id: str) -> None:
        # Kept until written: the file still holds the response and must not be asked meanwhile.
        self._change(ResponseDeleted(response_id))

    def lookup(self, response_id: str, now: float) -> tuple[bool, bytes | None]:
        """(whether the answer is known here, the record); not known means: ask the file."""
        change = self._changes.get(response_id)
        if change is None:
            return False, None
        if isinstance(change, ResponseStored) and change.expires_at > now:
            return True, change.record
        return True, None

    def written(self, changes: Sequence[Change]) -> None:
        """Forget the entries a successful write carried, unless a newer change replaced them since."""
        for change in changes:
            if isinstance(change, ResponseStored | ResponseDeleted) and self._changes.get(change.response_id) is change:
                del self._changes[change.response_id]

    def _change(self, change: ResponseStored | ResponseDeleted) -> None:
        self._journal.add(change)
        self._changes[change.response_id] = change
