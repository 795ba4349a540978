"""Bot Framework token validation, offline and real: the SDK reads its OpenID metadata URLs and token
issuer from configuration; they point at a local stub serving a JWKS with a test RSA key.

Only outbound credentials are replaced (no token is fetched from Azure for replies); inbound
validation is the SDK's own, with the real app-id check.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from bot_harness import personal_message
from botframework.connector.auth import PasswordServiceClientCredentialFactory
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from msrest.authentication import BasicTokenAuthentication

from bot.app import create_app
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.index_holder import IndexHolder
from bot.settings import Settings

APP_ID = "00000000-test-app-id"
ISSUER = "https://api.botframework.com"
KID = "test-key-1"


@pytest.fixture(scope="module")
def keys():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048), \
        rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def openid(keys):
    """OpenID configuration + JWKS on loopback, in a thread (the SDK fetches it with blocking requests)."""
    jwk = json.loads(RSAAlgorithm.to_jwk(keys[0].public_key()))
    jwk.update(kid=KID, use="sig", endorsements=["msteams"])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            base = f"http://127.0.0.1:{self.server.server_port}"
            body = {"/openid": {"issuer": ISSUER, "jwks_uri": f"{base}/keys"}, "/keys": {"keys": [jwk]}}.get(self.path)
            data = json.dumps(body).encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/openid"
    server.shutdown()


class _OfflineOutbound(PasswordServiceClientCredentialFactory):
    """Real app-id checks; replies signed with a fixed token instead of one fetched from Azure AD."""

    async def create_credentials(self, app_id, oauth_scope, login_endpoint, validate_authority):
        assert await self.is_valid_app_id(app_id)
        return BasicTokenAuthentication({"access_token": "outbound-test-token"})


@pytest.fixture
async def bot(aiohttp_client, openid, tmp_path, bundled_index):
    settings = Settings(app_id=APP_ID, app_password="not-used", index_dir=bundled_index[0],
                        feedback_db=tmp_path / "fb.sqlite3",
                        sdk={"TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": openid,
                             "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": openid,
                             "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": ISSUER})
    app = create_app(settings, holder=IndexHolder(settings.index_dir, bundled_index[1]),
                     store=SQLiteFeedbackStore(settings.feedback_db), watch=False,
                     credentials_factory=_OfflineOutbound(APP_ID, "not-used"))
    return await aiohttp_client(app)


def token(key, service_url: str, **overrides) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": APP_ID, "nbf": now - 10, "exp": now + 3600, "serviceurl": service_url}
    headers = {"kid": KID}
    alg = overrides.pop("alg", "RS256")
    headers.update(overrides.pop("headers", {}))
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


async def test_valid_token_is_accepted_and_the_bot_replies(bot, connector, keys):
    activity = personal_message(connector.url, "what is open data?")
    response = await bot.post("/api/messages", json=activity,
                              headers={"Authorization": f"Bearer {token(keys[0], connector.url)}"})
    assert response.status == 200
    assert connector.messages and connector.messages[0].authorization == "Bearer outbound-test-token"


def _unsigned(service_url: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": ISSUER, "aud": APP_ID, "exp": now + 3600, "serviceurl": service_url}, None,
                      algorithm="none", headers={"kid": KID})


@pytest.mark.parametrize("case", ["missing", "not bearer", "malformed", "alg none", "wrong signature",
                                  "wrong audience", "expired", "wrong issuer", "unknown key", "wrong service url"])
async def test_bad_tokens_get_401(bot, connector, keys, case):
    url = connector.url
    header = {
        "missing": None,
        "not bearer": f"Basic {token(keys[0], url)}",
        "malformed": "Bearer not.a.jwt",
        "alg none": f"Bearer {_unsigned(url)}",
        "wrong signature": f"Bearer {token(keys[1], url)}",
        "wrong audience": f"Bearer {token(keys[0], url, aud='someone-else')}",
        "expired": f"Bearer {token(keys[0], url, exp=int(time.time()) - 3600, nbf=int(time.time()) - 7200)}",
        "wrong issuer": f"Bearer {token(keys[0], url, iss='https://evil.example')}",
        "unknown key": f"Bearer {token(keys[0], url, headers={'kid': 'other-key'})}",
        "wrong service url": f"Bearer {token(keys[0], 'https://evil.example/')}",
    }[case]
    headers = {"Authorization": header} if header else {}
    response = await bot.post("/api/messages", json=personal_message(url, "what is open data?"), headers=headers)
    assert response.status == 401
    assert connector.sent == []
