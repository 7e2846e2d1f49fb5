"""The wyoming recognizer through the daemon: ``assistantd run --input FILE.wav`` (a subprocess, the real
pipeline) with recognizer.default wyoming pointed at a Wyoming server on 127.0.0.1 that transcribes what
it hears (pocketsphinx over the commands' sentences, tests/fakes/wyoming.py), and fallback local.

Each utterance must come out as one JSON line with the right outcome: ``recognized`` from a healthy
server, ``retried`` after a connection closed mid-stream, ``fell back`` when the server never answers or
refuses connections.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fakes.wyoming import FakeWyomingStt, Fault
from tests.recognizer.test_fallback_e2e import COMMANDS, DEADLINE_S, grammar_cache, recording, unused_port
from tests.run_input import Run, run_input

__all__ = ["grammar_cache", "recording"]  # the session fixtures, shared with the cloud fallback test

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = tuple(text for _, text, _, _ in COMMANDS)

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)")


async def run_daemon(url: str, recording: Path, cache: Path, tmp: Path, *, final_timeout_s: float) -> Run:
    config = tmp / "assistant.yaml"
    config.write_text(
        f"""
recognizer:
  default: wyoming
  fallback: local
  transport: {{connect_timeout_s: {DEADLINE_S}, final_timeout_s: {final_timeout_s}, retries: 1}}
  wyoming: {{url: "{url}", language: en}}
  local: {{cache_dir: "{cache}"}}
intents:
  files: ["{ROOT / "config" / "intents"}/*.yaml"]
""",
        encoding="utf-8",
    )
    run = await run_input(config, recording)
    assert run.returncode == 0, run.log
    assert len(run.lines) == len(COMMANDS), run.log  # one line per command: none lost
    return run


async def test_the_server_recognizes_each_command_and_the_daemon_acts_on_it(
    recording: Path, grammar_cache: Path, tmp_path: Path
) -> None:
    async with FakeWyomingStt(sentences=SENTENCES) as fake:
        run = await run_daemon(fake.url, recording, grammar_cache, tmp_path, final_timeout_s=DEADLINE_S)
    for line, (_, text, intent, slots) in zip(run.lines, COMMANDS, strict=True):
        assert (line["recognizer"], line["outcome"]) == ("wyoming", "recognized"), line
        assert (line["text"], line["intent"], line["slots"]) == (text, intent, slots), line
    assert sorted(session.answer or "" for session in fake.sessions) == sorted(SENTENCES)
    # The server heard each utterance whole: as long as its line says.
    heard = sorted(len(session.audio) / 32000 for session in fake.sessions)
    said = sorted(float(line["end"]) - float(line["start"]) for line in run.lines)
    assert all(abs(h - s) < 0.05 for h, s in zip(heard, said, strict=True)), (heard, said)


async def test_closed_mid_stream_is_retried(recording: Path, grammar_cache: Path, tmp_path: Path) -> None:
    async with FakeWyomingStt(sentences=SENTENCES, faults=[Fault(close_after_chunks=2)]) as fake:
        run = await run_daemon(fake.url, recording, grammar_cache, tmp_path, final_timeout_s=DEADLINE_S)
    outcomes = sorted(str(line["outcome"]) for line in run.lines)
    assert outcomes == ["recognized"] * (len(COMMANDS) - 1) + ["retried"], run.lines
    assert [line["intent"] for line in run.lines] == [intent for _, _, intent, _ in COMMANDS]
    assert len(fake.sessions) == len(COMMANDS) + 1


async def test_a_server_that_never_answers_falls_back_to_local(
    recording: Path, grammar_cache: Path, tmp_path: Path
) -> None:
    async with FakeWyomingStt(faults=[Fault(silent=True)] * (2 * len(COMMANDS))) as fake:
        run = await run_daemon(fake.url, recording, grammar_cache, tmp_path, final_timeout_s=1.0)
    for line, (_, text, intent, _) in zip(run.lines, COMMANDS, strict=True):
        assert (line["recognizer"], line["outcome"], line["text"]) == ("local", "fell back", text), line
        assert line["intent"] == intent
        assert "wyoming failed: no final result within 1 s of the endpoint" in str(line["note"])
    assert len(fake.sessions) >= len(COMMANDS)


async def test_a_refused_connection_falls_back_to_local(
    recording: Path, grammar_cache: Path, tmp_path: Path
) -> None:
    url = f"tcp://127.0.0.1:{unused_port()}"
    run = await run_daemon(url, recording, grammar_cache, tmp_path, final_timeout_s=DEADLINE_S)
    for line in run.lines:
        assert (line["recognizer"], line["outcome"]) == ("local", "fell back"), line
        assert f"wyoming failed: cannot connect to {url}" in str(line["note"])
        assert "(after 2 attempts)" in str(line["note"])
    assert run.log.count("falling back to local recognizer") == len(COMMANDS)
