"""bot/teams/connector.py: connector clients are kept across turns, per service URL and credentials, and
tokens are still refreshed. Real app on loopback + stub Bot Connector; no patching."""

from __future__ import annotations

import base64
import copy
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from botbuilder.core import CardFactory, MessageFactory, Middleware, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    CardAction,
    ChannelAccount,
    HeroCard,
    InputHints,
    Mention,
    SuggestedActions,
    TextFormatTypes,
)
from botbuilder.schema.teams import TeamsChannelData, TenantInfo
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import ClaimsIdentity, MicrosoftAppCredentials, PasswordServiceClientCredentialFactory
from botframework.connector.auth._connector_factory_impl import _ConnectorFactoryImpl
from botframework.connector.auth.app_credentials import AppCredentials
from msrest.serialization import Serializer

from bot.app import ADAPTER, create_app
from bot.decision.decide import Decision, decide
from bot.decision.kinds import Kind
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.index_holder import IndexHolder
from bot.replies import Replies
from bot.settings import Settings
from bot.teams.connector import (
    AioHttpSender,
    BearerTokenPolicy,
    CachingBotFrameworkAuthentication,
    CachingConnectorFactory,
)
from bot.teams.serializer import LeanSerializer
from tests.support.teams import personal_message, serve

SCOPE = "https://api.botframework.com"


class RecordClients(Middleware):
    """Notes the connector and user-token clients the adapter put in each turn's state."""

    def __init__(self, adapter):
        self.adapter, self.turns = adapter, []

    async def on_turn(self, context: TurnContext, logic):
        self.turns.append((context.turn_state.get(self.adapter.BOT_CONNECTOR_CLIENT_KEY),
                           context.turn_state.get(self.adapter.USER_TOKEN_CLIENT_KEY)))
        await logic()


async def test_two_turns_reuse_the_same_connector_client(aiohttp_client, connector, bundled_index, tmp_path):
    settings = Settings(index_dir=bundled_index[0], feedback_db=tmp_path / "f.sqlite3")
    app = create_app(settings, holder=IndexHolder(settings.index_dir, bundled_index[1]),
                     store=SQLiteFeedbackStore(settings.feedback_db), watch=False)
    adapter = app[ADAPTER]
    recorder = RecordClients(adapter)
    adapter.use(recorder)
    client = await serve(aiohttp_client, app)

    for question in ("how do I retire a dataset", "what is open data"):
        response = await client.post("/api/messages", json=personal_message(connector.url, question))
        assert response.status in (200, 201)

    assert len(recorder.turns) == 2
    (first_connector, first_tokens), (second_connector, second_tokens) = recorder.turns
    assert first_connector is not None and first_connector is second_connector
    assert first_tokens is second_tokens
    assert isinstance(adapter.bot_framework_authentication, CachingBotFrameworkAuthentication)
    assert adapter.bot_framework_authentication.cache.created == 1
    assert len(connector.messages) == 2     # both answers went out through the one client
    assert isinstance(first_connector.conversations._serialize, LeanSerializer)


def _factory(app_id: str, credentials_factory, login="https://login.microsoftonline.com/botframework.com"):
    return _ConnectorFactoryImpl(app_id=app_id, to_channel_from_bot_oauth_scope=SCOPE, login_endpoint=login,
                                 validate_authority=True, credential_factory=credentials_factory)


async def test_clients_are_per_service_url_app_and_tenant():
    auth = CachingBotFrameworkAuthentication(inner=None)
    creds = PasswordServiceClientCredentialFactory("app-a", "secret-a")
    a = CachingConnectorFactory(_factory("app-a", creds), auth.cache)
    a_again = CachingConnectorFactory(_factory("app-a", creds), auth.cache)   # a later turn, same bot
    first = await a.create("https://smba.example/amer/")
    assert await a_again.create("https://smba.example/amer/") is first
    assert await a.create("https://smba.example/emea/") is not first              # other service URL
    assert await a.create("https://smba.example/amer/", "https://other.audience") is not first
    other_bot = CachingConnectorFactory(_factory("app-b", PasswordServiceClientCredentialFactory("app-b", "s")),
                                        auth.cache)
    b = await other_bot.create("https://smba.example/amer/")
    assert b is not first and b.config.credentials.microsoft_app_id == "app-b"
    tenant = CachingConnectorFactory(_factory("app-a", creds, "https://login.microsoftonline.com/tenant-x"),
                                     auth.cache)
    assert await tenant.create("https://smba.example/amer/") is not first           # single-tenant login
    assert auth.cache.created == 5
    await auth.close()
    assert len(auth.cache) == 0


async def test_cache_is_bounded():
    auth = CachingBotFrameworkAuthentication(inner=None, max_clients=3)
    f = CachingConnectorFactory(_factory("app-a", PasswordServiceClientCredentialFactory("app-a", "s")), auth.cache)
    for i in range(10):
        await f.create(f"https://smba.example/{i}/")
    assert len(auth.cache) == 3
    await auth.close()


async def test_user_token_client_is_kept_per_app_id():
    auth = CachingBotFrameworkAuthentication(inner=None)
    one = await auth.create_user_token_client(ClaimsIdentity({"aud": "app-a"}, True))
    assert await auth.create_user_token_client(ClaimsIdentity({"aud": "app-a"}, True)) is one
    assert await auth.create_user_token_client(ClaimsIdentity({"aud": "app-b"}, True)) is not one


def _jwt(exp: float) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256'})}.{part({'exp': int(exp), 'aud': SCOPE})}.c2ln"


class CountingCredentials(AppCredentials):
    """AppCredentials whose token service is a counter: each call returns a new token valid ``ttl`` s."""

    def __init__(self, ttl: float):
        super().__init__(app_id="app-a", oauth_scope=SCOPE)
        self.ttl, self.calls = ttl, 0

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.calls += 1
        return _jwt(time.time() + self.ttl)


async def test_token_reused_until_near_expiry_then_refreshed(aiohttp_server):
    """Through the real transport: the header is set on every send, the token is fetched again when the
    cached one is within the margin of its exp claim."""
    from aiohttp import web
    from msrest.pipeline import AsyncPipeline
    from msrest.universal_http import ClientRequest

    seen = []

    async def record(request):
        seen.append(request.headers.get("Authorization"))
        return web.json_response({"id": "1"})

    app = web.Application()
    app.router.add_post("/v3/x", record)
    server = await aiohttp_server(app)

    long_lived, short_lived = CountingCredentials(ttl=3600), CountingCredentials(ttl=60)  # 60 s < 300 s margin
    for creds, expected_calls in ((long_lived, 1), (short_lived, 3)):
        seen.clear()
        pipeline = AsyncPipeline([BearerTokenPolicy(creds)], AioHttpSender())
        async with pipeline:
            for _ in range(3):
                request = ClientRequest("POST", str(server.make_url("/v3/x")))
                request.add_content({"type": "message"})
                response = await pipeline.run(request)
                assert response.http_response.status_code == 200
        assert creds.calls == expected_calls
        assert all(h and h.startswith("Bearer ") for h in seen) and len(seen) == 3


# ----------------------------------------------------------------------------- request bodies
def _outgoing(bundled_index) -> tuple[list[Activity], list[Activity]]:
    """What the bot sends (every card and text it has, addressed like the SDK does) and odd cases; then
    activities the lean path hands to msrest."""
    incoming = Activity().deserialize(personal_message("https://smba.example/amer/", "q"))
    reference = TurnContext.get_conversation_reference(incoming)
    index = bundled_index[1]
    cards = Replies()
    replies = [cards.reply_for(decide(q, index), "turn-id", "a Teams personal chat")
               for q in ("who is the data steward?", "what is open data?",
                         "which team won the hockey match on Sunday?")]
    replies += [cards.welcome(), cards.help(), cards.reply_for(Decision(Kind.THANKS, "thanks")),
                cards.vote_thanks("up")]
    out = []
    for reply in replies:
        activity = (MessageFactory.text(reply.text or reply.summary) if reply.card is None
                    else MessageFactory.attachment(CardFactory.adaptive_card(reply.card)))
        activity.summary = reply.summary
        out.append(activity)
    out += [Activity(type=ActivityTypes.typing), MessageFactory.text("plain, with \u00e9 and emoji \U0001f600")]
    odd = MessageFactory.text("odd", input_hint=InputHints.accepting_input)
    odd.text_format, odd.importance = TextFormatTypes.markdown, "high"
    odd.timestamp = datetime(2025, 7, 1, 12, 0, 0, 120000, tzinfo=timezone.utc)
    odd.local_timestamp = datetime(2025, 7, 1, 8, 0, 0, tzinfo=timezone(timedelta(hours=-4)))
    odd.entities = [Mention(mentioned=ChannelAccount(id="28:bot", name="Bot"), text="<at>Bot</at>", type="mention"),
                    None]
    odd.channel_data = {"notification": {"alert": True}, "n": 1, "x": 1.5, "none": None, "list": [1, "a", None]}
    odd.value = TeamsChannelData(tenant=TenantInfo(id="tenant"))
    odd.attachments = [CardFactory.hero_card(HeroCard(title="t", buttons=[CardAction(type="imBack", value="v")]))]
    odd.suggested_actions = SuggestedActions(to=["a"], actions=[CardAction(type="imBack", title="x", value={"a": 1})])
    out.append(odd)
    dicts = MessageFactory.text("attachments as dicts: msrest turns them into models first")
    dicts.attachments = [{"contentType": "text/plain", "content": "x", "unknownKey": 1}]
    tuples = MessageFactory.text("a tuple in an object field: msrest writes str(tuple)")
    tuples.channel_data = {"tuple": (1, 2)}
    for activity in [*out, dicts, tuples]:
        TurnContext.apply_conversation_reference(activity, reference)
    return out, [dicts, tuples]


def test_lean_serializer_sends_the_same_json_as_msrest(bundled_index):
    deps = ConnectorClient(MicrosoftAppCredentials("", ""), base_url="https://smba.example/")._serialize.dependencies
    msrest_body, lean = Serializer(deps).body, LeanSerializer(deps)
    lean_cases, fallback_cases = _outgoing(bundled_index)
    for activity in lean_cases + fallback_cases:
        expected = json.dumps(msrest_body(copy.deepcopy(activity), "Activity"))
        assert json.dumps(lean.body(copy.deepcopy(activity), "Activity")) == expected
    for activity in lean_cases:   # these really took the lean path
        assert json.dumps(lean._model(copy.deepcopy(activity))) == json.dumps(msrest_body(activity, "Activity"))
    for activity in fallback_cases:
        with pytest.raises(Exception):  # noqa: B017 - whatever the lean path gives up with
            lean._model(copy.deepcopy(activity))
    with pytest.raises(Exception) as lean_error:   # what msrest rejects, it still rejects
        lean.body(None, "Activity")
    with pytest.raises(type(lean_error.value)):
        msrest_body(None, "Activity")
