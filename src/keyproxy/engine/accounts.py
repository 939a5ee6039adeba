"""OAuth accounts at run time: each one's token source, its Code Assist project and tier, and the credential
file they are written back to. They outlive pool snapshots: a pool rebuilt keeps each account's state.

An account is made ready before a request uses it (a valid token, its project found once); refreshed
tokens and discovered projects go back to the account's file, off the event loop and never per request.
A discovered tier sets the account's key priority, so paid accounts are tried before free ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

import msgspec

from keyproxy.clock import Clock
from keyproxy.config.credential_file import TokenUpdate, write_credential
from keyproxy.config.settings import Credential, GoogleOAuth, OAuthAccount, ProviderSettings
from keyproxy.engine.token_source import Token, TokenSource
from keyproxy.errors import UpstreamError
from keyproxy.providers import Grant, Grants
from keyproxy.providers.code_assist_setup import (
    load_request,
    onboard_request,
    read_load,
    read_onboard,
    tier_priority,
)
from keyproxy.providers.gemini import GeminiAdapter
from keyproxy.providers.google_oauth import read_tokens, refresh_request, token_error
from keyproxy.redact import mask
from keyproxy.transport.base import RequestTimeouts, Transport, UpstreamRequest

logger = logging.getLogger("keyproxy.accounts")

_TIMEOUTS = RequestTimeouts(connect=15.0, pool=15.0, read=30.0)
_ANSWER_BYTES = 1024 * 1024
_ONBOARD_TRIES = 6
_ONBOARD_PAUSE = 5.0
_KEEP_FRESH_EVERY = 60.0
_UNKNOWN_TIER = 3

T = TypeVar("T")


class Account:
    def __init__(
        self, provider: ProviderSettings, credential: Credential, held: OAuthAccount, oauth: GoogleOAuth,
        transport: Transport, clock: Clock, changed: Callable[[str], None],
    ) -> None:  # fmt: skip
        self.provider = provider.name
        self.name = mask(credential.secret)
        self._settings = provider
        self._refresh_token = credential.secret
        self._proxy = credential.proxy
        self._held = held
        self._oauth = oauth
        self._transport = transport
        self._clock = clock
        self._changed = changed
        self.project = held.project
        self.tier = held.tier
        self._asked = held.tier is not None
        """Whether the tier is known or was asked for: an account given its project still has its tier found."""
        start = Token(held.access_token, held.expires_at) if held.access_token else None
        self.tokens = TokenSource(self._fetch, clock, start, name=self.name)
        self._grant: Grant | None = None
        self._discovery = asyncio.Lock()
        # A refresh and a discovery may both write the file: one at a time, each reading what the other wrote.
        self._writing = asyncio.Lock()

    def priority(self) -> int:
        """The key priority its tier gives; an account whose tier is not known yet is tried last, as a free one."""
        return tier_priority(self.tier) or _UNKNOWN_TIER

    def grant(self) -> Grant:
        if self._grant is None:
            raise LookupError(f"account {self.name} is not ready")
        return self._grant

    async def ready(self) -> int:
        """Make the account usable: a valid token and its project. Returns the token's generation."""
        token = await self.tokens.get()
        if self.project is None or not self._asked:
            async with self._discovery:
                if self.project is None:
                    await self._discover(token.value)
                elif not self._asked:
                    await self._learn_tier(token.value)
        assert self.project is not None
        grant = self._grant
        if grant is None or grant.access_token != token.value or grant.project != self.project:
            self._grant = Grant(token.value, self.project)
        return self.tokens.generation

    async def renew(self, generation: int) -> None:
        """The upstream refused the token of `generation`: refresh it (once, however many requests saw it)."""
        await self.tokens.renew(generation)
        await self.ready()

    async def _fetch(self) -> Token:
        request = refresh_request(self._oauth, self._refresh_token, self._held.client_id, self._held.client_secret)
        status, body = await self._send(request)
        if status >= 400:
            raise token_error(status, body)
        tokens = read_tokens(body, self._clock.now())
        if tokens.refresh_token and tokens.refresh_token != self._refresh_token:
            # Refreshed with from now on and kept on disk; the account keeps its name (the first one's mask) here.
            logger.info("account %s was given a new refresh token", self.name)
            self._refresh_token = tokens.refresh_token
        await self._save(TokenUpdate(tokens.access_token, tokens.expires_at, tokens.refresh_token))
        return Token(tokens.access_token, tokens.expires_at)

    async def _discover(self, access_token: str) -> None:
        base = self._settings.base_url
        setup = await self._call(load_request(base, access_token, self._held.project), read_load)
        project, tier = setup.project, setup.tier
        if project is None and setup.onboard is not None:
            tier = setup.onboard
            for _ in range(_ONBOARD_TRIES):
                project = await self._call(onboard_request(base, access_token, tier, self._held.project), read_onboard)
                if project is not None:
                    break
                await self._clock.sleep(_ONBOARD_PAUSE)
        if project is None:
            raise UpstreamError(f"onboarding account {self.name} on Code Assist did not finish")
        logger.info("account %s works in its Code Assist project on tier %s", self.name, tier or "unknown")
        moved = tier_priority(tier) != tier_priority(self.tier)
        self.project, self.tier, self._asked = project, tier, True
        token = self.tokens.token
        if token is not None:
            await self._save(TokenUpdate(token.value, token.expires_at, project=project, tier=tier))
        if moved:
            self._changed(self.provider)

    async def _learn_tier(self, access_token: str) -> None:
        """The tier of an account whose project was given: worth a try, never worth failing a request for."""
        self._asked = True
        try:
            await self._discover(access_token)
        except UpstreamError as error:
            logger.warning("cannot find the tier of account %s: %s", self.name, error.message)

    async def _call(self, request: UpstreamRequest, read: Callable[[bytes, str | None], T]) -> T:
        status, body = await self._send(request)
        if status >= 400:
            # Code Assist answers errors in Google's shape, as Gemini's API does.
            raise GeminiAdapter(self._settings.base_url).classify(status, {}, body, self._clock.now())
        return read(body, self._held.project)

    async def _send(self, request: UpstreamRequest) -> tuple[int, bytes]:
        routed = request if self._proxy is None else msgspec.structs.replace(request, proxy=self._proxy)
        response = await self._transport.send(routed, _TIMEOUTS)
        try:
            return response.status, await response.read(_ANSWER_BYTES)
        finally:
            response.close()

    async def _save(self, update: TokenUpdate) -> None:
        path = self._held.path
        if path is None:
            return
        try:
            async with self._writing:
                await asyncio.to_thread(write_credential, path, update)
        except OSError as error:
            # The account goes on with the token in memory; the next start refreshes again.
            logger.warning("cannot write account %s back to %s: %s", self.name, path, error.strerror)


class Accounts:
    """Every OAuth account by (provider, refresh token). `changed(provider)` is called when an account's
    priority changed (its tier became known): the provider's pool is built again."""

    def __init__(self, oauth: GoogleOAuth, transport: Transport, clock: Clock) -> None:
        self._oauth = oauth
        self._transport = transport
        self._clock = clock
        self._accounts: dict[tuple[str, str], Account] = {}
        self.changed: Callable[[str], None] = lambda provider: None

    def account(self, provider: ProviderSettings, credential: Credential) -> Account | None:
        if credential.account is None:
            return None
        key = (provider.name, credential.secret)
        found = self._accounts.get(key)
        if found is None:
            found = Account(
                provider, credential, credential.account, self._oauth, self._transport, self._clock,
                lambda name: self.changed(name),
            )  # fmt: skip
            self._accounts[key] = found
        return found

    def grants(self, provider: str) -> Grants:
        accounts: Mapping[tuple[str, str], Account] = self._accounts
        return lambda secret: accounts[(provider, secret)].grant()

    async def run(self) -> None:
        """Make every account ready at start (tiers order the keys early), then keep tokens fresh."""
        if not self._accounts:
            return
        await asyncio.gather(*(self._warm(account) for account in list(self._accounts.values())))
        while True:
            await self._clock.sleep(_KEEP_FRESH_EVERY)
            for account in list(self._accounts.values()):
                account.tokens.refresh_in_background()

    async def _warm(self, account: Account) -> None:
        try:
            await account.ready()
        except (UpstreamError, TimeoutError) as error:
            logger.warning("account %s is not ready: %s", account.name, getattr(error, "message", error))
