from __future__ import annotations

from pathlib import Path

import pytest

from assistantd.config import load_config
from assistantd.errors import ConfigError
from assistantd.intents.fuzzy import NUMBER_MARK
from assistantd.intents.loader import load_intent_files, load_matcher

REPO = Path(__file__).resolve().parents[2]

GOOD_INTENT = """
  TurnOn:
    data:
      - sentences:
          - "turn on [the] {area} light"
          - "switch on [the] {area} light"
          - "{sentence_three}"
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> ConfigError:
    path = _write(tmp_path, "bad.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_intent_files([path])
    assert caught.value.source == str(path)
    return caught.value


LISTS = "lists:\n  area: {values: [kitchen]}\n"


def _one(sentence: str) -> str:
    """An English file with one intent T of one sentence; append lists or rules to it."""
    return f'language: en\nintents:\n  T: {{data: [{{sentences: ["{sentence}"]}}]}}\n'


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        (
            "language: en\nintents:\n  TurnOn:\n    data:\n      - sentences:\n"
            '          - "turn on"\n          - "switch on"\n          - "turn (on the light"\n' + LISTS,
            "intents.TurnOn.data[0].sentences[2]",
            "valid template",
        ),
        (
            'language: en\nintents:\n  TurnOn:\n    data:\n      - sentences: ["turn on the {room}"]\n'
            + LISTS,
            "intents.TurnOn.data[0].sentences[0]",
            "defined list (known lists: area)",
        ),
        (
            'language: en\nintents:\n  TurnOn:\n    data:\n      - sentences: ["<polite> turn on"]\n',
            "intents.TurnOn.data[0].sentences[0]",
            "defined expansion rule",
        ),
        (
            'language: en\nintents:\n  TurnOn:\n    data:\n      - sentence: ["turn on"]\n',
            "intents.TurnOn.data[0].sentences",
            "expected this key to be set",
        ),
        (
            'language: en\nintents:\n  TurnOn:\n    data:\n      - {sentences: ["on"], slotz: {a: 1}}\n',
            "intents.TurnOn.data[0].slotz",
            "known key",
        ),
        ('intents:\n  TurnOn:\n    data: [{sentences: ["on"]}]\n', "language", "to be set"),
        ("language: english!\nintents: {}\n", "language", "language code"),
        ("language: en\n", "intents", "expected a mapping of intent names"),
        (
            _one("{n}") + "lists:\n  n: {range: {from: 9, to: 1}}\n",
            "lists.n.range.to",
            ">= from",
        ),
        (
            _one("{n}") + "lists:\n  n: {values: [a], wildcard: true}\n",
            "lists.n",
            "exactly one of values, range or wildcard",
        ),
        (
            _one("<a>") + 'expansion_rules: {a: "x <b>", b: "<a>"}\n',
            "expansion_rules.a",
            "do not refer to themselves",
        ),
        (
            'language: en\nintents:\n  T: {data: [{sentences: ["x"], slots: {n: [1, 2]}}]}\n',
            "intents.T.data[0].slots.n",
            "string or a number",
        ),
        (
            _one("{c}") + 'lists:\n  c: {values: [{in: "(a|b"}]}\n',
            "lists.c.values[0].in",
            "valid template",
        ),
        (
            'language: en\nintents:\n  T:\n    data:\n      - sentences: ["{c}"]\n'
            '        lists: {c: {values: [{in: "<nope> x", out: 1}]}}\n',
            "intents.T.data[0].lists.c.values[0].in",
            "defined expansion rule",
        ),
        (
            _one("{c}") + 'lists:\n  c: {values: ["(a|b)"]}\n',
            "lists.c.values[0]",
            "a template value needs an 'out'",
        ),
    ],
)
def test_errors_name_file_key_path_and_expectation(
    tmp_path: Path, text: str, path: str, expected: str
) -> None:
    err = _error(tmp_path, text)
    assert err.path == path
    assert expected in err.expected
    assert str(err).startswith(f"{tmp_path / 'bad.yaml'}: {path}: ")


def test_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    err = _error(tmp_path, "language: en\nintents:\n  T: [unclosed\n")
    assert err.expected == "expected valid YAML"
    assert err.got is not None and "line" in err.got


def test_a_list_defined_in_two_files_of_one_language(tmp_path: Path) -> None:
    one = _write(tmp_path, "one.yaml", "language: en\nintents: {}\nlists: {area: {values: [a]}}\n")
    two = _write(tmp_path, "two.yaml", "language: en\nintents: {}\nlists: {area: {values: [b]}}\n")
    with pytest.raises(ConfigError) as caught:
        load_intent_files([one, two])
    assert (caught.value.source, caught.value.path) == (str(two), "lists.area")
    assert str(one) in caught.value.expected


def test_config_globs_resolve_against_the_config_dir(tmp_path: Path) -> None:
    (tmp_path / "intents").mkdir()
    _write(tmp_path / "intents", "a.yaml", 'language: en\nintents: {Hi: {data: [{sentences: ["hello"]}]}}\n')
    config = _write(tmp_path, "assistant.yaml", "intents:\n  files: [intents/*.yaml]\n")
    matcher = load_matcher(load_config(config))
    assert matcher.match("Hello!") is not None


def test_a_pattern_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    config = _write(tmp_path, "assistant.yaml", "intents:\n  files: [nowhere/*.yaml]\n")
    with pytest.raises(ConfigError) as caught:
        load_matcher(load_config(config))
    assert (caught.value.source, caught.value.path) == (str(config), "intents.files[0]")


def test_the_shipped_example_intents_load_and_match() -> None:
    matcher = load_matcher(load_config(REPO / "config" / "assistant.yaml"))
    assert {lm.language for lm in matcher.languages} == {"en", "zh"}
    assert "WeatherGetCity" in matcher.intent_names()
    examples = {
        "turn off the living room lights": "LightOff",
        "set a timer for ten minutes": "TimerStart",
        "turn the volume down": "VolumeDown",
        "set the volume to 30 percent": "VolumeSet",
        "pause the music": "MusicPause",
        "what time is it": "TimeGet",
        "what's the weather like in berlin today": "WeatherGetCity",
        "关掉卧室的灯": "LightOff",
        "三十秒后": "",
        "音量小一点": "VolumeDown",
        "现在几点了": "TimeGet",
        "上海今天的天气怎么样": "WeatherGetCity",
    }
    for text, intent in examples.items():
        match = matcher.match(text)
        assert (match.intent if match else "") == intent, text


def test_every_sample_of_the_shipped_intents_matches_its_own_intent_exactly() -> None:
    # Guards the example files against templates that shadow each other across intents.
    matcher = load_matcher(load_config(REPO / "config" / "assistant.yaml"))
    wrong = []
    for lm in matcher.languages:
        assert len(lm.samples) > 100
        for sample in lm.samples:
            text = sample.text.replace(NUMBER_MARK, "5")
            match = matcher.match(text)
            if match is None or (match.intent, match.method) != (sample.intent, "exact"):
                wrong.append((text, sample.intent, match))
    assert wrong == []
