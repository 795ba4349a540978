"""Bot Framework token signing keys, fetched off the event loop with a time limit and cached.

The SDK (botframework-connector 4.17, ``JwtTokenExtractor``) keeps one ``_OpenIdMetadata`` per OpenID
metadata URL in the class-level ``JwtTokenExtractor.metadataCache`` and, when it has no keys or meets an
unknown key id, fetches the metadata and the JWKS with a blocking ``requests.get`` without timeout *on the
event loop*. A forged token while the metadata endpoint is slow therefore froze the whole worker, and
failures were not cached (every forged token fetched again).

``install_key_cache()`` puts ``OpenIdKeys`` objects in that cache (same ``async get(key_id)`` interface;
the SDK still does every check on the token itself):

- fetches run in a worker thread with connect/read timeouts; one fetch per URL at a time, shared by
  every request waiting for it, and a waiting request gives up after ``wait_seconds`` (401);
- keys are parsed once per fetch (the SDK parsed the JWK on every request);
- keys older than ``refresh_seconds`` are refreshed in the background while the old ones keep serving;
- an unknown key id triggers a fetch at most once per ``unknown_kid_seconds`` (key rollover), so forged
  key ids cannot make the bot hammer the endpoint;
- a failed fetch is remembered for ``failure_seconds``: no new fetch before then.

The objects are thread- and loop-agnostic (a ``concurrent.futures.Future`` per fetch), so one cache
serves every app and event loop of the process, as the SDK's own did.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import requests
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)


class SigningKeysUnavailable(Exception):
    """No key to check the token with: unknown key id, or the metadata endpoint failed (the caller answers 401)."""


@dataclass(frozen=True)
class SigningKey:
    """What ``JwtTokenExtractor._validate_token`` reads from the object ``get`` returns."""

    public_key: object
    endorsements: list


@dataclass(frozen=True)
class KeyCachePolicy:
    timeout_seconds: float = 5.0           # connect and read timeout of each HTTP GET
    wait_seconds: float = 5.0              # longest a request waits for a fetch in progress
    refresh_seconds: float = 12 * 3600.0   # keys older than this are refreshed in the background
    unknown_kid_seconds: float = 300.0     # an unknown key id fetches again at most this often
    failure_seconds: float = 30.0          # after a failed fetch, no new fetch for this long


def fetch_keys(url: str, timeout: float) -> dict[str, SigningKey]:
    """GET the OpenID configuration at ``url``, then its ``jwks_uri``; the RSA keys by key id."""
    session = requests.Session()
    session.trust_env = True
    with session:
        response = session.get(url, timeout=(timeout, timeout))
        response.raise_for_status()
        jwks_uri = response.json()["jwks_uri"]
        response = session.get(jwks_uri, timeout=(timeout, timeout))
        response.raise_for_status()
        keys = {}
        for jwk in response.json()["keys"]:
            if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
                continue
            try:
                public_key = RSAAlgorithm.from_jwk(json.dumps(jwk))
                keys[jwk["kid"]] = SigningKey(public_key, list(jwk.get("endorsements") or []))
            except Exception as exc:   # one unusable key does not spoil the others
                log.warning("OpenID keys at %s: skipping key %s (%s)", jwks_uri, jwk["kid"][:16], type(exc).__name__)
        if not keys:
            raise ValueError(f"no usable signing keys at {jwks_uri}")
        return keys


class OpenIdKeys:
    """The signing keys of one OpenID metadata URL (drop-in for the SDK's ``_OpenIdMetadata``)."""

    def __init__(self, url: str, policy: KeyCachePolicy, executor: ThreadPoolExecutor,
                 fetch: Callable[[str, float], dict[str, SigningKey]] = fetch_keys,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url, self.policy, self._executor, self._fetch, self._clock = url, policy, executor, fetch, clock
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at = -float("inf")     # last successful fetch
        self._attempted_at = -float("inf")   # last fetch started
        self._failed_at = -float("inf")      # last failed fetch
        self._inflight: Future | None = None
        self.fetches = self.failures = 0

    async def get(self, key_id: str | None) -> SigningKey:
        now = self._clock()
        key = self._keys.get(key_id)
        if key is not None:
            if now - self._fetched_at > self.policy.refresh_seconds:
                self._start_fetch(now)          # in the background; the current keys keep serving
            return key
        if self._keys and now - self._attempted_at < self.policy.unknown_kid_seconds:
            raise SigningKeysUnavailable("unknown signing key id")
        future = self._start_fetch(now)
        if future is None:
            raise SigningKeysUnavailable("OpenID metadata fetch failed recently")
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.policy.wait_seconds)
        except asyncio.TimeoutError:
            raise SigningKeysUnavailable(f"OpenID metadata did not answer within {self.policy.wait_seconds}s") from None
        except Exception as exc:
            raise SigningKeysUnavailable(f"OpenID metadata fetch failed ({type(exc).__name__})") from None
        key = self._keys.get(key_id)
        if key is None:
            raise SigningKeysUnavailable("unknown signing key id")
        return key

    def _start_fetch(self, now: float) -> Future | None:
        """The fetch in progress, or a new one; None while a recent failure is remembered."""
        with self._lock:
            if self._inflight is not None:
                return self._inflight
            if now - self._failed_at < self.policy.failure_seconds:
                return None
            self._attempted_at = now
            self.fetches += 1
            self._inflight = future = self._executor.submit(self._run)
            return future

    def _run(self) -> None:
        try:
            keys = self._fetch(self.url, self.policy.timeout_seconds)
        except BaseException as exc:
            with self._lock:
                self._failed_at, self._inflight = self._clock(), None
                self.failures += 1
            log.error("OpenID metadata %s: fetch failed (%s); %s", self.url, type(exc).__name__,
                      "keeping the cached keys" if self._keys else "tokens cannot be validated until it works")
            raise
        with self._lock:
            self._keys, self._fetched_at, self._inflight = keys, self._clock(), None
        log.info("OpenID metadata %s: %d signing keys", self.url, len(keys))

    def prefetch(self) -> Future | None:
        """Start a fetch now (at start-up, so the first real request finds the keys)."""
        return self._start_fetch(self._clock())


class _KeyRegistry(dict):
    """``JwtTokenExtractor.metadataCache`` replacement: ``get(url)`` always yields our ``OpenIdKeys``."""

    def __init__(self, make: Callable[[str], OpenIdKeys]) -> None:
        super().__init__()
        self._make, self._lock = make, threading.Lock()

    def get(self, url, default=None):
        keys = super().get(url)
        if keys is None:
            with self._lock:
                keys = super().get(url)
                if keys is None:
                    keys = self[url] = self._make(url)
        return keys


_installed: _KeyRegistry | None = None
_install_lock = threading.Lock()


def channel_metadata_url(sdk_configuration: dict) -> str:
    """The OpenID metadata URL of Bot Framework channel tokens (``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL``
    when configured, else the SDK's)."""
    from botframework.connector.auth import AuthenticationConstants

    return (sdk_configuration.get("TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL")
            or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL)


def install_key_cache(policy: KeyCachePolicy | None = None) -> _KeyRegistry:
    """Route the SDK's token validation through ``OpenIdKeys`` (once per process; later calls with another
    policy apply it to URLs first seen afterwards). Returns the registry (URL -> ``OpenIdKeys``)."""
    global _installed
    policy = policy or KeyCachePolicy()
    with _install_lock:
        if _installed is None or JwtTokenExtractor.metadataCache is not _installed:
            executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="openid-keys")
            registry = _KeyRegistry(lambda url: OpenIdKeys(url, registry.policy, executor))
            _installed = JwtTokenExtractor.metadataCache = registry
        _installed.policy = policy
        return _installed
