"""Hostile-server fuzzing of every recognizer codec's receive(): ``python -m bench.fuzz``.

Issue 3's property: whatever a server sends, the only exception a codec's receive() may raise is its
ProtocolError. One seeded mutation loop (``run``) serves every codec; each codec brings a factory for a fresh
codec, its valid server messages in session order, and the mutators that make sense for its framing:

* sauc (volcengine/zyun, protocols.md §1.3-1.4): binary frames - byte flips, truncation, junk, a lying
  payload size, any header nibble, text frames where binary is expected.
* huawei (protocols.md §3.6): text JSON of every resp_type - fields deleted, retyped, nested, made huge or
  deeply nested; resp_type/event/reason swapped; random bytes; truncated or invalid UTF-8 (as the transport
  would see it decoded leniently) and binary frames where text is expected.

A case is a valid prefix of the session (so every codec state is reached), one mutated message, and
sometimes one more valid message after it; a ProtocolError ends the case as the transport would. Prints
cases/s, the share of cases the codec refused, and every other exception's type with a repro.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistantd.config.huawei import HuaweiConfig
from assistantd.config.secret import Secret
from assistantd.config.volcengine import VolcengineConfig
from assistantd.recognizer.codec import Codec, Message, ProtocolError
from assistantd.recognizer.huawei import HuaweiCodec
from assistantd.recognizer.sauc import volcengine_codec

Mutator = Callable[[random.Random, Message], Message]


@dataclass
class FuzzResult:
    codec: str
    cases: int = 0
    refused: int = 0
    """Cases that ended in ProtocolError (the allowed outcome for a broken message)."""
    seconds: float = 0.0
    escaped: dict[str, int] = field(default_factory=dict)
    repros: dict[str, tuple[int, list[Message]]] = field(default_factory=dict)
    """The first case (case number, the whole message list) per escaped exception type."""


def run(
    name: str,
    factory: Callable[[], Codec],
    seeds: Sequence[Message],
    mutators: Sequence[Mutator],
    *,
    cases: int,
    seed: int = 1,
) -> FuzzResult:
    """Feed ``cases`` mutated sessions to fresh codecs from ``factory``; ``seeds`` are in session order."""
    rng = random.Random(seed)
    result = FuzzResult(name, cases)
    start = time.perf_counter()
    for case in range(cases):
        prefix = rng.randrange(len(seeds))
        message = seeds[prefix]
        for _ in range(rng.randint(1, 4)):
            message = rng.choice(mutators)(rng, message)
        batch = [*seeds[:prefix], message]
        if rng.random() < 0.3:
            batch.append(rng.choice(seeds))
        codec = factory()
        try:
            for item in batch:
                codec.receive(item)
                codec.events_received()
                codec.messages_to_send()
        except ProtocolError:
            result.refused += 1
        except Exception as exc:  # the bench reports what the property forbids
            kind = type(exc).__name__
            result.escaped[kind] = result.escaped.get(kind, 0) + 1
            result.repros.setdefault(kind, (case, batch))
    result.seconds = time.perf_counter() - start
    return result


# -- byte-level mutators, shared --------------------------------------------------------------------------
def _as_bytes(message: Message) -> bytearray:
    return bytearray(message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message)


def flip_byte(rng: random.Random, message: Message) -> Message:
    data = _as_bytes(message)
    if data:
        data[rng.randrange(len(data))] ^= rng.randint(1, 255)
    return _like(message, data, rng)


def truncate(rng: random.Random, message: Message) -> Message:
    data = _as_bytes(message)
    return _like(message, data[: rng.randrange(len(data) + 1)], rng)


def insert_junk(rng: random.Random, message: Message) -> Message:
    data = _as_bytes(message)
    pos = rng.randrange(len(data) + 1)
    data[pos:pos] = rng.randbytes(rng.randint(1, 8))
    return _like(message, data, rng)


def random_bytes(rng: random.Random, message: Message) -> Message:
    return _like(message, bytearray(rng.randbytes(rng.randint(0, 64))), rng)


def _like(original: Message, data: bytearray, rng: random.Random) -> Message:
    """Back to the original's frame type. Text frames carrying broken UTF-8 are closed by websockets
    (1007) before a codec sees them, so broken bytes reach receive() only as a lenient decoding."""
    if isinstance(original, bytes):
        return bytes(data)
    return bytes(data).decode("utf-8", rng.choice(("replace", "surrogateescape", "ignore")))


def swap_frame_type(rng: random.Random, message: Message) -> Message:
    """A binary frame where text is expected, and the other way round."""
    if isinstance(message, str):
        return message.encode("utf-8", "surrogatepass")
    return message.decode("latin-1")


BYTE_MUTATORS: tuple[Mutator, ...] = (flip_byte, truncate, insert_junk, random_bytes, swap_frame_type)


# -- sauc (protocols.md §1.3) -----------------------------------------------------------------------------
def _sauc_size(rng: random.Random, message: Message) -> Message:
    if isinstance(message, str) or len(message) < 12:
        return message
    size = rng.choice((0, 1, len(message), 2**31, 2**32 - 1))
    return message[:8] + struct.pack(">I", size) + message[12:]


def _sauc_header(rng: random.Random, message: Message) -> Message:
    if isinstance(message, str) or len(message) < 4:
        return message
    data = bytearray(message)
    data[rng.randrange(4)] = rng.randrange(256)
    return bytes(data)


def sauc_seeds() -> list[Message]:
    """Partial results, then the final one (gzip and raw JSON payloads), then a server error (§1.3-1.4)."""
    seeds: list[Message] = []
    for text, last in (("", False), ("turn on", False), ("打开客厅的灯", True)):
        body = {"result": {"text": text, "utterances": [{"text": text, "definite": last}]}}
        payload = gzip.compress(json.dumps(body, ensure_ascii=False).encode(), mtime=0)
        flags = 0b0011 if last else 0b0001
        seeds.append(bytes((0x11, 0x90 | flags, 0x11, 0)) + struct.pack(">iI", 2, len(payload)) + payload)
        raw = json.dumps(body).encode()
        seeds.append(bytes((0x11, 0x90 | flags, 0x10, 0)) + struct.pack(">iI", 2, len(raw)) + raw)
    err = "服务繁忙".encode()
    seeds.append(bytes((0x11, 0xF0, 0x10, 0)) + struct.pack(">II", 55000031, len(err)) + err)
    return seeds


def fuzz_sauc(cases: int, seed: int = 1) -> FuzzResult:
    cfg = VolcengineConfig(app_key=Secret("${A}", "a"), access_key=Secret("${B}", "b"))
    mutators = (*BYTE_MUTATORS, _sauc_size, _sauc_header)
    return run(
        "sauc",
        lambda: volcengine_codec(cfg, new_id=lambda: "x"),
        sauc_seeds(),
        mutators,
        cases=cases,
        seed=seed,
    )


# -- huawei (protocols.md §3.6) ---------------------------------------------------------------------------
def _segment(text: str, final: bool) -> dict[str, Any]:
    word = {"start_time": 0, "end_time": 300, "word": text[:1]}
    return {
        "start_time": 0,
        "end_time": 900,
        "is_final": final,
        "result": {"text": text, "score": 0.9, "word_info": [word]},
    }


def huawei_seeds() -> list[Message]:
    """One session of every resp_type in the order a server sends them, then the error endings."""
    bodies: list[dict[str, Any]] = [
        {"resp_type": "START", "trace_id": "t-1"},
        {"resp_type": "EVENT", "trace_id": "t-1", "event": "VOICE_START", "timestamp": 120},
        {"resp_type": "RESULT", "trace_id": "t-1", "segments": [_segment("打开", False)]},
        {"resp_type": "RESULT", "trace_id": "t-1", "segments": [_segment("打开客厅的灯", True)]},
        {"resp_type": "EVENT", "trace_id": "t-1", "event": "VOICE_END", "timestamp": 900},
        {"resp_type": "EVENT", "trace_id": "t-1", "event": "EXCEEDED_SILENCE", "timestamp": 10000},
        {"resp_type": "END", "trace_id": "t-1", "reason": "NORMAL"},
        {"resp_type": "ERROR", "error_code": "SIS.0031", "error_msg": "unsupported parameter"},
        {"resp_type": "END", "trace_id": "t-1", "reason": "ERROR"},
        {"resp_type": "FATAL_ERROR", "trace_id": "t-1", "error_code": "SIS.0304", "error_msg": "idle 20 s"},
    ]
    return [json.dumps(b, ensure_ascii=False) for b in bodies]


def _random_value(rng: random.Random) -> Any:
    return rng.choice(
        (
            None,
            True,
            0,
            -1,
            2**70,
            1e308,
            float("inf"),
            float("nan"),
            "",
            "NORMAL",
            "\ud800",
            "x" * 100_000,
            [],
            {},
            [None],
            {"text": None},
            rng.choice(("START", "RESULT", "EVENT", "END", "ERROR", "FATAL_ERROR", "CANCEL", "VOICE_END")),
        )
    )


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key/index) in a parsed JSON value, depth first."""
    out: list[tuple[Any, Any]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        out.append((node, key))
        out.extend(_slots(child))
    return out


def _json_mutator(change: Callable[[random.Random, Any, Any], None]) -> Mutator:
    def mutate(rng: random.Random, message: Message) -> Message:
        try:
            data = json.loads(message)
        except (ValueError, RecursionError):
            return message
        slots = _slots(data)
        if not slots:
            return json.dumps(_random_value(rng))
        container, key = rng.choice(slots)
        change(rng, container, key)
        return json.dumps(data, ensure_ascii=rng.random() < 0.5)

    mutate.__name__ = change.__name__
    return mutate


def _delete(rng: random.Random, container: Any, key: Any) -> None:
    del container[key]


def _retype(rng: random.Random, container: Any, key: Any) -> None:
    container[key] = _random_value(rng)


def _nest(rng: random.Random, container: Any, key: Any) -> None:
    value = container[key]
    container[key] = rng.choice(([value], {"value": value}, [value] * rng.randint(2, 1000)))


def _deep(rng: random.Random, message: Message) -> Message:
    """Nesting deeper than json's recursion limit, or just under it, inside a real response."""
    depth = rng.choice((50, 900, 5000, 100_000))
    text = message if isinstance(message, str) else message.decode("latin-1")
    return text.replace('"trace_id"', '"deep": ' + "[" * depth + "]" * depth + ', "trace_id"', 1)


def _huge_number(rng: random.Random, message: Message) -> Message:
    text = message if isinstance(message, str) else message.decode("latin-1")
    return text.replace('"trace_id"', f'"n": {"9" * rng.choice((10, 5000))}, "trace_id"', 1)


HUAWEI_MUTATORS: tuple[Mutator, ...] = (
    *BYTE_MUTATORS,
    *(_json_mutator(c) for c in (_delete, _delete, _retype, _retype, _retype, _nest)),
    _deep,
    _huge_number,
)
"""JSON-aware changes weigh more than byte damage, so most cases get past json.loads into the handlers."""


def fuzz_huawei(cases: int, seed: int = 1) -> FuzzResult:
    cfg = HuaweiConfig(project_id="p", token=Secret("${T}", "t"), interim_results=True)

    def factory() -> HuaweiCodec:
        codec = HuaweiCodec(cfg)
        codec.start()  # waiting for the START reply, with audio held (§3.4)
        codec.send_audio(bytes(6400))
        codec.messages_to_send()
        return codec

    return run("huawei", factory, huawei_seeds(), HUAWEI_MUTATORS, cases=cases, seed=seed)


FUZZERS: dict[str, Callable[[int, int], FuzzResult]] = {"sauc": fuzz_sauc, "huawei": fuzz_huawei}


def report(result: FuzzResult) -> str:
    verdict = "none" if not result.escaped else ", ".join(f"{k} x{v}" for k, v in result.escaped.items())
    lines = [
        f"fuzz {result.codec}: {result.cases} mutated sessions into receive() in {result.seconds:.1f} s "
        f"({result.cases / result.seconds:,.0f} cases/s; {result.refused / result.cases:.0%} refused with "
        f"ProtocolError); exceptions other than ProtocolError: {verdict}"
    ]
    for kind, (case, batch) in result.repros.items():
        # Messages are clipped for the log; the case number with the same --seed replays it in full.
        lines.append(f"  repro {kind} (case {case}): {[_clip(m) for m in batch]!r}")
    return "\n".join(lines)


def _clip(message: Message, limit: int = 300) -> Message:
    return message if len(message) <= limit else message[:limit]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="per codec")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--codec", choices=sorted(FUZZERS), action="append", help="default: all")
    args = parser.parse_args(argv)
    for name in args.codec or FUZZERS:
        print(report(FUZZERS[name](args.cases, args.seed)), flush=True)


if __name__ == "__main__":
    main()
