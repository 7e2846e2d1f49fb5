"""Cloud fallback end to end: ``assistantd run --input FILE.wav`` (a subprocess, the real pipeline) with
recognizer.default volcengine pointed at a FakeSauc on 127.0.0.1 and fallback local.

The recording is real flite speech of example commands (config/intents/en.yaml) in fan + pink room noise.
Whatever the cloud does, every utterance must come out as one JSON line (none silently lost), with the right
intent, and a fallback must be said once, clearly, in the log and in the line's note.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bench.synth import make_noise, mix_at_snr, set_level, speech_level_dbfs, synthesize, to_pcm
from tests.fakes.sauc import FakeSauc, Fault
from tests.run_input import run_input

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
# (flite voice, command, intent, slots): sentences of the shipped config/intents/en.yaml.
COMMANDS = (
    ("flite:slt", "turn on the kitchen lights", "LightOn", {"area": "kitchen"}),
    ("flite:rms", "set a timer for five minutes", "TimerStart", {"minutes": 5}),
    ("flite:awb", "what time is it", "TimeGet", {}),
)
APP_KEY, ACCESS_KEY = "sentinel-app-7Qz9", "sentinel-access-K4w2"
DEADLINE_S = 30.0
"""connect_timeout_s and final_timeout_s where the test is not about them: they only bound a hang, so a
slow step on a loaded machine is never mistaken for a failing cloud."""
NO_FINAL_S = 1.0
"""final_timeout_s against a cloud that never answers: it always runs out, however fast the machine."""

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)")


@pytest.fixture(scope="session")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The commands, 2 s apart, at -26 dBFS in room noise at 20 dB SNR (made once per session)."""
    cache = tmp_path_factory.mktemp("fallback-speech")
    rng = np.random.default_rng(11)
    pieces = [np.zeros(RATE // 2)]
    for voice, text, _, _ in COMMANDS:
        clip = synthesize(text, voice, cache)
        pieces += [set_level(clip, -26.0, speech_level_dbfs(clip)), np.zeros(2 * RATE)]
    speech = np.concatenate(pieces)
    noise = make_noise("fan", len(speech), rng) + 0.5 * make_noise("pink", len(speech), rng)
    path = cache / "commands.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(to_pcm(mix_at_snr(speech, noise, 20.0, speech_level=-26.0)))
    return path


@pytest.fixture(scope="session")
def grammar_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("grammar-cache")


@dataclass
class Run:
    lines: list[dict[str, object]]
    log: str
    returncode: int

    def fallback_lines(self) -> list[str]:
        return [line for line in self.log.splitlines() if "falling back to local recognizer" in line]

    def finals_ms(self) -> list[float]:
        """Endpoint -> final text of each utterance, from the pipeline's log line (wall clock)."""
        return [float(ms) for ms in re.findall(r"final (\d+) ms after the endpoint", self.log)]


async def run_daemon(
    url: str,
    recording: Path,
    cache: Path,
    tmp: Path,
    *,
    keys: Sequence[str],
    pace: bool = False,
    final_timeout_s: float = DEADLINE_S,
) -> Run:
    config = tmp / "assistant.yaml"
    config.write_text(
        f"""
recognizer:
  default: volcengine
  fallback: local
  transport: {{connect_timeout_s: {DEADLINE_S}, final_timeout_s: {final_timeout_s}, retries: 1}}
  volcengine: {{url: "{url}", app_key: "${{VOLC_APP_KEY}}", access_key: "${{VOLC_ACCESS_KEY}}"}}
  local: {{cache_dir: "{cache}"}}
intents:
  files: ["{ROOT / "config" / "intents"}/*.yaml"]
""",
        encoding="utf-8",
    )
    run = await run_input(
        config, recording, env={"VOLC_APP_KEY": keys[0], "VOLC_ACCESS_KEY": keys[1]}, pace=pace
    )
    for secret in (APP_KEY, ACCESS_KEY):
        assert secret not in json.dumps(run.lines) and secret not in run.log
    return Run(run.lines, run.log, run.returncode)


def assert_every_command(run: Run, recognizer: str) -> None:
    """One line per spoken command (none lost), each with the command's intent and slots."""
    assert run.returncode == 0, run.log
    assert len(run.lines) == len(COMMANDS), run.log
    for line, (_, text, intent, slots) in zip(run.lines, COMMANDS, strict=True):
        assert line["recognizer"] == recognizer, line
        if recognizer == "local":
            assert (line["text"], line["intent"], line["slots"]) == (text, intent, slots), line


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_healthy_cloud_answers_every_utterance(
    recording: Path, grammar_cache: Path, tmp_path: Path
) -> None:
    async with FakeSauc("turn off the bedroom light", app_key=APP_KEY, access_key=ACCESS_KEY) as fake:
        run = await run_daemon(fake.url, recording, grammar_cache, tmp_path, keys=(APP_KEY, ACCESS_KEY))
    assert_every_command(run, "volcengine")
    for line in run.lines:
        assert (line["intent"], line["slots"]) == ("LightOff", {"area": "bedroom"})
        assert "note" not in line
    assert run.fallback_lines() == []
    assert len(fake.sessions) == len(COMMANDS)
    # The local fallback was loaded at start-up, ready before any failure (and never needed).
    assert run.log.index("offline grammar:") < run.log.index("assistantd ready")
    # The cloud heard each utterance whole: about as long as the line says it was. Two utterances may be
    # in flight at once, so sessions are paired with lines by length (the commands differ), not by order.
    heard = sorted(len(session.audio) / 32000 for session in fake.sessions)
    said = sorted(float(line["end"]) - float(line["start"]) for line in run.lines)  # type: ignore[arg-type]
    assert all(abs(h - s) < 0.05 for h, s in zip(heard, said, strict=True)), (heard, said)


async def test_a_retry_that_succeeds_is_reported_retried_not_fell_back(
    recording: Path, grammar_cache: Path, tmp_path: Path
) -> None:
    """The first connection drops mid-utterance; the retry on a fresh connection answers. That utterance is
    the cloud's, "retried": not a fallback (it used to be counted as one when its note was set)."""
    faults = [Fault(drop_after=2)] + [Fault()] * (2 * len(COMMANDS))
    async with FakeSauc(
        "turn off the bedroom light", app_key=APP_KEY, access_key=ACCESS_KEY, faults=faults
    ) as fake:
        run = await run_daemon(fake.url, recording, grammar_cache, tmp_path, keys=(APP_KEY, ACCESS_KEY))
    assert_every_command(run, "volcengine")
    outcomes = sorted(str(line["outcome"]) for line in run.lines)
    assert outcomes == ["recognized"] * (len(COMMANDS) - 1) + ["retried"], run.lines
    assert all(line["intent"] == "LightOff" for line in run.lines), run.lines
    assert fake.connections == len(COMMANDS) + 1
    assert run.fallback_lines() == []


FAILURES = {
    # name: (faults for every connection, what the note must say, final deadline)
    "refused_503": (
        Fault(refuse_status=503),
        r"refused the upgrade \(HTTP 503\) \(after 2 attempts\)",
        DEADLINE_S,
    ),
    "dropped_twice": (
        Fault(drop_after=2),
        r"dropped the connection mid-utterance \(after 2 attempts\)",
        DEADLINE_S,
    ),
    "no_final": (
        Fault(no_final=True),
        rf"no final result within {NO_FINAL_S:g} s of the endpoint",
        NO_FINAL_S,
    ),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
async def test_a_failing_cloud_falls_back_to_local_for_every_utterance(
    case: str, recording: Path, grammar_cache: Path, tmp_path: Path
) -> None:
    fault, why, timeout_s = FAILURES[case]
    faults = [fault] * (2 * len(COMMANDS))  # every attempt of every utterance fails
    async with FakeSauc(app_key=APP_KEY, access_key=ACCESS_KEY, faults=faults) as fake:
        run = await run_daemon(
            fake.url,
            recording,
            grammar_cache,
            tmp_path,
            keys=(APP_KEY, ACCESS_KEY),
            final_timeout_s=timeout_s,
        )
    assert_every_command(run, "local")
    for line in run.lines:
        assert re.search("^volcengine failed: .*" + why, str(line["note"])), line["note"]
    if case == "no_final":  # abandoned final_timeout_s after the endpoint, before or as the retry starts
        assert len(COMMANDS) <= fake.connections <= 2 * len(COMMANDS)
    else:
        assert fake.connections == 2 * len(COMMANDS)  # one retry each, no more
    assert len(run.fallback_lines()) == len(COMMANDS)
    assert all(re.search(why, line) for line in run.fallback_lines()), run.fallback_lines()
    print(f"{case}: endpoint -> final text {run.finals_ms()} ms")


async def test_an_unreachable_cloud_falls_back_to_local(
    recording: Path, grammar_cache: Path, tmp_path: Path
) -> None:
    url = f"ws://127.0.0.1:{unused_port()}/api/v3/sauc/bigmodel_async"
    run = await run_daemon(url, recording, grammar_cache, tmp_path, keys=(APP_KEY, ACCESS_KEY))
    assert_every_command(run, "local")
    for line in run.lines:
        assert "volcengine failed: cannot connect to ws://127.0.0.1:" in str(line["note"])
    assert len(run.fallback_lines()) == len(COMMANDS)
    print(f"unreachable: endpoint -> final text {run.finals_ms()} ms")


async def test_rejected_credentials_are_a_clear_fatal_error_and_local_still_answers(
    recording: Path, grammar_cache: Path, tmp_path: Path
) -> None:
    async with FakeSauc(app_key=APP_KEY, access_key=ACCESS_KEY) as fake:
        run = await run_daemon(
            fake.url, recording, grammar_cache, tmp_path, keys=("sentinel-wrong-app", "sentinel-wrong-access")
        )
    assert_every_command(run, "local")
    assert fake.connections == len(COMMANDS)  # 401 is not retried
    for line in run.lines:
        assert "refused the credentials (HTTP 401)" in str(line["note"])
    fallbacks = run.fallback_lines()
    assert len(fallbacks) == len(COMMANDS)
    assert all("fatal error (fix the configuration)" in line for line in fallbacks), fallbacks
    assert "sentinel-wrong" not in run.log and "sentinel-wrong" not in json.dumps(run.lines)


@pytest.mark.parametrize("case", ["refused_503", "no_final"])
async def test_live_audio_falls_back_with_the_whole_utterance_in_bounded_time(
    case: str, recording: Path, grammar_cache: Path, tmp_path: Path
) -> None:
    """--pace: audio arrives in real time, so the cloud fails while the person is still talking.

    Regressions: the fallback used to replay only the audio read before the failure, and to wait for every
    retry of a silent cloud ((retries + 1) x final_timeout_s). Now the endpoint -> text time is at most
    final_timeout_s plus the local decode; a refused upgrade costs only the local decode (printed).
    """
    fault, why, timeout_s = FAILURES[case]
    async with FakeSauc(app_key=APP_KEY, access_key=ACCESS_KEY, faults=[fault] * (2 * len(COMMANDS))) as fake:
        run = await run_daemon(
            fake.url,
            recording,
            grammar_cache,
            tmp_path,
            keys=(APP_KEY, ACCESS_KEY),
            pace=True,
            final_timeout_s=timeout_s,
        )
    assert_every_command(run, "local")
    assert all(re.search(why, str(line["note"])) for line in run.lines), run.lines
    finals = run.finals_ms()
    assert len(finals) == len(COMMANDS)
    print(f"{case} (real time): endpoint -> final text {finals} ms")


async def test_a_transcript_with_a_lone_surrogate_keeps_its_report_line(
    recording: Path, grammar_cache: Path, tmp_path: Path
) -> None:
    # The cloud's JSON escapes a lone surrogate ("\ud800"): it cannot be written as UTF-8, and the
    # report line used to be lost to a UnicodeEncodeError.
    async with FakeSauc("turn off the bedroom light \ud800", app_key=APP_KEY, access_key=ACCESS_KEY) as fake:
        run = await run_daemon(fake.url, recording, grammar_cache, tmp_path, keys=(APP_KEY, ACCESS_KEY))
    assert run.returncode == 0, run.log
    assert [line["text"] for line in run.lines] == ["turn off the bedroom light \ufffd"] * len(COMMANDS)
    assert "Traceback" not in run.log
