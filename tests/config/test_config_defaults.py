"""A default is written once, on the dataclass field; the parsers take it from there (``cls.port``).

Two checks keep it so. Parsing: a section parsed from nothing equals the section built from nothing, so
a default edited in the parser and not the dataclass (or back) fails. Covered: every section present in
``Config()``, the three cloud vendor blocks, the two handler connection blocks, each handler family and
a secret header, each with only its required keys. Source: no parser passes a reader a constant equal to
its field's default (``node.integer("port", 1883)`` beside ``port: int = 1883``), so the duplication
itself cannot come back: the parsing check sees two copies only once they disagree.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import assistantd.config
from assistantd.config import Config, handler_specs, recognizer
from assistantd.config.handler_specs import (
    ExecSpec,
    HomeAssistantSpec,
    HttpSpec,
    MqttSpec,
    SaySpec,
    SecretHeader,
)
from assistantd.config.handlers import Binding, HomeAssistantConnection, MqttConnection
from assistantd.config.huawei import HuaweiConfig
from assistantd.config.secret import Secret
from assistantd.config.template import JsonTemplate, Template
from assistantd.config.volcengine import VolcengineConfig, ZyunConfig
from assistantd.config.wyoming import WyomingConfig

ENV = {"K1": "sentinel-one", "K2": "sentinel-two"}
ONE, TWO = Secret("${K1}", "sentinel-one"), Secret("${K2}", "sentinel-two")


def test_an_empty_config_is_the_dataclass_defaults() -> None:
    assert Config.from_dict({}, source="<defaults>") == Config()


def test_each_vendor_block_with_only_its_required_keys_is_the_dataclass_defaults() -> None:
    blocks = {
        "volcengine": {"app_key": "${K1}", "access_key": "${K2}"},
        "zyun": {"api_key": "${K1}"},
        "huawei": {"project_id": "p1", "token": "${K1}"},
        "wyoming": {"url": "tcp://127.0.0.1:10300"},
    }
    parsed = Config.from_dict({"recognizer": blocks}, env=ENV).recognizer
    assert parsed.volcengine == VolcengineConfig(app_key=ONE, access_key=TWO)
    assert parsed.zyun == ZyunConfig(api_key=ONE)
    assert parsed.huawei == HuaweiConfig(project_id="p1", token=ONE)
    assert parsed.wyoming == WyomingConfig(url="tcp://127.0.0.1:10300")


def test_each_handler_block_with_only_its_required_keys_is_the_dataclass_defaults() -> None:
    section = {
        "mqtt": {"host": "broker"},
        "homeassistant": {"url": "http://ha:8123", "token": "${K1}"},
        "bindings": [
            {"intent": "A", "exec": {"argv": ["/bin/true"]}},
            {"intent": "A", "http": {"url": "http://hook/x"}},
            {"intent": "A", "http": {"url": "http://hook/y", "headers": {"X-Key": {"secret": "${K2}"}}}},
            {"intent": "A", "mqtt": {"topic": "t/x"}},
            {"intent": "A", "say": {"text": "hi"}},
            {"intent": "A", "homeassistant": {"domain": "light", "service": "turn_on"}},
        ],
    }
    parsed = Config.from_dict({"handlers": section}, env=ENV).handlers
    assert parsed.mqtt == MqttConnection(host="broker")
    assert parsed.homeassistant == HomeAssistantConnection(url="http://ha:8123", token=ONE)
    # mqtt payload and homeassistant data are required fields whose parser supplies "" and {}.
    expected = (
        ExecSpec(argv=(Template.parse("/bin/true"),)),
        HttpSpec(url=Template.parse("http://hook/x")),
        HttpSpec(url=Template.parse("http://hook/y"), headers=(("X-Key", SecretHeader(TWO)),)),
        MqttSpec(topic=Template.parse("t/x"), payload=JsonTemplate.parse("")),
        SaySpec(text=Template.parse("hi")),
        HomeAssistantSpec(domain="light", service="turn_on", data=JsonTemplate.parse({})),
    )
    assert parsed.bindings == tuple(Binding("A", spec) for spec in expected)


# -- the source check -------------------------------------------------------------------------------

MODULES = tuple(
    importlib.import_module(f"assistantd.config.{info.name}")
    for info in pkgutil.iter_modules(assistantd.config.__path__)
)
READERS = {"raw", "text", "integer", "number", "flag", "str_list", "str_map", "secret"}


def _same(a: object, b: object) -> bool:
    """Equal, and both or neither a bool (``False == 0`` is a different default)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _constants(expr: ast.expr, module: ModuleType) -> Iterator[object]:
    """The values a reader's default argument spells out: every literal and every module constant in
    it, whole or inside an expression (``min(200, hangover_ms)``); locals and ``cls.x`` spell none."""
    for sub in ast.walk(expr):
        if isinstance(sub, ast.Name):
            value = vars(module).get(sub.id, len)
            if not callable(value) and not isinstance(value, ModuleType):
                yield value
            continue
        try:
            yield ast.literal_eval(sub)
        except (ValueError, TypeError, SyntaxError):
            continue


def _built(func: ast.FunctionDef, owner: str | None, classes: dict[str, type]) -> list[type]:
    """The dataclasses a parser builds: its own class (``from_node``), its return annotation, and
    any dataclass it calls by name."""
    names: set[str] = set()
    if owner is not None and func.name == "from_node":
        names.add(owner)
    if isinstance(func.returns, ast.Name):
        names.add(func.returns.id)
    elif isinstance(func.returns, ast.Constant):
        names.add(str(func.returns.value))
    for sub in ast.walk(func):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
            names.add(sub.func.id)
    return [classes[n] for n in sorted(names) if n in classes]


def repeated_defaults(module: ModuleType, source: str) -> tuple[list[str], int]:
    """Reader calls whose default repeats the field's (``file:line key``), and how many calls were
    checked (so a check that finds no readers at all cannot pass)."""
    classes = {
        name: cls
        for name, cls in vars(module).items()
        if inspect.isclass(cls) and dataclasses.is_dataclass(cls)
    }
    found: list[str] = []
    checked = 0
    tree = ast.parse(source)
    owners = {
        id(item): cls.name for cls in ast.walk(tree) if isinstance(cls, ast.ClassDef) for item in cls.body
    }
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef):
            continue
        built = _built(func, owners.get(id(func)), classes)
        defaults = {
            f.name: f.default
            for cls in built
            for f in dataclasses.fields(cls)
            if f.default is not dataclasses.MISSING
        }
        for call in ast.walk(func):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in READERS
                and len(call.args) >= 2
                and isinstance(call.args[0], ast.Constant)
                and call.args[0].value in defaults
            ):
                continue
            checked += 1
            key = call.args[0].value
            if any(_same(v, defaults[key]) for v in _constants(call.args[1], module)):
                found.append(f"{module.__name__}:{call.lineno} {key}")
    return found, checked


def test_no_parser_repeats_a_field_default() -> None:
    found: list[str] = []
    checked = 0
    for module in MODULES:
        source = Path(inspect.getfile(module)).read_text(encoding="utf-8")
        repeated, count = repeated_defaults(module, source)
        found += repeated
        checked += count
    assert checked > 90  # every reader with a default in the sections above was looked at
    assert found == []


def test_the_source_check_finds_a_repeated_default() -> None:
    """The check itself: a literal, a module constant and a literal inside an expression are found;
    the class attribute is not."""
    source = inspect.getsource(recognizer).replace(
        'node.integer("packet_ms", cls.packet_ms,', 'node.integer("packet_ms", 160,'
    )
    source = source.replace('node.integer("retries", cls.retries,', 'node.integer("retries", max(1, 0),')
    source = source.replace('node.raw("fallback", cls.fallback)', 'node.raw("fallback", "local")')
    repeated, _ = repeated_defaults(recognizer, source)
    assert [r.split(" ")[1] for r in repeated] == ["packet_ms", "retries", "fallback"]
    specs = inspect.getsource(handler_specs).replace("MqttSpec.qos,", "0,")
    specs = specs.replace('sub.raw("prefix", SecretHeader.prefix)', 'sub.raw("prefix", "")')
    repeated, _ = repeated_defaults(handler_specs, specs)
    assert sorted(r.split(" ")[1] for r in repeated) == ["prefix", "qos"]
