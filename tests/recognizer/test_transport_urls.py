"""A URL the WebSocket client cannot parse is one fatal RecognitionFailed, never a ValueError traceback."""

from __future__ import annotations

import pytest

from assistantd.config import Config
from assistantd.recognizer.base import RecognitionFailed
from assistantd.recognizer.registry import build_recognizer
from tests.recognizer.sauc_support import API_KEY, live, recognizer_config, synth_speech

AK, SK = "hw-ak-SENTINEL-31d0", "hw-sk-SENTINEL-c4e2"
BAD_URLS = [
    ("ws://[::1", "invalid URL: Invalid IPv6 URL"),
    ("ws://127.0.0.1:99999/sauc", "invalid URL: Port out of range 0-65535"),
]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return synth_speech(tmp_path_factory.mktemp("speech"))


@pytest.mark.parametrize(("url", "reason"), BAD_URLS, ids=["ipv6-bracket", "port"])
async def test_sauc_with_an_unparsable_url_fails_fatally(speech: bytes, url: str, reason: str) -> None:
    recognizer = build_recognizer("zyun", recognizer_config(), url_override=url)
    with pytest.raises(RecognitionFailed) as caught:
        await recognizer.transcribe(live(speech))
    assert (caught.value.fatal, caught.value.reason) == (True, reason)
    assert API_KEY not in str(caught.value)


@pytest.mark.parametrize(("url", "reason"), BAD_URLS, ids=["ipv6-bracket", "port"])
async def test_signed_huawei_with_an_unparsable_url_fails_fatally(
    speech: bytes, url: str, reason: str
) -> None:
    # ak/sk signing parses the URL for its Host header before any connection (protocols.md §3.2).
    data = {
        "default": "huawei",
        "fallback": None,
        "huawei": {"project_id": "p", "ak": "${AK}", "sk": "${SK}"},
    }
    cfg = Config.from_dict({"recognizer": data}, env={"AK": AK, "SK": SK}).recognizer
    recognizer = build_recognizer("huawei", cfg, url_override=url)
    with pytest.raises(RecognitionFailed) as caught:
        await recognizer.transcribe(live(speech))
    assert caught.value.fatal
    assert caught.value.reason.startswith("invalid URL")
    assert AK not in str(caught.value) and SK not in str(caught.value)
