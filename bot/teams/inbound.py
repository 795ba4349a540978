"""What arrives at ``POST /api/messages``, checked before the SDK sees it.

- ``read_body``: the whole body however it arrives (split TCP writes, chunked encoding), never more than
  ``limit`` bytes (``BodyTooLarge`` as soon as the limit is passed, or at once from ``Content-Length``),
  and within ``timeout`` seconds (a client that stops half-way gets 408, it does not hold the request).
- ``parse_activity``: JSON object, nesting at most ``MAX_DEPTH`` deep, the fields the SDK needs, an
  http(s) service URL, and (local mode) a service URL on loopback; a ``Problem`` (status + message) if not.
- ``invoke_http``: the SDK's ``InvokeResponse`` as a status and a JSON body; its error bodies (models,
  exceptions) become well-formed JSON, and no invoke ends in a 5xx.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from botbuilder.core.serializer_helper import serializer_helper
from botbuilder.schema import Activity
from msrest.serialization import Model

MAX_DEPTH = 64   # Teams activities nest about 10 deep; Adaptive Card data a few more
REQUIRED = (("type",), ("serviceUrl",), ("conversation", "id"))
ADAPTIVE_CARD_ERROR = "application/vnd.microsoft.error"


@dataclass(frozen=True)
class Problem(Exception):
    status: int
    message: str


class BodyTooLarge(Problem):
    pass


async def read_body(request: web.Request, limit: int, timeout: float) -> bytes:
    """The request body, all of it. Raises ``Problem`` 413 (over ``limit``) or 408 (not complete in time)."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(413, f"body over {limit} bytes")
    try:
        return await asyncio.wait_for(_read_all(request.content, limit), timeout)
    except asyncio.TimeoutError:
        raise Problem(408, f"body not received within {timeout:g} s") from None


async def _read_all(stream, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        chunk = await stream.readany()
        if not chunk:
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(413, f"body over {limit} bytes")
        chunks.append(chunk)


def _depth_ok(node, limit: int) -> bool:
    stack = [(node, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return True


def is_loopback_url(url: str) -> bool:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_activity(raw: bytes, *, local_mode: bool) -> tuple[dict, Activity]:
    """(JSON body, SDK Activity) or raises ``Problem`` (400) saying what is wrong."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Problem(400, "body is not JSON") from None
    if not isinstance(body, dict):
        raise Problem(400, "body is not a JSON object (an activity)")
    if not _depth_ok(body, MAX_DEPTH):
        raise Problem(400, f"activity nested more than {MAX_DEPTH} deep")
    for path in REQUIRED:
        node = body
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, str) or not node.strip():
            raise Problem(400, f"activity is missing {'.'.join(path)}")
    service_url = body["serviceUrl"]
    if not service_url.startswith(("https://", "http://")) or not urlsplit(service_url).hostname:
        raise Problem(400, "activity is missing serviceUrl (http/https URL)")
    if local_mode and not is_loopback_url(service_url):
        # Local mode checks no token, so anyone could name any URL: replies go to loopback only.
        raise Problem(400, "local mode (no MicrosoftAppId) replies only to loopback service URLs")
    try:
        activity = Activity().deserialize(body)
    except Exception:
        raise Problem(400, "activity could not be read") from None
    return body, activity


def _jsonable(body):
    if body is None or isinstance(body, (str, int, float, bool)):
        return body
    if isinstance(body, Exception):   # the SDK puts Exception(code, message) in adaptive card errors
        args = [str(a) for a in body.args]
        return {"code": args[0] if args else "Error", "message": args[1] if len(args) > 1 else ""}
    if isinstance(body, Model):
        value = getattr(body, "value", None)
        if isinstance(value, Exception):
            body = copy.copy(body)
            body.value = _jsonable(value)
        return serializer_helper(body)
    if isinstance(body, dict):
        return {str(k): _jsonable(v) for k, v in body.items()}
    if isinstance(body, (list, tuple)):
        return [_jsonable(v) for v in body]
    return str(body)


def invoke_http(activity: Activity, status: int, body) -> tuple[int, object]:
    """(HTTP status, JSON body) for an invoke response: serialisable, and never a 5xx."""
    body = _jsonable(body)
    if status < 500:
        return status, body
    name = activity.name if isinstance(activity.name, str) else ""
    if name == "adaptiveCard/action":
        message = "not supported" if status == 501 else "the bot could not handle this action"
        return 200, {"statusCode": status, "type": ADAPTIVE_CARD_ERROR,
                     "value": {"code": "NotSupported" if status == 501 else "InternalError", "message": message}}
    return 400, {"error": f"invoke {name[:60]!r} is not supported" if status == 501 else "invoke failed"}
