"""The wake word end to end, with real speech: ``assistantd run --input`` (the real pipeline in a
subprocess) acts only on commands after "okay nabu", reports the wake word in each JSON line, reports a
phrase with no command once; with a cloud recognizer, unaddressed speech opens no connection and sends
no byte."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.synth import to_pcm
from bench.wake_audio import Line, build
from tests.fakes.sauc import FakeSauc
from tests.run_input import run_ok
from tests.wake_speech import BARE, CONVERSATION, SCRIPT, UNADDRESSED, recording, write_wav

ROOT = Path(__file__).resolve().parents[1]
INTENTS = ROOT / "config" / "intents" / "en.yaml"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)"),
]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[Any], Path]:
    cache = tmp_path_factory.mktemp("wake-e2e")
    pcm, placed = recording(cache)
    return pcm, placed, cache


def _config(
    tmp: Path, recognizer: str, wake: str = "", command_timeout_s: float = 4, feedback: str = "{}"
) -> Path:
    path = tmp / "assistant.yaml"
    path.write_text(
        f"""
wake: {{model: okay_nabu, command_timeout_s: {command_timeout_s}{wake}}}
feedback: {feedback}
recognizer:
{recognizer}
intents: {{files: ["{INTENTS}"]}}
handlers:
  bindings:
    - {{intent: LightOn, exec: {{argv: ["true"], timeout_s: 5}}}}
    - {{intent: TimerStart, exec: {{argv: ["true"], timeout_s: 5}}}}
    - {{intent: TimeGet, exec: {{argv: ["true"], timeout_s: 5}}}}
""",
        encoding="utf-8",
    )
    return path


async def test_run_acts_only_on_commands_after_the_wake_word(
    speech: tuple[bytes, list[Any], Path], tmp_path: Path
) -> None:
    pcm, placed, cache = speech
    local = f'  default: local\n  fallback: null\n  local: {{cache_dir: "{cache}"}}'
    lines, log = await run_ok(_config(tmp_path, local), write_wav(tmp_path / "wake.wav", pcm))
    expected = [
        (i, intent, slots) for i, (line, intent, slots) in enumerate(SCRIPT) if line.gap_s is not None
    ]
    assert len(lines) == len(expected), lines
    for line, (i, intent, slots) in zip(lines, expected, strict=True):
        wake = line["wake"]
        assert wake["model"] == "okay_nabu" and 0.85 < wake["probability"] <= 1.0
        assert abs(wake["time"] - placed[i].phrase_end) < 0.5
        if i == BARE:
            assert line["outcome"] == "no command" and line["text"] is None and line["handlers"] == []
            continue
        assert line["outcome"] == "recognized"
        assert (line["recognizer"], line["intent"], line["slots"]) == ("local", intent, slots), line
        assert [h["ok"] for h in line["handlers"]] == [True]
    # The log line of each utterance says which wake word opened it.
    assert log.count("after okay_nabu at") == len(expected) - 1
    assert "but no command followed" in log


async def test_a_cloud_recognizer_hears_nothing_unaddressed(
    speech: tuple[bytes, list[Any], Path], tmp_path: Path
) -> None:
    pcm, placed, _ = speech
    # Only the lines said without the phrase: a command and conversation.
    unaddressed = b"".join(
        pcm[round((placed[i].start - 1) * 32000) // 2 * 2 : round((placed[i].end + 1.5) * 32000) // 2 * 2]
        for i in (UNADDRESSED, CONVERSATION)
    )
    env = {"VOLC_APP_KEY": "test-app-key", "VOLC_ACCESS_KEY": "test-access-key"}
    async with FakeSauc("turn on the kitchen light") as fake:
        cloud = (
            f'  default: volcengine\n  fallback: null\n  volcengine: {{url: "{fake.url}", '
            'app_key: "${VOLC_APP_KEY}", access_key: "${VOLC_ACCESS_KEY}"}'
        )
        config = _config(tmp_path, cloud)
        lines, _ = await run_ok(config, write_wav(tmp_path / "unaddressed.wav", unaddressed), env)
        assert lines == []
        assert fake.connections == 0 and fake.sessions == []

        lines, _ = await run_ok(config, write_wav(tmp_path / "all.wav", pcm), env)
    addressed = [line for line in lines if line["outcome"] == "recognized"]
    assert len(addressed) == 3 and all(line["intent"] == "LightOn" for line in addressed)
    # One session per wake word, opened at the detection (the bare phrase's too, with nothing sent),
    # each holding exactly the utterance's audio: the phrase was not uploaded.
    assert fake.connections == 4
    # Sessions run concurrently: compare the lengths, not the order in which they arrived.
    heard = sorted(len(s.audio) for s in fake.sessions if s.audio)
    said = sorted(round((line["end"] - line["start"]) * 32000) for line in addressed)
    assert heard == said


async def test_the_wake_sound_plays_when_the_phrase_is_heard(
    speech: tuple[bytes, list[Any], Path], tmp_path: Path
) -> None:
    if shutil.which("aplay") is None:
        pytest.skip("needs aplay (alsa-utils)")
    pcm, _, cache = speech
    chime = write_wav(tmp_path / "chime.wav", bytes(range(256)) * 25)
    played = tmp_path / "played.raw"
    # ALSA's file plugin (FACTS.md): what aplay plays on the default device lands in `played`.
    alsa = tmp_path / "alsa.conf"
    alsa.write_text(
        f'pcm.!default {{ type file slave.pcm {{ type null }} file "{played}" format "raw" }}\n',
        encoding="utf-8",
    )
    local = f'  default: local\n  fallback: null\n  local: {{cache_dir: "{cache}"}}'
    config = _config(tmp_path, local, feedback=f'{{wake: "{chime}"}}')
    lines, _ = await run_ok(config, write_wav(tmp_path / "wake.wav", pcm), {"ALSA_CONFIG_PATH": str(alsa)})
    assert len(lines) == 4
    assert played.read_bytes().startswith(bytes(range(256)) * 25)


async def test_the_main_job_acts_on_the_addressed_commands_of_the_bundled_sample(tmp_path: Path) -> None:
    from bench.sample_recording import SCRIPT as SAMPLE_SCRIPT
    from bench.sample_recording import write

    sample = write(tmp_path / "sample.wav")
    lines, _ = await run_ok(ROOT / "config" / "assistant.yaml", sample, {"XDG_CACHE_HOME": str(tmp_path)})
    # The shipped config's wake word: the commands after it, nothing for the bare command or the chat.
    assert [line["intent"] for line in lines] == ["LightOn", "TimerStart", "TimeGet", "VolumeUp"]
    assert sum(line.gap_s is not None for line in SAMPLE_SCRIPT) == 4
    assert all(line["wake"]["model"] == "okay_nabu" for line in lines)


async def test_the_probability_cutoff_reaches_the_daemon(
    speech: tuple[bytes, list[Any], Path], tmp_path: Path
) -> None:
    # Every phrase here scores 0.85-0.95: above a cutoff of 0.999 none is heard, so nothing happens.
    pcm, _, cache = speech
    local = f'  default: local\n  fallback: null\n  local: {{cache_dir: "{cache}"}}'
    config = _config(tmp_path, local, ", probability_cutoff: 0.999")
    lines, log = await run_ok(config, write_wav(tmp_path / "wake.wav", pcm))
    assert lines == []
    assert "wake word okay_nabu" not in log


@pytest.mark.parametrize("refractory_s", [0, 10])
async def test_the_refractory_time_reaches_the_daemon(
    speech: tuple[bytes, list[Any], Path], tmp_path: Path, refractory_s: float
) -> None:
    # The phrase alone, then 2.5 s later the phrase and a command: the detections are about 3.2 s apart,
    # longer than the default refractory time (2 s) and shorter than 10 s.
    _, _, cache = speech
    script = [
        Line("flite:kal16", "", gap_s=2.5, pause_after_s=0),
        Line("flite:kal16", "turn on the kitchen lights", gap_s=0.3),
    ]
    audio, _ = build(script, seed=5, cache=cache)
    local = f'  default: local\n  fallback: null\n  local: {{cache_dir: "{cache}"}}'
    config = _config(tmp_path, local, f", refractory_s: {refractory_s}", command_timeout_s=1)
    lines, _ = await run_ok(config, write_wav(tmp_path / "twice.wav", to_pcm(audio)))
    outcomes = [(line["outcome"], line["intent"]) for line in lines]
    first = ("no command", None)
    assert outcomes == ([first] if refractory_s else [first, ("recognized", "LightOn")]), lines
