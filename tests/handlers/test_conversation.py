"""conversation handlers against Home Assistant's conversation API on 127.0.0.1
(tests/fakes/homeassistant.py), speaking through a real TTS command; follow-ups, faults, and the token
kept out of every log and outcome."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from assistantd.config import ConfigError
from assistantd.handlers import Invocation, Outcome, Runner, SpeakingGate, build_runner
from assistantd.handlers.conversation import ConversationMemory
from tests.fakes.homeassistant import APOLOGY, fake_home_assistant
from tests.waiting import HANG_S

from .conftest import handlers_config

TOKEN = "ha-SENTINEL-token-51c8e0"
REPLIES = {
    "turn on the kitchen light": ("action_done", "Turned on the light"),
    "what is the temperature": ("query_answer", "It is 21 degrees"),
    "and in the bedroom": ("query_answer", "It is 18 degrees in the bedroom"),
}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def runner(
    ha_url: str,
    spoken: Path,
    *,
    token: str = TOKEN,
    memory: ConversationMemory | None = None,
    site_id: str = "kitchen",
    **conversation: Any,
) -> Runner:
    cfg = handlers_config(
        {
            "homeassistant": {"url": ha_url, "token": "${HA_TOKEN}"},
            "fallback": {"conversation": conversation},
            "tts": {"command": ["sh", "-c", f'cat >> "{spoken}"; echo >> "{spoken}"']},
        },
        env={"HA_TOKEN": token},
    )
    return build_runner(cfg, SpeakingGate(), environ={}, site_id=site_id, memory=memory)


async def ask(run: Runner, text: str, n: int = 1) -> Outcome:
    task = run.dispatch(Invocation(f"u{n}", text))  # no intent: the fallback runs
    assert task is not None
    (outcome,) = await task
    return outcome


def said(spoken: Path) -> list[str]:
    return spoken.read_text().splitlines() if spoken.exists() else []


async def test_the_reply_is_spoken_and_the_request_is_what_home_assistant_expects(tmp_path: Path) -> None:
    spoken = tmp_path / "spoken.txt"
    with fake_home_assistant(TOKEN, REPLIES) as ha:
        run = runner(ha.url, spoken, language="en", agent_id="conversation.home_assistant")
        outcome = await ask(run, "turn on the kitchen light")
    assert outcome.ok, outcome
    assert outcome.handler == "fallback conversation conversation.home_assistant"
    assert outcome.detail.startswith("Home Assistant action_done, said 19 characters")
    (request,) = ha.requests
    assert request.authorization == f"Bearer {TOKEN}"
    assert request.body == {
        "text": "turn on the kitchen light",
        "language": "en",
        "agent_id": "conversation.home_assistant",
    }
    assert said(spoken) == ["Turned on the light"]


async def test_follow_ups_keep_the_conversation_id_until_it_expires(tmp_path: Path) -> None:
    spoken, clock = tmp_path / "spoken.txt", Clock()
    memory = ConversationMemory(clock)
    with fake_home_assistant(TOKEN, REPLIES) as ha:
        run = runner(ha.url, spoken, memory=memory, follow_up_s=60)
        first = await ask(run, "what is the temperature", 1)
        clock.now += 59
        second = await ask(run, "and in the bedroom", 2)
        clock.now += 61
        third = await ask(run, "what is the temperature", 3)
        other_site = runner(ha.url, spoken, memory=memory, site_id="bedroom", follow_up_s=60)
        fourth = await ask(other_site, "what is the temperature", 4)
    assert all(o.ok for o in (first, second, third, fourth))
    assert "conversation_id" not in ha.requests[0].body  # type: ignore[operator]
    first_id = next(iter(ha.conversations))
    assert ha.requests[1].body == {"text": "and in the bedroom", "conversation_id": first_id}
    assert "(follow-up)" in second.detail and "(follow-up)" not in third.detail
    # Expired: a new conversation. Another site never continues this one.
    assert "conversation_id" not in ha.requests[2].body  # type: ignore[operator]
    assert "conversation_id" not in ha.requests[3].body  # type: ignore[operator]
    assert list(ha.conversations.values()) == [
        ["what is the temperature", "and in the bedroom"],
        ["what is the temperature"],
        ["what is the temperature"],
    ]
    assert said(spoken) == ["It is 21 degrees", "It is 18 degrees in the bedroom", *["It is 21 degrees"] * 2]


async def test_no_intent_match_speaks_the_apology_and_fails(tmp_path: Path) -> None:
    spoken = tmp_path / "spoken.txt"
    with fake_home_assistant(TOKEN, REPLIES) as ha:
        outcome = await ask(runner(ha.url, spoken), "sing me a song")
    assert not outcome.ok
    assert outcome.detail.startswith("Home Assistant could not do it (no_intent_match), said")
    assert said(spoken) == [APOLOGY]


async def test_speak_false_only_acts(tmp_path: Path) -> None:
    spoken = tmp_path / "spoken.txt"
    with fake_home_assistant(TOKEN, REPLIES) as ha:
        outcome = await ask(
            runner(ha.url, spoken, speak=False, text="{text} please"), "turn on the kitchen light"
        )
    assert (outcome.ok, outcome.detail) == (False, "Home Assistant could not do it (no_intent_match)")
    assert ha.requests[0].body == {"text": "turn on the kitchen light please"}
    assert said(spoken) == []


@pytest.mark.parametrize(
    ("fault", "token", "timeout_s", "why"),
    [
        (
            None,
            "ha-SENTINEL-wrong-token",
            5.0,
            r"POST http://127\.0\.0\.1:\d+/api/conversation/process: HTTP 401 401: Unauthorized",
        ),
        (
            "500",
            TOKEN,
            5.0,
            r"POST http://127\.0\.0\.1:\d+/api/conversation/process: HTTP 500 500 Internal Server Error",
        ),
        ("hang", TOKEN, 0.3, r"POST http://127\.0\.0\.1:\d+/api/conversation/process timed out after 0\.3 s"),
        ("malformed", TOKEN, 5.0, r"Home Assistant answered 24 bytes that are not JSON"),
    ],
    ids=["401", "500", "never-answers", "malformed-json"],
)
async def test_a_failing_home_assistant_is_a_clear_failed_outcome(  # noqa: PLR0917
    fault: str | None,
    token: str,
    timeout_s: float,
    why: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    spoken = tmp_path / "spoken.txt"
    clock = Clock()
    memory = ConversationMemory(clock)
    with fake_home_assistant(TOKEN, REPLIES) as ha:
        healthy = runner(ha.url, spoken, memory=memory)
        assert (await ask(healthy, "what is the temperature")).ok  # a conversation to forget
        ha.fault = fault
        failing = runner(ha.url, spoken, token=token, memory=memory, timeout_s=timeout_s)
        outcome = await ask(failing, "and in the bedroom", 2)
        ha.fault = None
        after = await ask(healthy, "and in the bedroom", 3)  # the next utterance is served again
    assert not outcome.ok
    assert re.fullmatch(why, outcome.detail), outcome.detail
    assert re.search(r"utterance u2: fallback conversation FAILED in [\d.]+ s: " + why, caplog.text)
    assert after.ok
    # A failed request forgets the conversation: the next one starts afresh.
    assert "conversation_id" not in ha.requests[-1].body  # type: ignore[operator]
    assert said(spoken) == ["It is 21 degrees", "It is 18 degrees in the bedroom"]
    for text in (caplog.text, outcome.detail, after.detail):
        assert "SENTINEL" not in text


def test_a_conversation_binding_needs_the_homeassistant_connection() -> None:
    with pytest.raises(
        ConfigError, match=r"handlers\.fallback\.conversation: expected a handlers\.homeassistant block"
    ):
        handlers_config({"fallback": {"conversation": {}}})
    with pytest.raises(
        ConfigError, match=r"handlers\.bindings\[0\]\.conversation\.agent_id: expected an agent id"
    ):
        handlers_config(
            {
                "homeassistant": {"url": "http://ha:8123", "token": "${T}"},
                "bindings": [{"intent": "X", "conversation": {"agent_id": "bad id"}}],
            },
            env={"T": "x"},
        )
    with pytest.raises(
        ConfigError, match=r"handlers\.fallback\.conversation\.follow_up: .*did you mean 'follow_up_s'"
    ):
        handlers_config(
            {
                "homeassistant": {"url": "http://ha:8123", "token": "${T}"},
                "fallback": {"conversation": {"follow_up": 5}},
            },
            env={"T": "x"},
        )


async def test_the_default_site_is_the_host_name(tmp_path: Path) -> None:
    """Two runners built without a site id share follow-ups through one memory (one host, one site)."""
    memory = ConversationMemory()
    with fake_home_assistant(TOKEN, REPLIES) as ha:
        cfg = handlers_config(
            {
                "homeassistant": {"url": ha.url, "token": "${HA_TOKEN}", "timeout_s": HANG_S},
                "fallback": {"conversation": {"speak": False}},
            },
            env={"HA_TOKEN": TOKEN},
        )
        for n in (1, 2):
            run = build_runner(cfg, SpeakingGate(), environ={}, memory=memory)
            assert (await ask(run, "what is the temperature", n)).ok
    assert len(ha.conversations) == 1


def test_the_readme_home_assistant_example_loads(tmp_path: Path) -> None:
    """The set-up README's "Home Assistant" section shows is a config the daemon accepts."""
    import yaml

    from assistantd.config import Config

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Home Assistant\n", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert len(block.strip().splitlines()) == 13  # the count README's table states
    (tmp_path / "assistantd_ha_token").write_text(TOKEN)
    config = Config.from_dict(yaml.safe_load(block), source="README.md", credentials_dir=str(tmp_path))
    fallback = config.handlers.fallback
    assert fallback is not None and type(fallback).__name__ == "ConversationSpec"
    assert config.recognizer.wyoming is not None
    assert config.handlers.homeassistant is not None
    assert config.handlers.homeassistant.token.reveal() == TOKEN
