"""http and homeassistant handlers against a real HTTP server on 127.0.0.1; secrets never logged."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from assistantd.errors import HandlerError
from assistantd.handlers import Invocation, Outcome, Runner, SpeakingGate, build_runner, http_client
from assistantd.handlers.http_client import request
from tests.waiting import HANG_S, eventually

from .conftest import HttpServer, Trickler, free_port, handlers_config

SENTINEL = "sk-SENTINEL-9d2e41"


def _runner(server: HttpServer) -> Runner:
    cfg = handlers_config(
        {
            "homeassistant": {"url": server.url + "/", "token": "${HA_TOKEN}"},
            "bindings": [
                {
                    "intent": "Scene",
                    "http": {
                        "method": "PUT",
                        "url": server.url + "/scenes/{name}?source=voice",
                        "headers": {
                            "X-Api-Key": "${API_KEY}",
                            "Authorization": {"secret": "${API_KEY}", "prefix": "Token "},
                            "X-Plain": "yes",
                        },
                        "body": {
                            "scene": "{name}",
                            "level": "{level}",
                            "heard": "{text}",
                            "fixed": [1, True],
                        },
                    },
                },
                {
                    "intent": "TurnOn",
                    "homeassistant": {
                        "domain": "light",
                        "service": "turn_on",
                        "data": {"entity_id": "light.{room}", "brightness_pct": "{level}"},
                    },
                },
            ],
        },
        env={"HA_TOKEN": SENTINEL, "API_KEY": SENTINEL + "-api"},
    )
    return build_runner(cfg, SpeakingGate(), environ={})


async def _one(runner: Runner, invocation: Invocation) -> Outcome:
    task = runner.dispatch(invocation)
    assert task is not None
    (outcome,) = await task
    return outcome


async def test_http_sends_method_path_headers_and_json_body(http_server: HttpServer) -> None:
    runner = _runner(http_server)
    text = 'movie "night" / 50%'
    outcome = await _one(runner, Invocation("u1", text, "Scene", {"name": "movie night/../x", "level": 50}))
    assert outcome.ok, outcome.detail
    assert outcome.detail == "HTTP 200"
    (request,) = http_server.requests
    assert request.method == "PUT"
    assert request.path == "/scenes/movie%20night%2F..%2Fx?source=voice"  # a slot stays one path segment
    assert request.headers["X-Api-Key"] == SENTINEL + "-api"
    assert request.headers["Authorization"] == f"Token {SENTINEL}-api"
    assert request.headers["X-Plain"] == "yes"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"scene": "movie night/../x", "level": 50, "heard": text, "fixed": [1, True]}


@pytest.mark.parametrize("status", [301, 404, 500])
async def test_non_2xx_is_a_failure(http_server: HttpServer, status: int) -> None:
    http_server.status = status
    runner = _runner(http_server)
    outcome = await _one(runner, Invocation("u2", "x", "Scene", {"name": "a", "level": 1}))
    assert not outcome.ok
    assert f"HTTP {status}" in outcome.detail
    assert len(http_server.requests) == 1  # a redirect is not followed


async def test_homeassistant_calls_the_service_with_bearer_token(http_server: HttpServer) -> None:
    runner = _runner(http_server)
    outcome = await _one(runner, Invocation("u3", "kitchen on", "TurnOn", {"room": "kitchen", "level": 80}))
    assert outcome.ok, outcome.detail
    (request,) = http_server.requests
    assert request.method == "POST"
    assert request.path == "/api/services/light/turn_on"
    assert request.headers["Authorization"] == f"Bearer {SENTINEL}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"entity_id": "light.kitchen", "brightness_pct": 80}


async def test_unreachable_server_is_a_failure(http_server: HttpServer) -> None:
    http_server.port = free_port()  # nothing listens there once the probe socket is closed
    runner = _runner(http_server)
    outcome = await _one(runner, Invocation("u4", "x", "Scene", {"name": "a", "level": 1}))
    assert not outcome.ok and "failed" in outcome.detail


async def test_missing_slot_is_a_failure_naming_it(http_server: HttpServer) -> None:
    runner = _runner(http_server)
    outcome = await _one(runner, Invocation("u5", "x", "TurnOn", {"room": "hall"}))
    assert not outcome.ok and "{level}" in outcome.detail
    assert http_server.requests == []


async def test_secrets_never_reach_logs_outcomes_or_reprs(
    http_server: HttpServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    runner = _runner(http_server)
    outcomes = [await _one(runner, Invocation("u6", "x", "TurnOn", {"room": "a", "level": 1}))]
    http_server.status = 401
    outcomes.append(await _one(runner, Invocation("u7", "x", "TurnOn", {"room": "a", "level": 1})))
    outcomes.append(await _one(runner, Invocation("u8", "x", "Scene", {"name": "a", "level": 1})))
    assert [o.ok for o in outcomes] == [True, False, False]
    assert http_server.requests[0].headers["Authorization"] == f"Bearer {SENTINEL}"  # it was used
    seen = caplog.text + repr(outcomes) + repr(runner.__dict__) + "".join(capsys.readouterr())
    assert "utterance u7" in caplog.text  # the failure was logged
    assert SENTINEL not in seen


async def test_a_reply_that_trickles_forever_is_cut_off_at_the_deadline(trickler: Trickler) -> None:
    with pytest.raises(HandlerError, match=r"GET http://127\.0\.0\.1:\d+/slow timed out after 0\.5 s"):
        await request("GET", trickler.url + "/slow", timeout_s=0.5)
    # The request's thread stopped reading and hung up: nothing keeps it (or the process) alive.
    await eventually(lambda: trickler.hung_up == 1, "the client hanging up")
    await eventually(lambda: http_client.in_flight() == 0, "the request thread ending")


async def test_hung_requests_never_hold_up_a_request_to_a_healthy_server(
    trickler: Trickler, http_server: HttpServer
) -> None:
    # More than asyncio's default executor has workers here (min(32, cores + 4)): they used to fill it.
    stuck = [request("GET", f"{trickler.url}/{i}", timeout_s=0.5) for i in range(8)]
    failures = await asyncio.gather(*stuck, return_exceptions=True)
    assert all(isinstance(f, HandlerError) and "timed out" in str(f) for f in failures), failures
    response = await request("GET", http_server.url + "/healthy", timeout_s=HANG_S)
    assert response.status == 200
    assert [r.path for r in http_server.requests] == ["/healthy"]


def test_a_trickling_server_does_not_keep_assistantd_handle_from_exiting(
    trickler: Trickler, tmp_path: Path
) -> None:
    config = tmp_path / "assistant.yaml"
    config.write_text(
        "handlers:\n  bindings:\n"
        f"    - {{intent: Slow, http: {{url: '{trickler.url}/slow', method: GET, timeout_s: 0.5}}}}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "assistantd", "handle", "Slow", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=HANG_S,  # the old client kept reading in an executor thread that exit waited for
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "timed out after 0.5 s" in proc.stdout
