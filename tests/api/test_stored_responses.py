"""A kept response's record moved to the keyed id of the key it is bound to, and nothing else touched."""

from __future__ import annotations

import msgspec

from keyproxy.api.stored_responses import Stored, rekeyed

RENAMES = {("p", "0123456789ab"): "ba9876543210"}


def test_a_record_bound_to_a_renamed_key_names_its_new_id_and_keeps_the_rest() -> None:
    record = msgspec.json.encode(Stored("p", "m", key_id="0123456789ab", previous="resp_0"))
    assert rekeyed(record, RENAMES) == msgspec.json.encode(Stored("p", "m", key_id="ba9876543210", previous="resp_0"))


def test_records_bound_to_no_renamed_key_are_left_alone() -> None:
    for stored in (Stored("p", "m", previous="resp_0"), Stored("q", "m", key_id="0123456789ab")):
        assert rekeyed(msgspec.json.encode(stored), RENAMES) is None
    assert rekeyed(b'{"key_id": 3}', RENAMES) is None
