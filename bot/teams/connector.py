"""Keep the Bot Connector clients for the life of the process instead of building them on every turn.

The stock SDK (botbuilder 4.17) builds, for every incoming activity, a ``ConnectorClient`` (an msrest
client with its own ``aiohttp.ClientSession``, so no connection is ever reused) and a
``UserTokenClient``; msrest's retry-policy constructor alone computes a 999-item list each time.
That is most of the echo sample's CPU per message. ``CachingBotFrameworkAuthentication`` wraps any
``BotFrameworkAuthentication`` (``ConfigurationBotFrameworkAuthentication`` in bot/app.py) and hands
the adapter clients from a small per-process cache:

- connector clients are keyed by everything the SDK's factory builds them from: the bot's app id
  (from the request's claims, so several bots / tenants never share one), the OAuth audience, the
  login endpoint (tenant), authority validation, the service URL, and the running event loop;
- user-token clients are keyed by app id and event loop, and built only when first used;
- tokens are not cached here: a client keeps its ``AppCredentials`` object, which asks MSAL for the
  token on every request (MSAL returns its cached token until shortly before expiry, then fetches a
  new one), so refresh works as with the stock SDK;
- request bodies are built by ``bot/teams/serializer.py`` (same JSON as msrest, far less work);
- the cache is an LRU of ``max_clients`` entries (service URLs come from requests; in local mode
  anyone can send one), and ``close()`` closes the clients' HTTP sessions at shutdown.

A connector factory the wrapper does not know (not the SDK's ``_ConnectorFactoryImpl``) is passed
through unchanged, so an SDK upgrade degrades to the stock behaviour rather than to wrong sharing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
from collections import OrderedDict

import aiohttp
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from botframework.connector.auth._built_in_bot_framework_authentication import _BuiltinBotFrameworkAuthentication
from botframework.connector.auth._connector_factory_impl import _ConnectorFactoryImpl
from botframework.connector.auth.app_credentials import AppCredentials
from msrest.exceptions import ClientRequestError
from msrest.pipeline import AsyncHTTPPolicy, AsyncHTTPSender, AsyncPipeline, Response
from msrest.pipeline.universal import RawDeserializer
from msrest.universal_http.aiohttp import AioHttpClientResponse

from bot.teams.serializer import use_lean_serializer

log = logging.getLogger(__name__)


class ClientCache:
    """A small LRU of clients; evicted clients are closed in the background."""

    def __init__(self, max_clients: int = 256) -> None:
        self.max_clients = max_clients
        self._clients: OrderedDict[tuple, object] = OrderedDict()
        self._closing: set[asyncio.Task] = set()
        self.created = 0

    def __len__(self) -> int:
        return len(self._clients)

    async def get(self, key: tuple, build):
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        client = await build()
        existing = self._clients.get(key)   # another turn may have built one meanwhile: keep the first
        if existing is not None:
            self._close_later(client)
            return existing
        self.created += 1
        self._clients[key] = client
        while len(self._clients) > self.max_clients:
            _, old = self._clients.popitem(last=False)
            self._close_later(old)
        return client

    def _close_later(self, client) -> None:
        task = asyncio.get_running_loop().create_task(_close(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        await asyncio.gather(*(_close(c) for c in clients), *self._closing, return_exceptions=True)


async def _close(client) -> None:
    target = client if hasattr(client, "__aexit__") else getattr(client, "_client", None)   # UserTokenClient wraps one
    try:
        if target is not None:
            await target.__aexit__(None, None, None)
    except Exception as exc:  # closing is best effort
        log.debug("closing a cached client failed: %s", type(exc).__name__)


# ----------------------------------------------------------------------------- transport
def _jwt_expiry(token: str) -> float:
    """The ``exp`` claim of a JWT access token (seconds since the epoch), 0 when it cannot be read."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except Exception:
        return 0.0


class BearerTokenPolicy(AsyncHTTPPolicy):
    """Sets ``Authorization: Bearer`` like ``AppCredentials.signed_session`` does, without blocking the loop.

    The token comes from ``credentials.get_access_token()`` (MSAL: its own cache, refreshed before
    expiry), called in a thread because a refresh is network I/O. The token string is reused only
    until 5 minutes before its own ``exp`` claim (never when it has none), and dropped on a 401.
    """

    def __init__(self, credentials: AppCredentials, margin_seconds: float = 300.0) -> None:
        super().__init__()
        self.credentials, self.margin = credentials, margin_seconds
        self._token: str | None = None
        self._valid_until = 0.0

    async def _bearer(self) -> str:
        if self._token is None or time.time() >= self._valid_until:
            token = await asyncio.to_thread(self.credentials.get_access_token)
            self._token, self._valid_until = token, _jwt_expiry(token) - self.margin
        return self._token

    async def send(self, request, **kwargs):
        if self.credentials._should_set_token(None):
            request.http_request.headers["Authorization"] = "Bearer " + await self._bearer()
        else:
            request.http_request.headers.pop("Authorization", None)
        response = await self.next.send(request, **kwargs)
        if response.http_response.status_code == 401:
            self._token = None
        return response


class _Response(AioHttpClientResponse):
    def body(self) -> bytes:
        return self._body or b""


class AioHttpSender(AsyncHTTPSender):
    """msrest pipeline sender on one ``aiohttp.ClientSession`` (kept-alive connections, no thread hop):
    the stock one runs ``requests`` in a thread pool with a new session per client."""

    def __init__(self, timeout: float = 100.0) -> None:
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_details):
        if self._session is not None:
            await self._session.close()
            self._session = None

    def build_context(self):
        return None

    async def send(self, request, **config):
        http = request.http_request
        if self._session is None:
            # trust_env only when a proxy is configured: aiohttp would otherwise re-read ~/.netrc on every request
            proxy = any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"))
            self._session = aiohttp.ClientSession(trust_env=proxy, timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with self._session.request(http.method, http.url, headers=dict(http.headers), data=http.data) as raw:
                body = await raw.read()
        except aiohttp.ClientError as exc:   # what msrest raises for a failed request with its own sender
            raise ClientRequestError(f"Error occurred in request: {exc}", inner_exception=exc) from exc
        response = _Response(http, raw)
        response._body = body
        return Response(request, response)


def use_aiohttp_transport(client) -> bool:
    """Give an msrest async client (ConnectorClient) the aiohttp sender; False when its credentials are not
    the Bot Framework's ``AppCredentials`` (then the stock transport stays)."""
    config = client.config
    credentials = config.credentials
    if not isinstance(credentials, AppCredentials):
        return False
    timeout = getattr(getattr(config, "connection", None), "timeout", 100) or 100
    config.pipeline = AsyncPipeline([config.user_agent_policy, BearerTokenPolicy(credentials), RawDeserializer(),
                                     config.http_logger_policy], AioHttpSender(float(timeout)))
    return True


class CachingConnectorFactory(ConnectorFactory):
    """A connector factory whose ``create`` returns a cached client for the same inputs."""

    def __init__(self, inner: _ConnectorFactoryImpl, cache: ClientCache, aiohttp_transport: bool = True) -> None:
        self.inner, self._cache, self.aiohttp_transport = inner, cache, aiohttp_transport

    async def create(self, service_url: str, audience: str = None):
        f = self.inner
        key = ("connector", id(asyncio.get_running_loop()), f._app_id,
               audience or f._to_channel_from_bot_oauth_scope, f._login_endpoint, f._validate_authority,
               id(f._credential_factory), id(f._connector_client_configuration), service_url)
        return await self._cache.get(key, lambda: self._build(service_url, audience))

    async def _build(self, service_url: str, audience: str | None):
        client = await self.inner.create(service_url, audience)
        if self.aiohttp_transport:
            use_aiohttp_transport(client)
            use_lean_serializer(client)
        return client


class _LazyUserTokenClient(UserTokenClient):
    """Builds (and caches) the real user-token client on first use: most bots never call it."""

    def __init__(self, build) -> None:
        self._build = build
        self._client: UserTokenClient | None = None

    async def _real(self) -> UserTokenClient:
        if self._client is None:
            self._client = await self._build()
        return self._client

    async def get_user_token(self, *args, **kwargs):
        return await (await self._real()).get_user_token(*args, **kwargs)

    async def get_sign_in_resource(self, *args, **kwargs):
        return await (await self._real()).get_sign_in_resource(*args, **kwargs)

    async def sign_out_user(self, *args, **kwargs):
        return await (await self._real()).sign_out_user(*args, **kwargs)

    async def get_token_status(self, *args, **kwargs):
        return await (await self._real()).get_token_status(*args, **kwargs)

    async def get_aad_tokens(self, *args, **kwargs):
        return await (await self._real()).get_aad_tokens(*args, **kwargs)

    async def exchange_token(self, *args, **kwargs):
        return await (await self._real()).exchange_token(*args, **kwargs)


class CachingBotFrameworkAuthentication(BotFrameworkAuthentication):
    """Delegates everything to ``inner``; connector and user-token clients come from a per-process cache."""

    def __init__(self, inner: BotFrameworkAuthentication, max_clients: int = 256,
                 aiohttp_transport: bool = True) -> None:
        self.inner, self.aiohttp_transport = inner, aiohttp_transport
        self.cache = ClientCache(max_clients)
        self._token_clients: dict[tuple, _LazyUserTokenClient] = {}

    def _wrap(self, factory: ConnectorFactory | None) -> ConnectorFactory | None:
        if isinstance(factory, _ConnectorFactoryImpl):
            return CachingConnectorFactory(factory, self.cache, self.aiohttp_transport)
        return factory

    async def authenticate_request(self, activity, auth_header: str) -> AuthenticateRequestResult:
        result = await self.inner.authenticate_request(activity, auth_header)
        result.connector_factory = self._wrap(result.connector_factory)
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str):
        result = await self.inner.authenticate_streaming_request(auth_header, channel_id_header)
        result.connector_factory = self._wrap(result.connector_factory)
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return self._wrap(self.inner.create_connector_factory(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = _BuiltinBotFrameworkAuthentication.get_app_id(claims_identity)
        loop = id(asyncio.get_running_loop())
        key = ("token", loop, app_id)
        client = self._token_clients.get(key)
        if client is None:
            async def build():
                return await self.cache.get(key, lambda: self.inner.create_user_token_client(claims_identity))

            client = self._token_clients[key] = _LazyUserTokenClient(build)
            if len(self._token_clients) > self.cache.max_clients:
                self._token_clients.pop(next(iter(self._token_clients)))
        return client

    def create_bot_framework_client(self):
        return self.inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return self.inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self.inner.authenticate_channel_request(auth_header)

    async def close(self) -> None:
        self._token_clients.clear()
        await self.cache.close()


def bot_framework_authentication(configuration, credentials_factory=None) -> CachingBotFrameworkAuthentication:
    """The SDK's ``ConfigurationBotFrameworkAuthentication`` for ``configuration`` (the bot's Settings, which
    carry the attribute names the SDK reads), with connector clients kept per service URL.
    ``credentials_factory`` (a ServiceClientCredentialsFactory) replaces the app-id/password one."""
    return CachingBotFrameworkAuthentication(
        ConfigurationBotFrameworkAuthentication(configuration, credentials_factory=credentials_factory))
