from __future__ import annotations

import pytest

from keyproxy.errors import UpstreamKeyRejected
from keyproxy.translate.anthropic_errors import BY_NAME, TYPES, ErrorType, type_for_status


@pytest.mark.parametrize("kind", TYPES, ids=lambda kind: kind.name)
def test_each_type_is_what_a_client_reads_for_its_own_status(kind: ErrorType) -> None:
    assert type_for_status(kind.status) == kind.name


@pytest.mark.parametrize(
    ("status", "name"), [(503, "overloaded_error"), (422, "invalid_request_error"), (502, "api_error")]
)
def test_a_status_anthropic_gives_no_type_of_its_own_reads_as_the_nearest(status: int, name: str) -> None:
    assert type_for_status(status) == name


@pytest.mark.parametrize("name", ["authentication_error", "permission_error", "billing_error"])
def test_the_types_that_say_the_key_is_bad_reject_it(name: str) -> None:
    # permission_error rejects it once a probe of the key confirms (UpstreamForbidden)
    assert issubclass(BY_NAME[name].error, UpstreamKeyRejected)
