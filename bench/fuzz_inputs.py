"""Hostile-file fuzzing of what a user hands the daemon: ``python -m bench.fuzz_inputs``.

Issue 10's property: whatever config, intent or WAV file a user writes, assistantd answers with one clear
error (a ConfigError or AudioError) or accepts it; never a traceback, a walk of the disk or gigabytes of
memory. Two seeded mutation loops, in the spirit of ``bench.fuzz``:

* configs: the shipped ``config/assistant.yaml``, ``config/intents/{en,zh}.yaml`` and ``config/sounds`` in a
  fresh directory, one of the YAML files mutated - values retyped, deleted, made huge or deeply nested,
  keys invented, templates given unbalanced or deep brackets and rule references, ``intents.files``
  given hostile globs, and text
  damage (bytes flipped, lines cut or doubled, YAML punctuation inserted, hundreds of brackets). Each
  case is loaded in-process as ``assistantd check-config`` does: config, intent files, bindings.
* WAVs: small PCM files of several formats whose header fields (chunk sizes, channels, rate, width, tag)
  are set to edge values, bytes flipped, chunks inserted, the file cut. Each is read by both readers,
  ``read_wav_pcm16k`` (``segments``, ``transcribe``) and ``WavFileSource`` (``run --input``, ``capture``).

Prints, per loop: cases, accepted, clean errors, tracebacks (must be 0) with a saved repro per exception
type, the slowest case, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import resource
import shutil
import struct
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from assistantd.app import check_bindings
from assistantd.audio.filesource import WavFileSource
from assistantd.audio.wavfile import read_wav_pcm16k
from assistantd.config import load_config
from assistantd.errors import AssistantError
from assistantd.intents.loader import load_matcher

REPO = Path(__file__).resolve().parents[1]
ENV = {"VOLC_APP_KEY": "fuzz-app", "VOLC_ACCESS_KEY": "fuzz-access", "MQTT_PASSWORD": "fuzz-mqtt"}


@dataclass
class FuzzResult:
    name: str
    cases: int = 0
    accepted: int = 0
    clean: int = 0
    """Cases refused with one ConfigError/AudioError line: the allowed outcome for a broken file."""
    seconds: float = 0.0
    slowest_s: float = 0.0
    slowest_case: int = -1
    tracebacks: dict[str, int] = field(default_factory=dict)
    repros: dict[str, str] = field(default_factory=dict)
    """Per exception type: where the first case's files were saved, and the exception's last line."""
    peak_rss_mb: float = 0.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(
    name: str,
    cases: int,
    seed: int,
    make: Callable[[random.Random, Path], Path],
    check: Callable[[Path], None],
    *,
    repro_dir: Path | None = None,
) -> FuzzResult:
    """``make`` writes one mutated case into a fresh directory and returns the file to check; the first
    case of each escaped exception type is copied under ``repro_dir`` (default: the temp directory)."""
    repros = repro_dir if repro_dir is not None else Path(tempfile.gettempdir())
    rng = random.Random(seed)
    result = FuzzResult(name, cases)
    start = time.perf_counter()
    for case in range(cases):
        with tempfile.TemporaryDirectory(prefix="assistantd-fuzz-") as tmp:
            target = make(rng, Path(tmp))
            began = time.perf_counter()
            try:
                check(target)
            except AssistantError as err:
                result.clean += 1
                if "\n" in str(err):
                    _escaped(result, "multi-line error", case, Path(tmp), str(err), repros=repros)
            except Exception as exc:  # the bench reports what the property forbids
                detail = traceback.format_exc(limit=-3)
                _escaped(result, type(exc).__name__, case, Path(tmp), detail, repros=repros)
            else:
                result.accepted += 1
            took = time.perf_counter() - began
            if took > result.slowest_s:
                result.slowest_s, result.slowest_case = took, case
    result.seconds = time.perf_counter() - start
    result.peak_rss_mb = _peak_rss_mb()
    return result


def _escaped(result: FuzzResult, kind: str, case: int, tmp: Path, detail: str, *, repros: Path) -> None:
    result.tracebacks[kind] = result.tracebacks.get(kind, 0) + 1
    if kind not in result.repros:
        saved = repros / f"assistantd-fuzz-{result.name}-{kind}-case{case}"
        shutil.rmtree(saved, ignore_errors=True)
        shutil.copytree(tmp, saved)
        result.repros[kind] = f"{saved}: {detail.strip().splitlines()[-1][:300]}"


# -- configs ------------------------------------------------------------------------------------------
_SEEDS = {
    "assistant.yaml": (REPO / "config" / "assistant.yaml").read_text(encoding="utf-8"),
    "intents/en.yaml": (REPO / "config" / "intents" / "en.yaml").read_text(encoding="utf-8"),
    "intents/zh.yaml": (REPO / "config" / "intents" / "zh.yaml").read_text(encoding="utf-8"),
}
_GLOBS = ["/**/*.yaml", "/*/*/*/*.yaml", "../**/*.yaml", "**", "/proc/self/*", "/dev/*", "intents/*", ""]
_TEMPLATES = [
    "(" * 40 + "a" + ")" * 40,
    "(a;" * 40 + "b" + ")" * 40,
    "(a|b",
    "[x] {nope} <nope>",
    "<" + "x" * 5000 + ">",
    "\\",
    "{area}{area}{area}",
    "(" + ";".join(f"w{i}" for i in range(12)) + ")",
]
_SCALARS: list[object] = [
    None, True, 0, -1, 2**64, 1e308, float("nan"), "", "x" * 10_000, "${NOPE}", "credential:x", "file:/nope",
    "9" * 400, [], {}, [1, [2, [3]]], {"a": {"b": {}}},
]  # fmt: skip
_PUNCTUATION = ":-[]{}&*!|>'\"%@`#,?\t\n\\<>()"


def _places(data: object, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in nested dicts and lists."""
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _places(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _places(value, (*path, i))
    return found


def _nest(depth: int) -> object:
    value: object = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def _new_value(rng: random.Random, old: object) -> object:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(_SCALARS)
    if roll < 0.5:
        return _nest(rng.choice((5, 30, 63, 70)))
    if roll < 0.7 and isinstance(old, str):
        return rng.choice(_TEMPLATES) if rng.random() < 0.6 else old + rng.choice(_PUNCTUATION)
    if roll < 0.8:
        return [rng.choice(_GLOBS)]
    if isinstance(old, int | float) and not isinstance(old, bool):
        return old * rng.choice((-1, 0, 1000, 10**9))
    return rng.choice(_SCALARS)


def _mutate_data(rng: random.Random, data: object) -> object:
    places = _places(data)[1:]
    if not places:
        return rng.choice(_SCALARS)
    path = rng.choice(places)
    parent: Any = data
    for step in path[:-1]:
        parent = parent[step]
    key = path[-1]
    action = rng.random()
    if action < 0.2 and isinstance(parent, dict):
        del parent[key]
    elif action < 0.3 and isinstance(parent, dict):
        parent[key + "_typo" if isinstance(key, str) else "zz"] = parent[key]
    elif action < 0.35 and isinstance(parent, list):
        parent.extend([parent[key]] * rng.choice((1, 50)))
    else:
        parent[key] = _new_value(rng, parent[key])
    return data


def _mutate_text(rng: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True) or [""]
    i = rng.randrange(len(lines))
    roll = rng.random()
    if roll < 0.2:
        del lines[i]
    elif roll < 0.3:
        lines.insert(i, lines[i])
    elif roll < 0.5:
        pos = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:pos] + "".join(rng.choices(_PUNCTUATION, k=rng.randint(1, 4))) + lines[i][pos:]
    elif roll < 0.65:
        depth = rng.choice((50, 70, 300, 1000))
        opener, closer = rng.choice((("[", "]"), ("{a: ", "}")))
        lines.insert(i, f"deep{i}: {opener * depth}1{closer * depth}\n")
    elif roll < 0.75:
        return text[: rng.randrange(len(text) + 1)]
    elif roll < 0.85:
        data = bytearray(text.encode("utf-8"))
        if data:
            data[rng.randrange(len(data))] ^= rng.randint(1, 255)
        return data.decode("utf-8", "replace")
    else:
        lines.insert(
            i, "  " * rng.randint(0, 6) + rng.choice(("- ", "? ", "&a ", "*a ", "!!python/object ", "<<: "))
        )
    return "".join(lines)


def _mutate_data_or_text(rng: random.Random, text: str) -> str:
    if rng.random() < 0.55:
        try:
            data = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError):
            pass  # an earlier mutation broke the YAML: damage the text further instead
        else:
            data = _mutate_data(rng, data)
            return yaml.safe_dump(data, allow_unicode=True, width=10**6, sort_keys=False)
    return _mutate_text(rng, text)


def make_config_case(rng: random.Random, tmp: Path) -> Path:
    """The shipped config and intents in ``tmp``, one file mutated one to three times."""
    target = rng.choices(list(_SEEDS), weights=(5, 4, 1))[0]
    for name, seed in _SEEDS.items():
        text = seed
        if name == target:
            for _ in range(rng.randint(1, 3)):
                text = _mutate_data_or_text(rng, text)
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text, encoding="utf-8")
    # The feedback sounds the shipped config names (binary, never mutated).
    shutil.copytree(REPO / "config" / "sounds", tmp / "sounds", dirs_exist_ok=True)
    return tmp / "assistant.yaml"


def check_config(path: Path) -> None:
    """What ``assistantd check-config`` does, in-process."""
    cfg = load_config(path, env=ENV)
    matcher = load_matcher(cfg)
    check_bindings(cfg, matcher.intent_names())


def fuzz_configs(cases: int, seed: int = 1) -> FuzzResult:
    return _run("configs", cases, seed, make_config_case, check_config)


# -- WAVs -----------------------------------------------------------------------------------------------
_FORMATS = [
    (16000, 1, 2, False),
    (8000, 1, 1, False),
    (44100, 2, 2, False),
    (48000, 2, 3, True),
    (22050, 1, 4, True),
]
_U32 = [0, 1, 2, 3, 7, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFF]
_U16 = [0, 1, 2, 3, 5, 8, 64, 65, 255, 0x7FFF, 0xFFFF]
_RATES = [0, 1, 3999, 4000, 8000, 384000, 384001, 10**6, 0xFFFFFFFF]
_PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")


def _wav(
    rng: random.Random, rate: int, channels: int, width: int, extensible: bool
) -> tuple[bytes, dict[str, int]]:
    """A valid WAV of 0.2 s of noise and the offsets of its header fields."""
    frames = rate // 5
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 3000, frames * channels)
    samples = (noise * 256 ** (width - 2) if width >= 2 else noise / 256 + 128).astype(np.int64)
    data = b"".join(int(s).to_bytes(width, "little", signed=width > 1) for s in samples[: frames * channels])
    align = channels * width
    fmt = struct.pack("<HHIIHH", 0xFFFE if extensible else 1, channels, rate, rate * align, align, width * 8)
    if extensible:
        fmt += struct.pack("<HHI", 22, width * 8, 0) + _PCM_GUID
    info = b"LIST" + struct.pack("<I", 12) + b"INFOISFT" + b"\x00" * 4 if rng.random() < 0.5 else b""
    body = (
        b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + info + b"data" + struct.pack("<I", len(data))
    )
    fields = {
        "riff_size": 4, "fmt_size": 16, "tag": 20, "channels": 22, "rate": 24, "byte_rate": 28,
        "block_align": 32, "bits": 34, "data_size": 12 + len(body) - 4,
    }  # fmt: skip
    if info:
        fields["list_size"] = 12 + 8 + len(fmt) + 4
    head = b"RIFF" + struct.pack("<I", len(body) + len(data)) + body
    return head + data, fields


def make_wav_case(rng: random.Random, tmp: Path) -> Path:
    content, fields = _wav(rng, *rng.choice(_FORMATS))
    wav = bytearray(content)
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        name = rng.choice(sorted(fields))
        offset = fields[name]
        if roll < 0.45:
            if name in ("channels", "tag", "bits", "block_align"):
                wav[offset : offset + 2] = struct.pack("<H", rng.choice(_U16))
            elif name == "rate":
                wav[offset : offset + 4] = struct.pack("<I", rng.choice(_RATES))
            else:
                size = rng.choice([*_U32, len(wav) + rng.randint(-16, 16)]) & 0xFFFFFFFF
                wav[offset : offset + 4] = struct.pack("<I", size)
        elif roll < 0.65:
            wav[rng.randrange(min(len(wav), 80))] ^= rng.randint(1, 255)
        elif roll < 0.8:
            wav = wav[: rng.randrange(len(wav) + 1)]
        elif roll < 0.9:
            chunk_id = rng.choice((b"JUNK", b"LIST", b"fact", b"fmt ", b"data", rng.randbytes(4)))
            size = rng.choice([*_U32, rng.randint(0, 64)])
            pos = 12 if rng.random() < 0.5 else fields["data_size"] - 4
            wav[pos:pos] = chunk_id + struct.pack("<I", size) + rng.randbytes(min(size, 64))
        else:
            wav += rng.randbytes(rng.randint(1, 999))
    path = tmp / "case.wav"
    path.write_bytes(bytes(wav))
    return path


async def _stream(path: Path) -> int:
    return sum(len(frame.pcm) for frame in [f async for f in WavFileSource(path).frames()])


def check_wav(path: Path) -> None:
    """Both readers: the whole-file one (segments) and the streaming one (run --input)."""
    read_wav_pcm16k(path)
    asyncio.run(_stream(path))


def fuzz_wavs(cases: int, seed: int = 1) -> FuzzResult:
    return _run("wavs", cases, seed, make_wav_case, check_wav)


def report(result: FuzzResult) -> str:
    verdict = ", ".join(f"{k} x{v}" for k, v in result.tracebacks.items()) or "0"
    lines = [
        f"fuzz {result.name}: {result.cases} cases in {result.seconds:.1f} s "
        f"({result.cases / result.seconds:.0f}/s); accepted {result.accepted}, clean errors {result.clean}, "
        f"tracebacks {verdict}; slowest case {result.slowest_s:.2f} s (case {result.slowest_case}); "
        f"peak RSS so far {result.peak_rss_mb:.0f} MB"
    ]
    lines += [f"  repro {kind}: {where}" for kind, where in result.repros.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_inputs", description=__doc__.split("\n")[0])
    parser.add_argument("--configs", type=int, default=2000)
    parser.add_argument("--wavs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    logging.getLogger("assistantd").setLevel(logging.ERROR)  # "cut short" warnings, one per case
    print(f"peak RSS before fuzzing: {_peak_rss_mb():.0f} MB", flush=True)
    print(report(fuzz_configs(args.configs, args.seed)), flush=True)
    print(report(fuzz_wavs(args.wavs, args.seed)), flush=True)


if __name__ == "__main__":
    main()
