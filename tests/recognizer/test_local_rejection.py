"""The offline recognizer refuses what is not a command (issue 9, continuous mode), on real speech.

flite voices in room noise through LocalRecognizer with the SHIPPED intents (config/intents/en.yaml),
whose thresholds bench/rejection.py measured. Without the check the grammar forces each of these
sentences into some command; with it the Transcript says ``rejected`` and keeps the forced text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistantd.config.local import LocalRecognizerConfig, RejectConfig
from assistantd.intents.loader import load_intent_files
from assistantd.recognizer.local import LocalRecognizer

from .speech import chunks, have_flite, noisy_command

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not have_flite(), reason="flite is needed to synthesize speech"),
]

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "intents" / "en.yaml"
TALK = [
    ("kal16", "i set a timer on my phone yesterday"),
    ("slt", "the weather was lovely when we walked to the station"),
    ("rms", "turn left at the next corner and keep going"),
    ("awb", "she turned the music down and went to bed"),
]
COMMANDS = [
    ("kal16", "turn on the kitchen lights"),
    ("slt", "set a timer for five minutes"),
    ("rms", "what time is it"),
    ("awb", "pause the music"),
]


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


def _recognizer(cache: Path, reject: RejectConfig) -> LocalRecognizer:
    return LocalRecognizer(LocalRecognizerConfig(cache_dir=str(cache), reject=reject), [SHIPPED])


@pytest.fixture(scope="module")
def grammar_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


# Fresh decoders per test: pocketsphinx adapts its cepstral mean across utterances, so shared ones would
# judge each clip by the clips other tests happened to decode before it on the same worker.
@pytest.fixture
def checked(grammar_cache: Path) -> Iterator[LocalRecognizer]:
    rec = _recognizer(grammar_cache, RejectConfig())
    yield rec
    rec.close()


@pytest.fixture
def unchecked(grammar_cache: Path) -> Iterator[LocalRecognizer]:
    rec = _recognizer(grammar_cache, RejectConfig(enabled=False))
    yield rec
    rec.close()


def meaning(text: str) -> tuple[str, dict[str, object]] | None:
    """What the shipped intents make of ``text``: (intent, slots), None when nothing matches."""
    match = load_intent_files([SHIPPED]).match(text)
    return None if match is None else (match.intent, dict(match.slots))


@pytest.mark.parametrize(("voice", "sentence"), TALK)
async def test_conversation_forced_into_a_command_is_rejected(
    checked: LocalRecognizer, unchecked: LocalRecognizer, speech_dir: Path, voice: str, sentence: str
) -> None:
    audio = noisy_command(sentence, voice, speech_dir)
    forced = await unchecked.transcribe(chunks(audio))
    assert forced.text and forced.verdict is None and not forced.rejected  # the grammar's nearest command

    transcript = await checked.transcribe(chunks(audio))
    assert transcript.text  # reported with the text the grammar forced
    assert transcript.verdict is not None
    assert transcript.rejected, transcript.verdict
    assert transcript.verdict.reason


@pytest.mark.parametrize(("voice", "command"), COMMANDS)
async def test_commands_are_accepted(
    checked: LocalRecognizer, speech_dir: Path, voice: str, command: str
) -> None:
    transcript = await checked.transcribe(chunks(noisy_command(command, voice, speech_dir)))
    assert meaning(transcript.text) == meaning(command) is not None, transcript.text
    assert transcript.verdict is not None and transcript.verdict.accepted, transcript.verdict
    assert transcript.verdict.score is not None and transcript.verdict.score >= RejectConfig().min_score


async def test_the_threshold_is_the_configured_one(tmp_path: Path, speech_dir: Path) -> None:
    """A command scores below 0 (the phone loop bounds every path): min_score 0 rejects it."""
    strict = _recognizer(tmp_path, dataclasses.replace(RejectConfig(), min_score=0.0))
    try:
        transcript = await strict.transcribe(chunks(noisy_command("what time is it", "kal16", speech_dir)))
    finally:
        strict.close()
    assert transcript.text == "what time is it"
    assert transcript.rejected and transcript.verdict is not None
    assert transcript.verdict.reason.startswith("score ")
