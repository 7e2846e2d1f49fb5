"""Home Assistant as the house's intent engine, through the daemon: ``assistantd run --input FILE.wav`` (the
real pipeline in a subprocess) with the wyoming recognizer on a Wyoming server on 127.0.0.1 that
transcribes what it hears (tests/fakes/wyoming.py), local intents from config/intents/en.yaml, and
``handlers.fallback: {conversation: ...}`` on Home Assistant's conversation API
(tests/fakes/homeassistant.py).

A command the local intents know runs its local binding; what they do not know goes to Home Assistant, whose
reply is spoken through the TTS command, and a follow-up continues the same conversation. A Home Assistant
answering 500 fails that utterance's handler (a clear log line, one report) and the next one is served.
"""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from bench.synth import set_level, speech_level_dbfs, synthesize, to_pcm
from tests.fakes.homeassistant import fake_home_assistant
from tests.fakes.wyoming import FakeWyomingStt
from tests.run_input import run_input

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
TOKEN = "ha-SENTINEL-e2e-7f3a"
SPEECH = (
    ("flite:slt", "turn on the kitchen lights"),  # a local intent (LightOn)
    ("flite:rms", "what is the temperature"),  # no local intent: Home Assistant
    ("flite:awb", "and in the bedroom"),  # its follow-up
    ("flite:slt", "open the garage door"),  # Home Assistant answers 500
    ("flite:kal16", "what is the temperature"),  # served again
)
REPLIES = {
    "turn on the kitchen lights": ("action_done", "Turned on the lights"),
    "what is the temperature": ("query_answer", "It is 21 degrees"),
    "and in the bedroom": ("query_answer", "It is 18 degrees in the bedroom"),
    "open the garage door": ("action_done", "Opened the garage door"),
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)"),
]


@pytest.fixture(scope="session")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("conversation-speech")
    pieces = [np.zeros(RATE // 2)]
    for voice, text in SPEECH:
        clip = synthesize(text, voice, cache)
        pieces += [set_level(clip, -26.0, speech_level_dbfs(clip)), np.zeros(2 * RATE)]
    noise = np.random.default_rng(5).normal(0, 30, sum(len(p) for p in pieces))
    path = cache / "talk.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(to_pcm(np.concatenate(pieces) + noise))
    return path


@pytest.mark.parametrize("only_engine", [False, True], ids=["after-local-intents", "only-intent-engine"])
async def test_home_assistant_answers_what_local_intents_do_not(
    only_engine: bool, recording: Path, tmp_path: Path
) -> None:
    spoken, local = tmp_path / "spoken.txt", tmp_path / "local.txt"
    # Home Assistant as the only intent engine: an intent file with no intents (README, "Home Assistant").
    none = tmp_path / "no-intents.yaml"
    none.write_text("language: en\nintents: {}\n", encoding="utf-8")
    intents = [str(none if only_engine else ROOT / "config" / "intents" / "en.yaml")]
    to_ha = SPEECH if only_engine else SPEECH[1:]
    binding = f"""
    - {{intent: LightOn, exec: {{argv: ["sh", "-c", 'echo "$1" >> "{local}"', "sh", "{{area}}"]}}}}"""
    sentences = tuple(sorted({text for _, text in SPEECH}))
    with fake_home_assistant(TOKEN, REPLIES) as ha:
        ha.faults_by_text = {"open the garage door": "500"}
        async with FakeWyomingStt(sentences=sentences) as stt:
            config = tmp_path / "assistant.yaml"
            config.write_text(
                f"""
recognizer:
  default: wyoming
  fallback: null
  wyoming: {{url: "{stt.url}", language: en}}
intents: {{files: {json.dumps(intents)}}}
handlers:
  max_concurrent: 1
  homeassistant: {{url: "{ha.url}", token: "${{HA_TOKEN}}"}}
  bindings: {"[]" if only_engine else binding}
  fallback: {{conversation: {{language: en, follow_up_s: 300}}}}
  tts: {{command: ["sh", "-c", 'cat >> "{spoken}"; echo >> "{spoken}"']}}
""",
                encoding="utf-8",
            )
            # Paced as a microphone delivers it: each command is answered before the next one is said,
            # as a follow-up is in life (unpaced, two utterances' recognitions may finish out of order).
            run = await run_input(config, recording, env={"HA_TOKEN": TOKEN}, pace=True)
    assert run.returncode == 0, run.log
    assert [line["text"] for line in run.lines] == [text for _, text in SPEECH], run.log
    assert [line["intent"] for line in run.lines] == [
        None if only_engine else "LightOn",
        None,
        None,
        None,
        None,
    ]
    assert local.read_text() == "kitchen\n" if not only_engine else not local.exists()
    handlers = [line["handlers"] for line in run.lines]
    assert [[h["ok"] for h in hs] for hs in handlers] == [[True], [True], [True], [False], [True]]
    assert "(follow-up)" in handlers[2][0]["detail"]
    assert "HTTP 500" in handlers[3][0]["detail"]
    assert "utterance" in run.log and "fallback conversation FAILED" in run.log
    # Home Assistant saw what local intents did not cover, the follow-up in the same conversation.
    texts = [request.body["text"] for request in ha.requests if request.body]
    assert texts == [text for _, text in to_ha]
    first, *_ = ha.conversations.values()
    assert first[-2:] == ["what is the temperature", "and in the bedroom"]  # with its follow-up
    assert spoken.read_text().splitlines() == [
        *(["Turned on the lights"] if only_engine else []),
        "It is 21 degrees",
        "It is 18 degrees in the bedroom",
        "It is 21 degrees",
    ]
    assert TOKEN not in run.log and TOKEN not in str(run.lines)
