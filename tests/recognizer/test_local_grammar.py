"""build_grammar on inline hassil YAML: the grammar says exactly the sentences the templates say."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pocketsphinx
import pytest
import yaml
from hassil import Intents
from hassil.sample import sample_intents

from assistantd.errors import ConfigError
from assistantd.recognizer.grammar import Grammar, build_grammar, build_grammar_from_dict
from assistantd.recognizer.grammar_cache import GrammarCache, grammar_key, read_dictionary_words
from assistantd.recognizer.spoken import spoken_words

from .jsgf_sentences import sentences

DICTIONARY_PATH = Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))
SAMPLE = Path(__file__).with_name("commands_en.yaml")


@pytest.fixture(scope="module")
def dictionary() -> frozenset[str]:
    return read_dictionary_words(DICTIONARY_PATH)


def grammar_of(text: str, dictionary: frozenset[str]) -> Grammar:
    return build_grammar_from_dict(yaml.safe_load(text), dictionary)


def test_alternatives_optionals_and_glued_suffix(dictionary: frozenset[str]) -> None:
    g = grammar_of(
        """
language: en
intents:
  TurnOn:
    data:
      - sentences: ["(turn | switch) on [the] light[s]"]
""",
        dictionary,
    )
    assert g.sentences == 1
    assert g.missing == {}
    assert sentences(g.jsgf) == {
        f"{verb} on{the} {light}"
        for verb in ("turn", "switch")
        for the in ("", " the")
        for light in ("light", "lights")
    }


def test_lists_with_in_out_values_and_templates(dictionary: frozenset[str]) -> None:
    g = grammar_of(
        """
language: en
intents:
  Open:
    data:
      - sentences: ["open the {door}"]
lists:
  door:
    values:
      - garage
      - in: "front (door | entrance)"
        out: front_door
""",
        dictionary,
    )
    # The spoken side (in) is in the grammar; the out value is the matcher's business.
    assert sentences(g.jsgf) == {"open the garage", "open the front door", "open the front entrance"}
    assert "front_door" not in g.jsgf


def test_ranges_become_number_words(dictionary: frozenset[str]) -> None:
    g = grammar_of(
        """
language: en
intents:
  Volume:
    data:
      - sentences: ["volume {level}", "channel {0..3:channel}", "station {station}"]
lists:
  level:
    range: {from: 90, to: 100, step: 5}
""",
        dictionary,
    )
    assert sentences(g.jsgf) == {
        "volume ninety",
        "volume ninety five",
        "volume one hundred",
        "channel zero",
        "channel one",
        "channel two",
        "channel three",
    }
    assert g.dropped == (("Volume", "station {station}", "undefined list {station}"),)


def test_rules_and_permutations(dictionary: frozenset[str]) -> None:
    g = grammar_of(
        """
language: en
intents:
  Play:
    data:
      - sentences: ["<play> jazz;in the kitchen"]
expansion_rules:
  play: "(play | put on)"
""",
        dictionary,
    )
    assert sentences(g.jsgf) == {
        "play jazz in the kitchen",
        "put on jazz in the kitchen",
        "in the kitchen play jazz",
        "in the kitchen put on jazz",
    }
    assert "<rule_play>" in g.jsgf  # written once, referenced


def test_digits_and_symbols_in_templates_are_spoken(dictionary: frozenset[str]) -> None:
    g = grammar_of(
        """
language: en
intents:
  Dim:
    data:
      - sentences: ["dim to 5%", "what's up?"]
""",
        dictionary,
    )
    assert sentences(g.jsgf) == {"dim to five percent", "what's up"}


def test_missing_words_are_reported_per_intent_and_only_their_paths_dropped(
    dictionary: frozenset[str],
) -> None:
    g = grammar_of(
        """
language: en
intents:
  Greet:
    data:
      - sentences: ["hello {name}", "hi zorblax", "good (morning | flurbday)"]
  Ask:
    data:
      - sentences: ["ask {name} [nicely]"]
  Fine:
    data:
      - sentences: ["thank you"]
lists:
  name:
    values: [anna, "bob grumplefizz"]
""",
        dictionary,
    )
    assert g.missing == {
        "Greet": frozenset({"zorblax", "flurbday", "grumplefizz"}),
        "Ask": frozenset({"grumplefizz"}),
    }
    assert sentences(g.jsgf) == {"hello anna", "good morning", "ask anna", "ask anna nicely", "thank you"}
    assert ("Greet", "hi zorblax", "missing words: zorblax") in g.dropped
    assert g.sentences == 4


def test_wildcard_sentences_are_dropped_and_said_why(dictionary: frozenset[str]) -> None:
    g = grammar_of(
        """
language: en
intents:
  Remind:
    data:
      - sentences: ["remind me to {task}", "remind me [later]"]
lists:
  task:
    wildcard: true
""",
        dictionary,
    )
    assert sentences(g.jsgf) == {"remind me", "remind me later"}
    assert g.dropped == (("Remind", "remind me to {task}", "wildcard {task}"),)


def test_nothing_sayable_gives_an_empty_grammar(dictionary: frozenset[str]) -> None:
    g = grammar_of("language: en\nintents:\n  X:\n    data:\n      - sentences: ['zorblax']\n", dictionary)
    assert (g.jsgf, g.sentences) == ("", 0)


def test_other_languages_are_skipped(tmp_path: Path, dictionary: frozenset[str]) -> None:
    (tmp_path / "en.yaml").write_text(
        "language: en\nintents:\n  Stop:\n    data:\n      - sentences: ['stop']\n", encoding="utf-8"
    )
    (tmp_path / "zh.yaml").write_text(
        "language: zh\nsettings: {ignore_whitespace: true}\nintents:\n"
        "  Stop:\n    data:\n      - sentences: ['停止']\n",
        encoding="utf-8",
    )
    g = build_grammar(sorted(tmp_path.glob("*.yaml")), dictionary)
    assert sentences(g.jsgf) == {"stop"}


def test_sample_file_matches_hassil_and_pocketsphinx_accepts_it(dictionary: frozenset[str]) -> None:
    """Cross-check against hassil's own sampler, and that pocketsphinx compiles the same language."""
    g = build_grammar([SAMPLE], dictionary)
    with SAMPLE.open(encoding="utf-8") as yaml_file:
        intents = Intents.from_yaml(yaml_file)
    expected = {" ".join(spoken_words(text)) for _, text in sample_intents(intents, language="en")}
    ours = sentences(g.jsgf)
    assert ours == expected
    assert g.missing == {} and g.dropped == ()

    decoder = pocketsphinx.Decoder(lm=None, loglevel="ERROR")
    fsg = decoder.parse_jsgf(g.jsgf)
    for sentence in sorted(ours)[::50]:
        assert fsg.accept(sentence), sentence
    assert not fsg.accept("turn on the garage light")
    assert not fsg.accept("set the temperature to forty degrees")


def test_grammar_cache_hits_then_rebuilds_on_change(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    intents = tmp_path / "en.yaml"
    intents.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    cache = GrammarCache(tmp_path / "cache")

    first = cache.get_or_build([intents], DICTIONARY_PATH, "en")
    second = cache.get_or_build([intents], DICTIONARY_PATH, "en")
    assert (cache.builds, cache.hits) == (1, 1)
    assert second == first

    intents.write_text(intents.read_text(encoding="utf-8").replace("jazz", "blues"), encoding="utf-8")
    third = cache.get_or_build([intents], DICTIONARY_PATH, "en")
    assert (cache.builds, cache.hits) == (2, 1)
    assert "blues" in third.jsgf and "jazz" not in third.jsgf

    # A damaged entry is rebuilt, with a warning, not trusted.
    for entry in (tmp_path / "cache").glob("grammar-*.json"):
        entry.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        fourth = cache.get_or_build([intents], DICTIONARY_PATH, "en")
    assert fourth == third and cache.builds == 3
    assert "unreadable" in caplog.text
    entry = tmp_path / "cache" / f"grammar-{grammar_key([intents], DICTIONARY_PATH, 'en')}.json"
    stored = json.loads(entry.read_text(encoding="utf-8"))
    assert stored["sentences"] == third.sentences


def test_a_malformed_intents_file_is_named(tmp_path: Path, dictionary: frozenset[str]) -> None:
    bad = tmp_path / "en.yaml"
    bad.write_text("language: en\nintents:\n  Stop:\n    sentences: ['stop']\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        build_grammar([bad], dictionary)
    assert str(info.value).startswith(f"{bad}: expected hassil intents")
