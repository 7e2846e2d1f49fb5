"""http and homeassistant handlers against a real HTTP server on 127.0.0.1; secrets never logged."""

from __future__ import annotations

import logging

import pytest

from assistantd.handlers import Invocation, Outcome, Runner, SpeakingGate, build_runner

from .conftest import HttpServer, free_port, handlers_config

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
