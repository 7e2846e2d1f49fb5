"""conversation handlers: let Home Assistant's conversation agent answer, and speak its reply.

``POST <url>/api/conversation/process`` with ``Authorization: Bearer <token>`` and
``{"text", "language"?, "agent_id"?, "conversation_id"?}`` (Home Assistant developer docs, "Conversation
API"). The answer is ``{"response": {"response_type", "speech": {"plain": {"speech"}}, "data", ...},
"conversation_id", "continue_conversation"}``; the reply spoken is ``response.speech.plain.speech``.

Bound as ``handlers.fallback`` it takes every utterance no local intent matched, so Home Assistant's own
intents (every exposed entity) cover the rest; with no local intents it is the only intent engine.

Follow-ups: the ``conversation_id`` Home Assistant returns is kept per site and sent with the next
request within ``follow_up_s`` of the reply, so the agent (an LLM's chat history, a pending question)
sees one conversation. A failed request forgets it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from assistantd.config.handler_specs import ConversationSpec
from assistantd.config.handlers import HomeAssistantConnection
from assistantd.errors import HandlerError
from assistantd.handlers.base import Invocation
from assistantd.handlers.http_client import request
from assistantd.handlers.say import Voice

PATH = "/api/conversation/process"


@dataclass(frozen=True)
class Reply:
    """What Home Assistant answered, as far as a voice satellite needs it."""

    speech: str
    response_type: str
    conversation_id: str | None
    error_code: str | None = None
    """``response.data.code`` of an ``error`` response (no_intent_match, no_valid_targets, ...)."""

    @classmethod
    def from_body(cls, body: bytes) -> Reply:
        """Parse the JSON answer; HandlerError (naming what is wrong, never quoting it) otherwise."""
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise HandlerError(f"Home Assistant answered {len(body)} bytes that are not JSON") from None
        response = document.get("response") if isinstance(document, dict) else None
        if not isinstance(response, dict):
            raise HandlerError("Home Assistant answered JSON without a response object")
        speech = _dig(response, "speech", "plain", "speech")
        kind = response.get("response_type")
        conversation_id = document.get("conversation_id")
        data = response.get("data")
        code = data.get("code") if isinstance(data, dict) else None
        return cls(
            speech=speech if isinstance(speech, str) else "",
            response_type=kind if isinstance(kind, str) else "",
            conversation_id=conversation_id if isinstance(conversation_id, str) and conversation_id else None,
            error_code=code if isinstance(code, str) else None,
        )


def _dig(node: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


class ConversationMemory:
    """The last ``conversation_id`` per site and when it stops being a follow-up. Shared by every
    conversation handler of one daemon; ``clock`` is injected (tests move it)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ids: dict[tuple[str, str | None], tuple[str, float]] = {}

    def recall(self, site: str, agent: str | None) -> str | None:
        kept = self._ids.get((site, agent))
        if kept is None:
            return None
        if self._clock() >= kept[1]:
            del self._ids[(site, agent)]
            return None
        return kept[0]

    def keep(self, site: str, agent: str | None, conversation_id: str | None, for_s: float) -> None:
        if conversation_id is None or for_s <= 0:
            self.forget(site, agent)
            return
        self._ids[(site, agent)] = (conversation_id, self._clock() + for_s)

    def forget(self, site: str, agent: str | None) -> None:
        self._ids.pop((site, agent), None)


class ConversationHandler:
    def __init__(
        self,
        spec: ConversationSpec,
        connection: HomeAssistantConnection,
        voice: Voice,
        memory: ConversationMemory,
        *,
        site: str,
        name: str,
    ) -> None:
        self.spec = spec
        self._connection = connection
        self._voice = voice
        self._memory = memory
        self._site = site
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def run(self, invocation: Invocation) -> str:
        spec = self.spec
        text = spec.text.render(invocation.values())
        if not text.strip():
            raise HandlerError("nothing to send to Home Assistant (empty text)")
        payload: dict[str, str] = {"text": text}
        if spec.language is not None:
            payload["language"] = spec.language
        if spec.agent_id is not None:
            payload["agent_id"] = spec.agent_id
        previous = self._memory.recall(self._site, spec.agent_id)
        if previous is not None:
            payload["conversation_id"] = previous
        try:
            response = await request(
                "POST",
                self._connection.url + PATH,
                headers=self._connection.headers,
                body=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                timeout_s=spec.timeout_s,
            )
            reply = Reply.from_body(response.body)
        except HandlerError:
            self._memory.forget(self._site, spec.agent_id)
            raise
        self._memory.keep(self._site, spec.agent_id, reply.conversation_id, spec.follow_up_s)
        follow = " (follow-up)" if previous is not None and previous == reply.conversation_id else ""
        spoken = ""
        if spec.speak and reply.speech:
            spoken_s = await self._voice.say(reply.speech)
            spoken = f", said {len(reply.speech)} characters in {spoken_s:.2f} s"
        if reply.response_type == "error":
            # Home Assistant understood nothing it could do (no_intent_match, no_valid_targets, ...): its
            # spoken apology was said, but the command was not carried out.
            raise HandlerError(f"Home Assistant could not do it ({reply.error_code or 'error'}){spoken}")
        kind = reply.response_type or "no response_type"
        return f"Home Assistant {kind}{follow}{spoken or ', nothing to say'}"
