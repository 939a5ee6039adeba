from __future__ import annotations

import pytest

from keyproxy.engine.forbidden import judge_forbidden
from keyproxy.errors import ErrorClass, UpstreamForbidden

REFUSED = UpstreamForbidden("flagged by moderation", upstream_status=403, body=b'{"error": {"message": "flagged"}}')


def test_a_403_whose_key_is_refused_too_stays_a_rejected_key() -> None:
    assert judge_forbidden(REFUSED, key_works=False) is REFUSED
    assert REFUSED.error_class is ErrorClass.KEY_REJECTED


@pytest.mark.parametrize("works", [True, None], ids=["key-accepted", "no-telling"])
def test_a_403_whose_key_works_or_cannot_be_checked_is_about_the_request(works: bool | None) -> None:
    judged = judge_forbidden(REFUSED, key_works=works)
    assert judged.error_class is ErrorClass.CLIENT_ERROR
    assert judged.code == "upstream_forbidden"
    assert (getattr(judged, "upstream_status", None), getattr(judged, "body", None)) == (403, REFUSED.body)
