"""The Bot Framework adapter: CloudAdapter whose sends to the Bot Connector go through the outbox, plus the
turn error handler.

``send_activities`` hands each message / typing activity to ``bot/teams/outbox.py`` (retries, backoff,
Retry-After, no duplicate on an unknown outcome, bounded) and returns at once, so the inbound request is
acknowledged without waiting for the Bot Connector. Invoke responses and traces stay inline as in the SDK.
``on_turn_error`` logs a failed turn and queues one error message (never raised, never retried twice).
"""

from __future__ import annotations

import logging

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, ResourceResponse

from bot.teams.outbox import Outbox
from bot.teams.sent import notify_sent

log = logging.getLogger(__name__)
_QUEUED = (ActivityTypes.message, ActivityTypes.typing)


class QueuedCloudAdapter(CloudAdapter):
    """CloudAdapter that queues outgoing messages and typing indicators in ``outbox``."""

    def __init__(self, auth, outbox: Outbox) -> None:
        super().__init__(auth)
        self.outbox = outbox

    async def send_activities(self, context: TurnContext, activities: list[Activity]):
        send = super().send_activities
        responses = []
        for activity in activities:
            if activity.type not in _QUEUED:
                responses += await send(context, [activity])
                continue
            conversation = activity.conversation.id if activity.conversation else None
            self.outbox.submit((activity.service_url, conversation), _bind(send, context, activity),
                               what=str(getattr(activity.type, "value", activity.type)),
                               retry=activity.type != ActivityTypes.typing)
            responses.append(ResourceResponse(id=None))
        return responses


def _bind(send, context: TurnContext, activity: Activity):
    async def one():
        responses = await send(context, [activity])
        notify_sent(activity, responses)   # the Teams message id, to whoever asked for it (bot/teams/sent.py)
        return responses

    return one


def turn_error_handler(message: str):
    """The adapter's ``on_turn_error``: log the failure (no user data) and queue ``message`` for the user, once
    per turn (never raised)."""

    async def on_turn_error(context: TurnContext, error: Exception) -> None:
        log.error("turn failed: %s: %s (activity type %s)", type(error).__name__, error, context.activity.type,
                  exc_info=(type(error), error, error.__traceback__))
        if context.activity.type != ActivityTypes.message or context.turn_state.get("error_message_sent"):
            return
        context.turn_state["error_message_sent"] = True
        try:
            await context.send_activity(Activity(type=ActivityTypes.message, text=message))
        except Exception as exc:
            log.error("could not queue the error message either: %s", type(exc).__name__)

    return on_turn_error
