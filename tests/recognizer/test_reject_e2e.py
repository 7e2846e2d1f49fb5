"""Continuous mode refuses what is not a command, end to end: ``assistantd run --input`` (the real
pipeline in a subprocess, wake.model null, the offline recognizer) on flite speech in room noise.

Commands act; conversation that the grammar would force into a command is reported with outcome
"rejected", the forced text and the verdict's score, and runs nothing, unless
``recognizer.local.reject.run_fallback`` asks for the fallback handler.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.synth import to_pcm
from bench.wake_audio import Line, build
from tests.run_input import run_ok
from tests.talk_speech import SCRIPT
from tests.wake_speech import write_wav

ROOT = Path(__file__).resolve().parents[2]
INTENTS = ROOT / "config" / "intents" / "en.yaml"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)"),
]


def _config(tmp: Path, cache: Path, run_fallback: bool, reject: str = "") -> Path:
    path = tmp / "assistant.yaml"
    fallback = "true" if run_fallback else "false"
    path.write_text(
        f"""
wake: {{model: null}}
recognizer:
  default: local
  fallback: null
  local: {{cache_dir: "{cache}", reject: {{run_fallback: {fallback}{reject}}}}}
intents: {{files: ["{INTENTS}"]}}
handlers:
  bindings:
    - {{intent: LightOn, exec: {{argv: ["true"], timeout_s: 5}}}}
    - {{intent: TimerStart, exec: {{argv: ["true"], timeout_s: 5}}}}
    - {{intent: TimeGet, exec: {{argv: ["true"], timeout_s: 5}}}}
  fallback: {{exec: {{argv: ["true"], timeout_s: 5}}}}
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("run_fallback", [False, True])
async def test_continuous_mode_acts_on_commands_and_rejects_conversation(
    talk: tuple[Path, Path], tmp_path: Path, run_fallback: bool
) -> None:
    wav, cache = talk
    lines, log = await run_ok(_config(tmp_path, cache, run_fallback), wav)
    assert len(lines) == len(SCRIPT), lines
    for line, (_, intent, _) in zip(lines, SCRIPT, strict=True):
        assert line["verdict"]["score"] is not None or line["outcome"] == "rejected", line
        if intent is not None:
            assert line["intent"] == intent and line["outcome"] == "recognized", line
            assert [h["ok"] for h in line["handlers"]] == [True]
            continue
        # The grammar forced the sentence into a command; the check refused it and said why.
        assert line["outcome"] == "rejected", line
        assert line["text"] and line["intent"] is None, line
        assert line["verdict"]["reason"], line
        assert [h["ok"] for h in line["handlers"]] == ([True] if run_fallback else []), line
    assert log.count("rejected, not a command") == 2


async def test_the_reject_settings_reach_the_daemon(talk: tuple[Path, Path], tmp_path: Path) -> None:
    wav, cache = talk
    # No command scores 0 against the phone loop: with that threshold every line is refused.
    strict, _ = await run_ok(_config(tmp_path, cache, False, ", min_score: 0"), wav)
    assert [line["outcome"] for line in strict] == ["rejected"] * len(SCRIPT), strict
    # With the check off, the conversation is forced into commands again: what the check prevents.
    (tmp_path / "off").mkdir()
    off, _ = await run_ok(_config(tmp_path / "off", cache, False, ", enabled: false"), wav)
    assert [line["outcome"] for line in off] == ["recognized"] * len(SCRIPT), off
    assert all(line["intent"] for line in off), off


async def test_max_unexplained_reaches_the_daemon(tmp_path: Path) -> None:
    # "lights on" explains the start of this sentence well (its score passes min_score) and leaves the
    # rest of the speech to the silence model: refused for what it leaves unexplained, not for its score.
    cache = tmp_path / "cache"
    stars = Line("flite:awb", "the light from distant stars takes years to reach us")
    audio, _ = build([stars], seed=7, cache=cache)
    wav = write_wav(tmp_path / "stars.wav", to_pcm(audio))
    (default,), _ = await run_ok(_config(tmp_path, cache, False), wav)
    assert default["outcome"] == "rejected", default
    assert default["verdict"]["reason"].startswith("unexplained"), default
    (tmp_path / "lenient").mkdir()
    lenient = _config(tmp_path / "lenient", cache, False, ", max_unexplained: 1")
    (accepted,), _ = await run_ok(lenient, wav)
    assert accepted["outcome"] == "recognized" and accepted["intent"], accepted
    assert accepted["verdict"]["unexplained"] > 0.2, accepted
