"""Messages that are not handbook questions: greetings, thanks, help, asking for a person,
requests for the bot to *do* something (grant access, reset a password) that only a person can, and
messages with nothing to search: no words at all (only emoji, only a link) or not in Latin script.

``detect_intent(text) -> Intent | None`` (``bot.decision.kinds.Intent``; None means "search the handbook").
Small talk is recognised only when the whole message is small talk, so "hi, how do I retire a dataset"
is still a question. Pure functions, no framework.
"""

from __future__ import annotations

import re
import unicodedata

from bot.decision.kinds import Intent

_WORDS = re.compile(r"[a-z']+")
_ASCII = re.compile(r"[\x00-\x7f]+")
_ASCII_LETTER_BYTES = bytes(range(65, 91)) + bytes(range(97, 123))
_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.I)
MIN_LATIN_SHARE = 0.25  # below this share of Latin-script letters a message is not English

_GREETINGS = {"hi", "hello", "hey", "hiya", "howdy", "yo", "greetings", "morning", "afternoon", "evening",
              "good", "there", "bot", "all", "everyone", "team", "folks"}
_GREETING_HEADS = {"hi", "hello", "hey", "hiya", "howdy", "yo", "greetings", "good", "morning", "afternoon", "evening"}
_THANKS = {"thanks", "thank", "you", "thx", "ty", "cheers", "much", "so", "very", "great", "awesome",
           "perfect", "ok", "okay", "got", "it", "that", "helps", "helped", "cool", "nice", "appreciate", "a",
           "lot", "bot", "again", "many", "kudos", "that's", "was", "helpful"}
_THANKS_HEADS = {"thanks", "thank", "thx", "ty", "cheers", "appreciate", "kudos", "helpful", "helped", "helps"}
_HELP = re.compile(
    r"^\s*(help|\?+|/help|menu|commands|usage|what can (you|u) do|what do (you|u) (know|do)"
    r"|how do (i|you) use (you|this|this bot)|who are (you|u)|what are (you|u))\s*[?.!]*\s*$")
_HANDOFF = re.compile(
    r"\b(talk|speak|chat)\s+(to|with)\s+(a\s+|an\s+|some\s*one|somebody|the\s+)?(real\s+)?(person|human|people|someone|"
    r"somebody|agent|dapa|team|staff)\b|\b(real|actual)\s+(person|human)\b|\bhuman\s+(agent|being|please)\b"
    r"|\bescalate\b|^\s*(agent|human|operator|person)\s*[.!?]*\s*$")
# Every match of _HANDOFF contains one of _HANDOFF_NEEDS, or one of _HANDOFF_VERBS and one of _HANDOFF_WHO:
# a message with neither is not searched (speed; keep these in step with the pattern).
_HANDOFF_NEEDS = ("human", "person", "agent", "operator", "escalate")
_HANDOFF_VERBS = ("talk", "speak", "chat")
_HANDOFF_WHO = ("people", "some", "dapa", "team", "staff")
_ACTION = re.compile(
    r"\b(give|grant|get|add|assign)\s+(me|us|my\s+\w+|our\s+\w+)\s+(\w+\s+){0,2}(access|permissions?|rights|role|"
    r"privileges?)\b|\b(can|could|would|will)\s+(you|u)\s+(please\s+)?(grant|add|remove|reset|unlock|approve|"
    r"give\s+(me|us))\b|\b(reset|unlock|recover)\s+(my|our)\s+(\w+\s+){0,2}(password|account|login|"
    r"credentials)\b")


def detect_intent(text: str) -> Intent | None:
    """Classify a message that needs no handbook search; None means "search the handbook"."""
    folded = text.lower().replace("’", "'").strip()
    if not folded:
        return Intent.HELP
    if _HELP.match(folded):
        return Intent.HELP
    if _may_ask_for_person(folded) and _HANDOFF.search(folded):
        return Intent.HANDOFF
    if _ACTION.search(folded):
        return Intent.ACTION
    without_links = _URL.sub(" ", folded) if ("@" in folded or "http" in folded or "www." in folded) else folded
    if not any(ch.isalnum() for ch in without_links):
        return Intent.UNCLEAR
    if latin_share(without_links) < MIN_LATIN_SHARE:
        return Intent.NOT_ENGLISH
    words = _WORDS.findall(folded)
    if words and len(words) <= 6:
        if words[0] in _GREETING_HEADS and all(w in _GREETINGS for w in words):
            return Intent.GREETING
        if any(w in _THANKS_HEADS for w in words) and all(w in _THANKS for w in words):
            return Intent.THANKS
    return None


def _may_ask_for_person(folded: str) -> bool:
    """False when ``_HANDOFF`` cannot match: none of the words its alternatives need is in the text."""
    return any(w in folded for w in _HANDOFF_NEEDS) or (
        any(w in folded for w in _HANDOFF_VERBS) and any(w in folded for w in _HANDOFF_WHO))


def latin_share(text: str) -> float:
    """Share of the letters of ``text`` that are Latin script (1.0 for English; low for CJK, Cyrillic...)."""
    ascii_only = text.encode("ascii", "ignore")
    ascii_letters = len(ascii_only) - len(ascii_only.translate(None, _ASCII_LETTER_BYTES))
    others = [ch for ch in _ASCII.sub("", text) if ch.isalpha()]
    if not ascii_letters and not others:
        return 0.0
    latin = ascii_letters + sum(1 for ch in others if "LATIN" in unicodedata.name(ch, ""))
    return latin / (ascii_letters + len(others))
