"""Properties over arbitrary input: bad templates are ConfigErrors, never crashes; matching never raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistantd.errors import ConfigError
from assistantd.intents.loader import build_matcher
from assistantd.intents.normalize import normalize_text
from assistantd.intents.schema import parse_intent_file

TEMPLATE_TEXT = st.text(alphabet="ab {}<>[]()|;:\\?,。灯开五5%'-", max_size=20)
INPUT_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(TEMPLATE_TEXT, st.sampled_from(["en", "zh"]))
def test_any_template_loads_or_is_a_config_error(template: str, language: str) -> None:
    data = {
        "language": language,
        "intents": {"T": {"data": [{"sentences": [template]}]}},
        "lists": {"a": {"values": ["x"]}, "b": {"range": {"from": 1, "to": 3}}},
        "expansion_rules": {"a": "y"},
    }
    try:
        matcher = build_matcher([parse_intent_file(data, "p.yaml")], fuzzy_threshold=50)
    except ConfigError as err:
        assert err.source == "p.yaml"
        assert err.path.startswith("intents.T.data[0].sentences[0]")
        return
    matcher.match(template)


@settings(max_examples=200, deadline=None)
@given(INPUT_TEXT)
def test_normalisation_is_idempotent(text: str) -> None:
    for language in ("en", "zh"):
        once = normalize_text(text, language)
        assert normalize_text(once, language) == once
