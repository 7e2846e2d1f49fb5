"""Home Assistant's conversation API on 127.0.0.1: ``POST /api/conversation/process``.

Answers as Home Assistant does (developer docs, "Conversation API"; REST API auth): a missing or wrong
bearer token is ``401`` with the text ``401: Unauthorized``; a body that is not a JSON object with a string
``text`` is ``400`` ``{"message": "Message format incorrect: ..."}``; otherwise ``200`` with

    {"response": {"speech": {"plain": {"speech": ..., "extra_data": null}}, "card": {},
                  "language": ..., "response_type": "action_done" | "query_answer" | "error",
                  "data": {"targets": [], "success": [], "failed": []} | {"code": "no_intent_match"}},
     "conversation_id": ..., "continue_conversation": false}

The agent knows a few sentences (``replies``); others get the ``no_intent_match`` error with Home
Assistant's apology. A known ``conversation_id`` continues that conversation, an unknown one starts a new
conversation with a new id (as Home Assistant does). ``fault`` makes every request fail one way: ``500``,
``hang`` (never answers until the server stops), ``malformed`` (200 with a body that is not JSON);
``faults_by_text`` does so for requests with that text.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

APOLOGY = "Sorry, I couldn't understand that"


@dataclass
class Request:
    authorization: str | None
    body: dict[str, Any] | None


@dataclass
class FakeHomeAssistant:
    token: str
    replies: dict[str, tuple[str, str]] = field(default_factory=dict)
    """sentence (lower case) -> (response_type, speech)."""
    fault: str | None = None
    faults_by_text: dict[str, str] = field(default_factory=dict)
    """A request whose ``text`` is a key fails this way (whatever the order requests arrive in)."""
    requests: list[Request] = field(default_factory=list)
    conversations: dict[str, list[str]] = field(default_factory=dict)
    """conversation_id -> the texts it received, in order."""
    url: str = ""
    _release: threading.Event = field(default_factory=threading.Event)

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        conversation_id = body.get("conversation_id")
        if conversation_id not in self.conversations:
            conversation_id = secrets.token_hex(13).upper()  # HA's ids are ULIDs: opaque to clients
            self.conversations[conversation_id] = []
        self.conversations[conversation_id].append(body["text"])
        language = body.get("language") or "en"
        known = self.replies.get(body["text"].strip().lower())
        if known is None:
            kind, speech, data = "error", APOLOGY, {"code": "no_intent_match"}
        else:
            kind, speech = known
            data = {"targets": [], "success": [], "failed": []}
        return {
            "response": {
                "speech": {"plain": {"speech": speech, "extra_data": None}},
                "card": {},
                "language": language,
                "response_type": kind,
                "data": data,
            },
            "conversation_id": conversation_id,
            "continue_conversation": False,
        }


@contextmanager
def fake_home_assistant(
    token: str, replies: dict[str, tuple[str, str]] | None = None, fault: str | None = None
) -> Iterator[FakeHomeAssistant]:
    state = FakeHomeAssistant(token, replies or {}, fault)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            state.requests.append(Request(self.headers.get("Authorization"), body))
            text = body.get("text") if isinstance(body, dict) else None
            fault = state.faults_by_text.get(text, state.fault) if isinstance(text, str) else state.fault
            if self.path != "/api/conversation/process":
                self._send(404, b"404: Not Found", "text/plain")
            elif self.headers.get("Authorization") != f"Bearer {state.token}":
                self._send(401, b"401: Unauthorized", "text/plain")
            elif fault == "500":
                self._send(500, b"500 Internal Server Error", "text/plain")
            elif fault == "hang":
                state._release.wait()
            elif fault == "malformed":
                self._send(200, b'{"response": {"speech": ')
            elif not isinstance(body, dict) or not isinstance(body.get("text"), str):
                self._send(400, b'{"message": "Message format incorrect: required key not provided"}')
            else:
                self._send(200, json.dumps(state.answer(body)).encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state._release.set()
        server.shutdown()
        server.server_close()
        thread.join()
