"""The Teams activity handler: turns Teams activities into decisions and replies (bot/replies.py).

- channel messages are answered only when the bot is @mentioned, as a reply in the same thread
  (the SDK replies to the incoming activity's id); group and personal chats too;
- the mention is removed with ``TurnContext.remove_recipient_mention``; an empty message or one that
  is only a mention gets the help card; the bot's own messages are ignored;
- a typing indicator is sent when the answer is not ready after ``settings.typing_delay_seconds``
  (bot/teams/pacing.py); greetings / thanks / help need no search;
- welcome card when the bot is added to a team, chat or personal scope;
- card actions arrive as ``Action.Submit`` messages (``value``) or ``adaptiveCard/action`` invokes:
  👍 / 👎 votes (👎 also offers the DAPA hand-off) and example questions.

Logs carry no personal data: decision, conversation type, hashed user id, timings.
"""

from __future__ import annotations

import logging
import re
import time

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.core.teams.teams_activity_extensions import teams_get_channel_data
from botbuilder.schema import Activity, ActivityTypes, AdaptiveCardInvokeResponse

from bot.decision.decide import Decision, clean_question
from bot.decision.kinds import Kind, Reason
from bot.feedback.recorder import Recorder
from bot.feedback.store import FeedbackStore, TurnRecord, hash_user
from bot.replies import CARD_VERSION, Replies, Reply
from bot.teams.pacing import Decider, Typing

log = logging.getLogger(__name__)
LOADING = "I'm still loading the handbook. Please ask again in a minute."


class HandbookBot(TeamsActivityHandler):
    """Answers handbook questions. ``holder`` has ``.index`` (None until loaded)."""

    def __init__(self, holder, store: FeedbackStore | None, settings) -> None:
        self.holder, self.store, self.settings = holder, store, settings
        self.recorder = Recorder(store) if store is not None else None
        self.decider = Decider()
        self.replies = Replies.from_settings(settings)

    # ------------------------------------------------------------------ messages
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.from_property and activity.recipient and activity.from_property.id == activity.recipient.id:
            return
        if isinstance(activity.value, dict) and activity.value.get("action"):
            await self._card_action(turn_context, activity.value)
            return
        conversation_type = _conversation_type(activity)
        if conversation_type == "channel" and not _mentions_bot(activity):
            return
        text = _without_mention(activity).replace("&nbsp;", " ").strip()
        if not text:
            await self._send(turn_context, self.replies.help())
            return
        await self.answer(turn_context, text)

    async def answer(self, turn_context: TurnContext, text: str) -> None:
        index = self.holder.index
        if index is None:
            await turn_context.send_activity(MessageFactory.text(LOADING))
            return
        started = time.perf_counter()
        typing = Typing(lambda: turn_context.send_activity(Activity(type=ActivityTypes.typing)),
                        self.settings.typing_delay_seconds)
        try:
            decision: Decision = await self.decider(text, index)
        finally:
            await typing.stop()
        turn_id = None
        if not decision.kind.small_talk:
            user = self._user_hash(turn_context)
            turn_id = self._record(decision, user, _conversation_type(turn_context.activity))
            log.info("answered: decision=%s reason=%s conversation=%s user=%s top=%s truncated=%s in %.0f ms",
                     decision.kind, decision.reason, _conversation_type(turn_context.activity), user,
                     decision.best.section.url if decision.best else None, decision.truncated,
                     (time.perf_counter() - started) * 1000)
        await self._send(turn_context, self.replies.reply_for(decision, turn_id, _where(turn_context.activity)))

    # ------------------------------------------------------------------ card actions
    async def _card_action(self, turn_context: TurnContext, data: dict) -> str | None:
        """Handle an Action.Submit / Action.Execute payload; returns a short status text."""
        action = data.get("action")
        if action == "ask" and isinstance(data.get("q"), str):
            await self.answer(turn_context, data["q"])
            return "ok"
        if action == "vote" and data.get("vote") in ("up", "down") and isinstance(data.get("turn"), str):
            user = self._user_hash(turn_context)
            known = await self._vote(data["turn"], data["vote"], user)
            log.info("vote: %s on turn %s (known=%s) user=%s", data["vote"], data["turn"][:12], known, user)
            if data["vote"] == "down":
                question = data.get("q") if isinstance(data.get("q"), str) else ""
                decision = Decision(Kind.HANDOFF, clean_question(question)[0], reason=Reason.VOTED_DOWN)
                await self._send(turn_context, self.replies.reply_for(decision, where=_where(turn_context.activity)))
            else:
                await self._send(turn_context, self.replies.vote_thanks("up"))
            return "Thanks for the feedback!"
        log.info("ignored card action %r", str(action)[:20])
        return None

    def _get_adaptive_card_invoke_value(self, activity: Activity):
        """The SDK's check of an ``adaptiveCard/action`` value, without its crash on an ``action`` that is not an
        object (it called ``.get`` on it): such a value gets the SDK's own 400 "Missing action property"."""
        value = activity.value
        if isinstance(value, dict) and value.get("action") is not None and not isinstance(value["action"], dict):
            activity = Activity(value={k: v for k, v in value.items() if k != "action"})
        return super()._get_adaptive_card_invoke_value(activity)

    async def on_adaptive_card_invoke(self, turn_context: TurnContext, invoke_value) -> AdaptiveCardInvokeResponse:
        value = turn_context.activity.value if isinstance(turn_context.activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        data = action.get("data") or {}
        status = await self._card_action(turn_context, data if isinstance(data, dict) else {})
        card = {"type": "AdaptiveCard", "version": CARD_VERSION,
                "body": [{"type": "TextBlock", "text": status or "Nothing to do.", "wrap": True}]}
        return AdaptiveCardInvokeResponse(status_code=200, type="application/vnd.microsoft.card.adaptive", value=card)

    async def on_teams_card_action_invoke(self, turn_context: TurnContext):
        value = turn_context.activity.value
        await self._card_action(turn_context, value if isinstance(value, dict) else {})
        return self._create_invoke_response()

    # ------------------------------------------------------------------ welcome
    async def on_teams_members_added_dispatch(self, members_added, team_info, turn_context: TurnContext):
        await self._welcome_if_bot_added(members_added, turn_context)

    async def on_members_added_activity(self, members_added, turn_context: TurnContext):
        await self._welcome_if_bot_added(members_added, turn_context)

    async def _welcome_if_bot_added(self, members_added, turn_context: TurnContext) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(m.id == bot_id for m in members_added or []):
            log.info("installed in a %s conversation: sending welcome", _conversation_type(turn_context.activity))
            await self._send(turn_context, self.replies.welcome())

    # ------------------------------------------------------------------ helpers
    async def _send(self, turn_context: TurnContext, reply: Reply) -> None:
        if reply.card is None:
            activity = MessageFactory.text(reply.text or reply.summary)
        else:
            activity = MessageFactory.attachment(CardFactory.adaptive_card(reply.card))
        activity.summary = reply.summary
        await turn_context.send_activity(activity)

    def _user_hash(self, turn_context: TurnContext) -> str | None:
        sender = turn_context.activity.from_property
        user_id = (sender.aad_object_id or sender.id) if sender else None
        return hash_user(user_id, self.settings.user_hash_salt)

    def _record(self, decision: Decision, user: str | None, conversation_type: str) -> str | None:
        """Queue the turn for the feedback store (bot/recorder.py); its id goes on the vote buttons."""
        if self.recorder is None:
            return None
        return self.recorder.record_turn(TurnRecord(
            decision.question, decision.kind.value, decision.best.section.url if decision.best else None, user,
            conversation_type))

    async def _vote(self, turn_id: str, vote: str, user: str | None) -> bool:
        if self.recorder is None:
            return False
        try:
            return await self.recorder.record_vote(turn_id, vote, user)
        except Exception as exc:
            log.error("feedback store: could not record vote (%s)", type(exc).__name__)
            return False


def _conversation_type(activity: Activity) -> str:
    conversation = activity.conversation
    return (conversation.conversation_type if conversation and conversation.conversation_type else "personal")


def _without_mention(activity: Activity) -> str:
    """Message text with the bot's @mention removed (the SDK helper; a malformed entity falls back to a regex)."""
    try:
        return TurnContext.remove_recipient_mention(activity) or ""
    except (KeyError, TypeError, AttributeError, re.error):
        return re.sub(r"<at>.*?</at>", " ", activity.text or "")


def _mentions_bot(activity: Activity) -> bool:
    bot_id = activity.recipient.id if activity.recipient else None
    mentioned = (m.additional_properties.get("mentioned") or {} for m in TurnContext.get_mentions(activity))
    return any(isinstance(who, dict) and who.get("id") == bot_id for who in mentioned)


def _where(activity: Activity) -> str | None:
    """Where a question was asked, for the DAPA e-mail: "Team › Channel" (names when Teams sends them)."""
    kind = _conversation_type(activity)
    try:
        data = teams_get_channel_data(activity) if activity.channel_data and kind == "channel" else None
    except Exception:
        data = None
    if data is None or kind != "channel":
        return {"groupChat": "a Teams group chat", "personal": "a Teams personal chat"}.get(kind, "Teams")
    team = (data.team.name or data.team.id) if data.team else None
    channel = (data.channel.name or data.channel.id) if data.channel else None
    return " › ".join(p for p in ("Team " + team if team else None, "channel " + channel if channel else None) if p)
