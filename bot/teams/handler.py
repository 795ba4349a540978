"""The Teams activity handler: turns Teams activities into decisions and replies (bot/replies.py).

- channel messages are answered only when the bot is @mentioned, as a reply in the same thread
  (the SDK replies to the incoming activity's id); group and personal chats too;
- the mention is removed with ``TurnContext.remove_recipient_mention``; an empty message or one that
  is only a mention gets the help card; the bot's own messages are ignored;
- a typing indicator is sent when the answer is not ready after ``settings.typing_delay_seconds``
  (bot/teams/pacing.py); greetings / thanks / help need no search;
- welcome card when the bot is added to a team or group chat; a personal chat shows the manifest's
  prompt starters instead (Microsoft's guidance: prompt starters or a welcome message, not both);
- answers carry Teams' built-in feedback (``channelData.feedbackLoop``); its ``message/submitAction``
  invoke, the compose-box search and link unfurling are in bot/teams/invokes.py;
- card actions arrive as ``Action.Submit`` messages (``value``) or ``adaptiveCard/action`` invokes:
  "None of these" (hand-off), "This answered it" beside a closest section of an unsure reply (the pick
  is recorded for the learning step, bot/learning/store.py), example questions, "Mark resolved" on DAPA's
  triage card (optionally with the section that answers it: recorded for the learning step,
  bot/learning/triage.py) and its "Add the question as an example" / "Don't use", and the 👍 / 👎 buttons
  of cards posted before the built-in feedback (👎 also offers the DAPA hand-off);
- every hand-off @mentions the configured tag / people in a channel thread and is posted to DAPA's
  triage conversation when one is configured (bot/teams/handoff.py).

Logs carry no personal data: decision, conversation type, hashed user id, timings.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.core.teams.teams_activity_extensions import teams_get_channel_data
from botbuilder.schema import Activity, ActivityTypes, AdaptiveCardInvokeResponse, InvokeResponse

from bot.decision.decide import Decision, clean_question
from bot.decision.kinds import Kind, Reason
from bot.feedback.recorder import Recorder
from bot.feedback.store import FeedbackStore, TurnRecord, hash_user
from bot.learning.triage import TriageLearning, find_section
from bot.replies import CARD_VERSION, NONE_OF_THESE, PICK, Replies, Reply
from bot.teams import handoff, invokes
from bot.teams.pacing import Decider, Typing
from bot.teams.sent import sent_hook
from bot.triage_cards import (
    APPROVE,
    REJECT,
    RESOLVE,
    Handoff,
    picked_link,
    resolved_card,
    resolved_from_data,
    review_note,
    triage_card,
)

log = logging.getLogger(__name__)
LOADING = "I'm still loading the handbook. Please ask again in a minute."


class HandbookBot(TeamsActivityHandler):
    """Answers handbook questions. ``holder`` has ``.index`` (None until loaded)."""

    def __init__(self, holder, store: FeedbackStore | None, settings) -> None:
        self.holder, self.store, self.settings = holder, store, settings
        self.recorder = Recorder(store) if store is not None else None
        self.learning = TriageLearning(settings) if store is not None else None   # opened at the first use
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
            turn_id = await self._record(decision, user, _conversation_type(turn_context.activity))
            log.info("answered: decision=%s reason=%s conversation=%s user=%s top=%s truncated=%s in %.0f ms",
                     decision.kind, decision.reason, _conversation_type(turn_context.activity), user,
                     decision.best.section.url if decision.best else None, decision.truncated,
                     (time.perf_counter() - started) * 1000)
        where = _where(turn_context.activity)
        mentions = handoff.mentions_for(turn_context.activity, self.settings)
        answered = decision.best is not None
        await self._send(turn_context, self.replies.reply_for(decision, turn_id, where, mentions),
                         turn_id=turn_id if answered else None)
        if decision.kind is Kind.HANDOFF:   # "unsure" offers DAPA; its "None of these" hands off
            await self._handed_off(turn_context, decision, turn_id, where)

    # ------------------------------------------------------------------ hand-off
    async def _hand_off(self, turn_context: TurnContext, decision: Decision, turn_id: str | None) -> None:
        """Send the hand-off card (with the configured @mentions in a channel), record the hand-off and post it
        to DAPA's triage conversation."""
        activity = turn_context.activity
        where = _where(activity)
        await self._send(turn_context, self.replies.reply_for(decision, where=where,
                                                         mentions=handoff.mentions_for(activity, self.settings)))
        await self._handed_off(turn_context, decision, turn_id, where)

    async def _handed_off(self, turn_context: TurnContext, decision: Decision, turn_id: str | None,
                          where: str | None) -> None:
        """Record the hand-off and post it to DAPA's triage conversation (when one is configured)."""
        activity = turn_context.activity
        handoff_id, reason = uuid.uuid4().hex, str(decision.reason or decision.kind)
        if self.recorder is not None:
            self.recorder.submit("record_handoff", handoff_id, turn_id, reason)
        closest = tuple((" › ".join(h.section.breadcrumb), h.section.url) for h in decision.also_see)
        closest = closest or await self._closest(decision.question)
        await handoff.post_to_triage(turn_context, self.settings, Handoff(
            handoff_id, decision.question, reason, where or "Teams",
            handoff.thread_link(activity), closest))

    async def _closest(self, question: str, k: int = 3) -> tuple[tuple[str, str], ...]:
        """(title, url) of the sections closest to ``question``: what DAPA can resolve the hand-off with when
        the decision showed none (a hand-off from "None of these", 👎, or no good answer)."""
        index = self.holder.index
        if index is None or not question.strip():
            return ()
        try:
            result = await asyncio.to_thread(index.search, question, 3 * k)
        except Exception as exc:
            log.error("closest sections for the triage card: search failed (%s)", type(exc).__name__)
            return ()
        out: dict[str, str] = {}
        for hit in getattr(result, "hits", result) or ():
            if hit.score > 0 and hit.section.url not in out and len(out) < k:
                out[hit.section.url] = " › ".join(hit.section.breadcrumb)
        return tuple((title, url) for url, title in out.items())

    # ------------------------------------------------------------------ invokes
    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        name = turn_context.activity.name
        if name == invokes.FEEDBACK:
            return await self._feedback(turn_context)
        if name == invokes.QUERY:
            return invokes.search_response(self.holder.index, turn_context.activity)
        if name in invokes.QUERY_LINK:
            return invokes.unfurl_response(self.holder.index, turn_context.activity)
        return await super().on_invoke_activity(turn_context)

    async def _feedback(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        if not isinstance(activity.value, dict) or activity.value.get("actionName") != "feedback":
            return invokes.ok()   # another message action: nothing of ours
        parsed = invokes.parse_feedback(activity)
        if isinstance(parsed, str):
            return invokes.bad(parsed)
        vote, reason = parsed
        user = self._user_hash(turn_context)
        salt = self.settings.user_hash_salt
        found = None
        if self.recorder is not None:
            try:
                found = await self.recorder.call(
                    "record_feedback", invokes.message_key(activity, activity.reply_to_id, salt),
                    invokes.conversation_key(activity, salt), vote, user, reason)
            except Exception as exc:
                log.error("feedback store: could not record feedback (%s)", type(exc).__name__)
        log.info("feedback: %s%s on %s user=%s", vote, " with text" if reason else "",
                 "turn " + found["turn_id"][:12] if found else "a message not stored yet", user)
        if vote == "down":
            question = found["question"] if found else ""
            await self._hand_off(turn_context, Decision(Kind.HANDOFF, question, reason=Reason.VOTED_DOWN),
                                 found["turn_id"] if found else None)
        return invokes.ok()

    # ------------------------------------------------------------------ card actions
    async def _card_action(self, turn_context: TurnContext, data: dict) -> str | None:
        """Handle an Action.Submit / Action.Execute payload; returns a short status text."""
        action = data.get("action")
        if action == "ask" and isinstance(data.get("q"), str):
            await self.answer(turn_context, data["q"])
            return "ok"
        if action == "vote" and data.get("vote") in ("up", "down") and isinstance(data.get("turn"), str):
            # the in-card buttons of answers posted before the built-in feedback loop
            user = self._user_hash(turn_context)
            known = await self._vote(data["turn"], data["vote"], user)
            log.info("vote: %s on turn %s (known=%s) user=%s", data["vote"], data["turn"][:12], known, user)
            if data["vote"] == "down":
                question = data.get("q") if isinstance(data.get("q"), str) else ""
                decision = Decision(Kind.HANDOFF, clean_question(question)[0], reason=Reason.VOTED_DOWN)
                await self._hand_off(turn_context, decision, data["turn"] if known else None)
            elif known:   # thanked only for a vote that is stored
                await self._send(turn_context, self.replies.vote_thanks("up"))
            else:
                await self._send(turn_context, self.replies.vote_not_recorded())
                return self.replies.vote_not_recorded().text
            return "Thanks for the feedback!"
        if action == NONE_OF_THESE and isinstance(data.get("turn"), str):
            user = self._user_hash(turn_context)
            known = data["turn"] and await self._vote(data["turn"], "down", user, Reason.NONE_OF_THESE.value)
            log.info("none of these: turn %s (known=%s) user=%s", data["turn"][:12], known, user)
            question = data.get("q") if isinstance(data.get("q"), str) else ""
            decision = Decision(Kind.HANDOFF, clean_question(question)[0], reason=Reason.NONE_OF_THESE)
            await self._hand_off(turn_context, decision, data["turn"] if known else None)
            return "Handed to DAPA."
        if action == PICK:
            reply = await self._pick(turn_context, data)
            await self._send(turn_context, reply)
            return reply.text
        log.info("ignored card action %r", str(action)[:20])
        return None

    async def _pick(self, turn_context: TurnContext, data: dict) -> Reply:
        """"This answered it" beside one of the closest sections of an unsure reply: the (turn, section) pair
        is recorded for the learning step when the section is one the live index holds and the turn is stored;
        anything else gets a short reason and nothing is stored."""
        turn, url = data.get("turn"), data.get("url")
        if not isinstance(turn, str) or not turn or len(turn) > 64 or not isinstance(url, str):
            log.info("pick refused: not a pick from an unsure reply")
            return self.replies.pick_not_recorded("that button is not from one of my replies.")
        index = self.holder.index
        if index is None:
            return self.replies.pick_not_recorded("I'm still loading the handbook. Please try again in a minute.")
        if url not in {s.url for s in index.sections}:
            log.info("pick refused on turn %s: not a section of the live index", turn[:12])
            return self.replies.pick_not_recorded("that section is no longer in the handbook I know.")
        if self.recorder is None or self.learning is None:
            return self.replies.pick_not_recorded("no question log is configured here.")
        user = self._user_hash(turn_context)
        try:
            known = await self.recorder.call("turn", turn) is not None   # after the writes queued before it
            known = known and await asyncio.to_thread(self.learning.record_pick, turn, url, user)
        except Exception as exc:
            log.error("learning store: could not record the pick (%s)", type(exc).__name__)
            return self.replies.pick_not_recorded("something went wrong on my side. Please try again.")
        log.info("pick: turn %s (known=%s) user=%s", turn[:12], known, user)
        if not known:
            return self.replies.pick_not_recorded("I no longer have that question. Please ask it again.")
        return self.replies.pick_thanks()

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
        if isinstance(data, dict) and data.get("action") == RESOLVE:
            return await self._resolve(turn_context, data)
        if isinstance(data, dict) and data.get("action") in (APPROVE, REJECT):
            return await self._review_example(turn_context, data)
        status = await self._card_action(turn_context, data if isinstance(data, dict) else {})
        card = {"type": "AdaptiveCard", "version": CARD_VERSION,
                "body": [{"type": "TextBlock", "text": status or "Nothing to do.", "wrap": True}]}
        return AdaptiveCardInvokeResponse(status_code=200, type="application/vnd.microsoft.card.adaptive", value=card)

    async def _resolve(self, turn_context: TurnContext, data: dict) -> AdaptiveCardInvokeResponse:
        """"Mark resolved" on a triage card: record who (hashed) and when; everyone sees the resolved card.
        With a section picked or pasted (checked against the live index first: a link that names no indexed
        section gets the triage card back with the reason, nothing stored) the question -> section pair is
        recorded for the learning step and the resolved card offers to add the question as an example."""
        item = Handoff.from_data(data)
        if item is None:
            return _bad_card_action("not a hand-off")
        link, section = picked_link(data), None
        if link:
            problem = self._not_from_triage(turn_context)
            if problem is None and self.holder.index is None:
                problem = "the handbook index is still loading; try again in a minute."
            if problem is None:
                section, problem = find_section(self.holder.index.sections, link)
            if section is None:
                log.info("hand-off %s: resolve with a section refused (not an indexed section, or not allowed here)",
                         item.handoff_id[:12])
                return _card(triage_card(item, problem=problem, link=link[:2000]))
        resolver = self._user_hash(turn_context)
        at, first = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), True
        learnable, why = False, None
        if self.recorder is not None:
            try:
                stored_at, first = await self.recorder.call("resolve_handoff", item.handoff_id, resolver)
                at = stored_at[:16].replace("T", " ") + " UTC"
                if section is not None:
                    turn_id = await self._handoff_turn(item.handoff_id)
                    learnable = bool(turn_id) and await asyncio.to_thread(
                        self.learning.record_resolution, turn_id, section.url, resolver)
                    if learnable:   # can the question become an example? (else the card says why at once)
                        why = await asyncio.to_thread(self.learning.check, turn_id, self.holder.index)
            except Exception as exc:
                log.error("feedback store: could not record the resolution (%s)", type(exc).__name__)
        sender = turn_context.activity.from_property
        by = (sender.name if sender and sender.name else "") if first else ""
        log.info("hand-off %s resolved (first=%s, with a section=%s, learnable=%s) by user=%s", item.handoff_id[:12],
                 first, section is not None, learnable, resolver)
        shown = (" › ".join(section.breadcrumb), section.url) if section is not None else None
        note = None if section is None or learnable else review_note("no question")
        if why is not None:
            note = review_note(why.state, why.detail)
        return _card(resolved_card(item, by, at, shown, offer=learnable and why is None, note=note))

    async def _review_example(self, turn_context: TurnContext, data: dict) -> AdaptiveCardInvokeResponse:
        """"Add the question as an example for this section" / "Don't use" on a resolved triage card: the
        approval of ``python -m bot report --approve / --reject`` (bot/learning/triage.py), reviewer hashed."""
        item = Handoff.from_data(data)
        section, by, at = resolved_from_data(data)
        if item is None or section is None:
            return _bad_card_action("not a resolved hand-off")
        verdict = "approved" if data.get("action") == APPROVE else "rejected"
        problem = self._not_from_triage(turn_context)
        if problem is None and (self.learning is None or self.recorder is None):
            problem = "no question log is configured, so nothing can be learned from it."
        index = self.holder.index
        if problem is None and index is None:
            problem = "the handbook index is still loading; try again in a minute."
        if problem is not None:
            return _card(resolved_card(item, by, at, section, offer=True, note=f"⚠️ {problem}"))
        reviewer = self._user_hash(turn_context)
        try:
            turn_id = await self._handoff_turn(item.handoff_id)
            outcome = (await asyncio.to_thread(self.learning.review_turn, turn_id, index, verdict, reviewer)
                       if turn_id else None)
        except Exception as exc:
            log.error("learning store: could not record the review (%s)", type(exc).__name__)
            return _card(resolved_card(item, by, at, section, offer=True,
                                       note="⚠️ That could not be saved just now; nothing changed. Try again."))
        state = outcome.state if outcome else "not resolved"
        log.info("hand-off %s: example %s (%s) by user=%s", item.handoff_id[:12], verdict, state, reviewer)
        sender = turn_context.activity.from_property
        who = sender.name if sender and sender.name and state in ("approved", "rejected") else ""
        note = review_note(state, outcome.detail if outcome else "", who, outcome.written if outcome else False)
        return _card(resolved_card(item, by, at, section, note=note))

    async def _handoff_turn(self, handoff_id: str) -> str | None:
        """The stored turn a hand-off came from (after everything queued before it is written)."""
        row = await self.recorder.call("handoff", handoff_id)
        return row.get("turn_id") if row else None

    def _not_from_triage(self, turn_context: TurnContext) -> str | None:
        """Why a click that teaches the bot is refused outside DAPA's triage conversation (None: it is from there)."""
        conversation = turn_context.activity.conversation
        here = (conversation.id or "").split(";messageid=", 1)[0] if conversation else ""
        if not self.settings.triage_conversation_id or here != self.settings.triage_conversation_id:
            return "sections and examples are chosen from DAPA's triage conversation only."
        return None

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
        if _conversation_type(turn_context.activity) == "personal":
            return   # personal chat shows the manifest's prompt starters instead (Teams: one or the other)
        if any(m.id == bot_id for m in members_added or []):
            log.info("installed in a %s conversation: sending welcome", _conversation_type(turn_context.activity))
            await self._send(turn_context, self.replies.welcome())

    # ------------------------------------------------------------------ helpers
    async def _send(self, turn_context: TurnContext, reply: Reply, turn_id: str | None = None) -> None:
        """Send a reply. With ``turn_id`` (an answer) it carries Teams' feedback buttons, and the id Teams
        gives the message is stored against the turn when the send returns (bot/teams/sent.py)."""
        if reply.card is None:
            activity = MessageFactory.text(reply.text or reply.summary)
        else:
            activity = MessageFactory.attachment(CardFactory.adaptive_card(reply.card))
        activity.summary = reply.summary
        sent = None
        if turn_id is not None:
            activity.channel_data = {"feedbackLoop": {"type": "default"}}
            sent = self._on_sent(turn_context.activity, turn_id)
            sent_hook(activity, sent)
        response = await turn_context.send_activity(activity)
        if sent is not None and response is not None and response.id:
            sent(response.id)

    def _on_sent(self, incoming: Activity, turn_id: str):
        """The callback that maps the sent answer's Teams id to its turn (at most once)."""
        if self.recorder is None:
            return lambda message_id: None
        salt = self.settings.user_hash_salt
        conversation = invokes.conversation_key(incoming, salt)
        recorder, done = self.recorder, []

        def sent(message_id: str) -> None:
            if not done:
                done.append(message_id)
                recorder.record_message(invokes.message_key(incoming, message_id, salt), conversation, turn_id)
        return sent

    def _user_hash(self, turn_context: TurnContext) -> str | None:
        sender = turn_context.activity.from_property
        user_id = (sender.aad_object_id or sender.id) if sender else None
        return hash_user(user_id, self.settings.user_hash_salt)

    async def _record(self, decision: Decision, user: str | None, conversation_type: str) -> str | None:
        """Store the turn (bot/feedback/recorder.py, group commit) before its answer is sent; its id goes on
        the vote buttons. A store slower than ``settings.feedback_commit_seconds`` does not hold the answer."""
        if self.recorder is None:
            return None
        top_url = decision.best.section.url if decision.best else None
        record = TurnRecord(decision.question, decision.kind.value, top_url, user, conversation_type)
        try:
            await asyncio.wait_for(asyncio.shield(self.recorder.commit_turn(record)),
                                   self.settings.feedback_commit_seconds)
        except asyncio.TimeoutError:
            log.warning("feedback store: turn not committed within %.1f s; answering anyway",
                        self.settings.feedback_commit_seconds)
        return record.turn_id

    async def _vote(self, turn_id: str, vote: str, user: str | None, reason: str | None = None) -> bool:
        if self.recorder is None:
            return False
        try:
            return await self.recorder.record_vote(turn_id, vote, user, reason)
        except Exception as exc:
            log.error("feedback store: could not record vote (%s)", type(exc).__name__)
            return False


def _card(card: dict) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(status_code=200, type="application/vnd.microsoft.card.adaptive", value=card)


def _bad_card_action(message: str) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(status_code=400, type="application/vnd.microsoft.error",
                                      value={"code": "BadRequest", "message": message})


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
