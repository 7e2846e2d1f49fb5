"""A default is the dataclass field's: a section parsed from nothing equals the section built from
nothing, so a default edited in the parser and not the dataclass (or back) fails here. Covered: every
section present in ``Config()`` and the three cloud vendor blocks; not yet the handler specs and their
connections (``None`` in ``Config()``), whose parsers still repeat their defaults (issue 11)."""

from __future__ import annotations

from assistantd.config import Config
from assistantd.config.huawei import HuaweiConfig
from assistantd.config.secret import Secret
from assistantd.config.volcengine import VolcengineConfig, ZyunConfig

ENV = {"K1": "sentinel-one", "K2": "sentinel-two"}


def test_an_empty_config_is_the_dataclass_defaults() -> None:
    assert Config.from_dict({}, source="<defaults>") == Config()


def test_each_vendor_block_with_only_its_required_keys_is_the_dataclass_defaults() -> None:
    blocks = {
        "volcengine": {"app_key": "${K1}", "access_key": "${K2}"},
        "zyun": {"api_key": "${K1}"},
        "huawei": {"project_id": "p1", "token": "${K1}"},
    }
    parsed = Config.from_dict({"recognizer": blocks}, env=ENV).recognizer
    one, two = Secret("${K1}", "sentinel-one"), Secret("${K2}", "sentinel-two")
    assert parsed.volcengine == VolcengineConfig(app_key=one, access_key=two)
    assert parsed.zyun == ZyunConfig(api_key=one)
    assert parsed.huawei == HuaweiConfig(project_id="p1", token=one)
