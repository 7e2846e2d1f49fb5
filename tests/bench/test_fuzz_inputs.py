"""bench.fuzz_inputs: the file fuzzer finds a reader that trusts its input, and no traceback in today's.

A small seeded run of each loop (the bench runs 2,000 configs and 500 WAVs).
"""

from __future__ import annotations

import wave
from pathlib import Path

import yaml

from bench import fuzz_inputs


def _trusting_wav_reader(path: Path) -> None:
    """The stdlib reader alone: what assistantd did before its header checks."""
    with wave.open(str(path)) as w:
        w.readframes(w.getnframes())


def _trusting_yaml_reader(path: Path) -> None:
    for file in [path, *sorted((path.parent / "intents").glob("*.yaml"))]:
        yaml.safe_load(file.read_text(encoding="utf-8"))


def test_the_fuzzer_catches_readers_that_trust_their_input(tmp_path: Path) -> None:
    make_wav, make_config = fuzz_inputs.make_wav_case, fuzz_inputs.make_config_case
    wavs = fuzz_inputs._run("trusting-wavs", 300, 1, make_wav, _trusting_wav_reader, repro_dir=tmp_path)
    assert wavs.tracebacks.get("RuntimeError", 0) > 0 or wavs.tracebacks.get("Error", 0) > 0
    configs = fuzz_inputs._run(
        "trusting-yaml", 300, 1, make_config, _trusting_yaml_reader, repro_dir=tmp_path
    )
    assert configs.tracebacks.get("RecursionError", 0) > 0
    assert [p.name for p in tmp_path.glob("assistantd-fuzz-trusting-yaml-RecursionError-case*")]


def test_no_config_case_ends_in_a_traceback(tmp_path: Path) -> None:
    result = fuzz_inputs._run(
        "configs", 120, 7, fuzz_inputs.make_config_case, fuzz_inputs.check_config, repro_dir=tmp_path
    )
    assert result.tracebacks == {}, result.repros
    assert result.clean > 0 and result.accepted > 0  # both outcomes are reached: the loop is not degenerate


def test_no_wav_case_ends_in_a_traceback(tmp_path: Path) -> None:
    result = fuzz_inputs._run(
        "wavs", 300, 7, fuzz_inputs.make_wav_case, fuzz_inputs.check_wav, repro_dir=tmp_path
    )
    assert result.tracebacks == {}, result.repros
    assert result.clean > 0 and result.accepted > 0
