"""bench.fuzz: the shared mutation fuzzer finds a codec bug when there is one, and none in today's codecs."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from assistantd.config.huawei import HuaweiConfig
from assistantd.config.secret import Secret
from assistantd.recognizer.huawei import HuaweiCodec
from bench import fuzz

CFG = HuaweiConfig(project_id="p", token=Secret("${T}", "t"))


def _trusting_event(codec: HuaweiCodec, data: dict[str, Any]) -> None:
    data["event"].upper()


class _TrustingCodec(HuaweiCodec):
    """A HuaweiCodec that believes EVENT's ``event`` is a string, as a careless client would."""

    _HANDLERS: ClassVar = {**HuaweiCodec._HANDLERS, "EVENT": _trusting_event}


def _started(codec: HuaweiCodec) -> HuaweiCodec:
    codec.start()
    return codec


def test_fuzzer_catches_a_codec_that_trusts_a_field() -> None:
    result = fuzz.run(
        "trusting",
        lambda: _started(_TrustingCodec(CFG)),
        fuzz.huawei_seeds(),
        fuzz.HUAWEI_MUTATORS,
        cases=2000,
    )
    assert {"KeyError", "AttributeError"} <= set(result.escaped)
    case, batch = result.repros["KeyError"]
    assert 0 <= case < 2000
    assert "repro KeyError" in fuzz.report(result)
    # The repro replays: the same messages into a fresh codec raise the same exception.
    codec = _started(_TrustingCodec(CFG))
    with pytest.raises(KeyError):
        for message in batch:
            codec.receive(message)


def test_seeds_are_valid_sessions() -> None:
    codec = _started(HuaweiCodec(CFG))
    for message in fuzz.huawei_seeds()[:7]:  # START ... END NORMAL
        codec.receive(message)
    assert codec.done


def test_todays_codecs_let_only_protocol_error_escape() -> None:
    for run_fuzz in fuzz.FUZZERS.values():
        result = run_fuzz(1500, 7)
        assert result.escaped == {}, fuzz.report(result)
        assert 0 < result.refused < result.cases  # some cases get through, some are refused
