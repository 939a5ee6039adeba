"""OAuth accounts at run time, in memory against keyproxy.testing.FakeGoogle: made ready once, their tier
ordering the pool, their state kept when the pool is built again."""

from __future__ import annotations

import asyncio

import pytest

from keyproxy.config.settings import Credential, GoogleOAuth, OAuthAccount, ProviderSettings
from keyproxy.engine.accounts import Accounts
from keyproxy.engine.keyring import KeyRing
from keyproxy.errors import InvalidRequest, UpstreamKeyRejected
from keyproxy.testing import ASGITransport, FakeClock, FakeGoogle
from support import IDS

ALPHA = "1//alpha-refresh-token-000000000000001"
BRAVO = "1//bravo-refresh-token-000000000000002"
BASE = "http://google.test/v1internal"


def provider(*refresh_tokens: str) -> ProviderSettings:
    credentials = tuple(
        Credential(secret=token, source=f"GEMINI_CLI_{n}_REFRESH_TOKEN", account=OAuthAccount("", 0.0))
        for n, token in enumerate(refresh_tokens, start=1)
    )
    return ProviderSettings("gemini_cli", "gemini_cli", BASE, credentials)


def accounts(fake: FakeGoogle) -> Accounts:
    return Accounts(GoogleOAuth(token_url="http://google.test/token"), ASGITransport(fake), FakeClock())


def test_an_account_found_paid_moves_before_a_free_one() -> None:
    fake = FakeGoogle()
    fake.add_account(ALPHA, tier="free-tier")
    fake.add_account(BRAVO, tier="standard-tier")
    held = accounts(fake)
    ring = KeyRing({"gemini_cli": provider(ALPHA, BRAVO)}, {}, 3.0, None, IDS, accounts=held)
    assert ring.pools["gemini_cli"].priorities == (3, 3)

    async def warm() -> None:
        pool = ring.pools["gemini_cli"]
        await asyncio.gather(pool.ready(0), pool.ready(1))

    asyncio.run(warm())

    assert ring.pools["gemini_cli"].priorities == (3, 2)
    assert fake.seen.refreshes == {ALPHA: 1, BRAVO: 1}


def test_a_rebuilt_pool_keeps_each_accounts_token_and_project() -> None:
    fake = FakeGoogle()
    fake.add_account(ALPHA, project="proj-a")
    held = accounts(fake)
    ring = KeyRing({"gemini_cli": provider(ALPHA)}, {}, 3.0, None, IDS, accounts=held)

    async def use_twice() -> None:
        await ring.pools["gemini_cli"].ready(0)
        await ring.reconfigure({"gemini_cli": provider(ALPHA)}, 2.0)
        await ring.pools["gemini_cli"].ready(0)

    asyncio.run(use_twice())

    assert fake.seen.refreshes[ALPHA] == 1
    assert fake.seen.calls["loadCodeAssist"] == 1


def test_an_account_whose_refresh_token_is_refused_is_rejected_as_a_key() -> None:
    fake = FakeGoogle()
    fake.add_account(ALPHA, revoked=True)
    ring = KeyRing({"gemini_cli": provider(ALPHA)}, {}, 3.0, None, IDS, accounts=accounts(fake))

    with pytest.raises(UpstreamKeyRejected, match="log in again"):
        asyncio.run(ring.pools["gemini_cli"].ready(0))


def test_a_key_cannot_be_added_to_a_provider_of_accounts() -> None:
    ring = KeyRing({"gemini_cli": provider(ALPHA)}, {}, 3.0, None, IDS, accounts=accounts(FakeGoogle()))

    with pytest.raises(InvalidRequest, match="keyproxy login"):
        asyncio.run(ring.add("gemini_cli", "sk-some-plain-key-0000000000001"))


def test_an_account_given_its_project_still_has_its_tier_found_once() -> None:
    fake = FakeGoogle()
    fake.add_account(ALPHA, project="proj-a", tier="g1-ultra-tier")
    held = OAuthAccount("", 0.0, project="proj-a")
    given = Credential(secret=ALPHA, source="GEMINI_CLI_1_REFRESH_TOKEN", account=held)
    ring = KeyRing(
        {"gemini_cli": ProviderSettings("gemini_cli", "gemini_cli", BASE, (given,))}, {}, 3.0, None, IDS,
        accounts=accounts(fake),
    )  # fmt: skip

    async def use_twice() -> None:
        await ring.pools["gemini_cli"].ready(0)
        await ring.pools["gemini_cli"].ready(0)

    asyncio.run(use_twice())

    assert ring.pools["gemini_cli"].priorities == (1,)
    assert fake.seen.calls["loadCodeAssist"] == 1
