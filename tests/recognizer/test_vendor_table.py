"""The cloud vendor table (config/recognizer.py CLOUD_VENDORS) is the one list of vendors."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from assistantd.config import Config, ConfigError
from assistantd.config.recognizer import CLOUD_VENDORS, RECOGNIZER_NAMES, RecognizerConfig
from assistantd.recognizer.codec import Codec
from assistantd.recognizer.registry import build_recognizer, codec_factory
from tests.daemon.harness import REPO

BLOCKS = {
    "volcengine": {"app_key": "${A}", "access_key": "${B}"},
    "zyun": {"api_key": "${A}"},
    "huawei": {"project_id": "p1", "token": "${A}"},
    "wyoming": {"url": "tcp://127.0.0.1:10300"},
}
OVERRIDE = {"wyoming": "tcp://127.0.0.1:9"}
"""The URL each vendor is pointed at instead of its own (default: a WebSocket URL)."""
ENV = {"A": "secret-a", "B": "secret-b"}


def test_every_vendor_has_a_config_field_and_a_name() -> None:
    names = [vendor.name for vendor in CLOUD_VENDORS]
    fields = {f.name for f in dataclasses.fields(RecognizerConfig)}
    assert set(names) <= fields
    assert ("local", *names) == RECOGNIZER_NAMES
    assert sorted(BLOCKS) == sorted(names), "a new vendor needs a block in BLOCKS"


@pytest.mark.parametrize("name", [vendor.name for vendor in CLOUD_VENDORS])
def test_each_vendor_parses_and_makes_a_codec_for_the_override_url(name: str) -> None:
    cfg = Config.from_dict({"recognizer": {"default": name, name: BLOCKS[name]}}, env=ENV).recognizer
    block = cfg.block(name)
    assert block is not None
    override = OVERRIDE.get(name, "ws://127.0.0.1:9/x")
    codec: Codec = codec_factory(name)(block, url_override=override)
    assert codec.handshake().url == override
    assert build_recognizer(name, cfg).name == name


def test_a_vendor_without_its_block_names_the_key_path() -> None:
    with pytest.raises(ConfigError, match=r"^a\.yaml: recognizer\.zyun: expected a recognizer\.zyun block"):
        build_recognizer("zyun", RecognizerConfig(), source="a.yaml")


@pytest.mark.parametrize("name", [vendor.name for vendor in CLOUD_VENDORS])
def test_parsing_a_vendor_block_imports_no_codec_or_transport(name: str) -> None:
    data = {"recognizer": {"default": name, name: BLOCKS[name]}}
    probe = (
        "import sys\nfrom assistantd.config import Config\n"
        f"Config.from_dict({data!r}, env={ENV!r})\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.startswith(('websockets', 'wyoming', 'assistantd.recognizer'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
