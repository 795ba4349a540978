"""The id Teams gives a sent message, back to whoever sent it.

The id arrives only when the send to the Bot Connector returns, which (bot/teams/outbox.py) is after the
turn that sent it. ``sent_hook(activity, callback)`` hangs a callback on the outgoing activity (it survives
the SDK's copy of the activity: a plain function is copied by reference); the adapter calls
``notify_sent(activity, responses)`` when the send returned, and the callback gets the message id once.
"""

from __future__ import annotations

import logging

from botbuilder.schema import Activity

log = logging.getLogger(__name__)
_HOOK = "_handbook_on_sent"


def sent_hook(activity: Activity, callback) -> None:
    """Call ``callback(message_id)`` once the activity was sent and Teams returned its id."""
    setattr(activity, _HOOK, callback)


def notify_sent(activity: Activity, responses) -> None:
    """The adapter's side of ``sent_hook``; a failing callback is logged, never raised into the send."""
    callback = getattr(activity, _HOOK, None)
    if callback is None:
        return
    response = responses[0] if isinstance(responses, list) and responses else responses
    message_id = getattr(response, "id", None)
    if not message_id:
        return
    setattr(activity, _HOOK, None)
    try:
        callback(message_id)
    except Exception as exc:
        log.error("sent-message callback failed (%s)", type(exc).__name__)
