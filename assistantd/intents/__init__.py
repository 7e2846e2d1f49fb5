"""Intents: YAML templates in hassil syntax -> normalised, exact-or-fuzzy matches.

``load_matcher(config)`` (loader.py) reads the files; ``Matcher.match(text)`` (matcher.py) is pure.
"""

from assistantd.intents.matcher import IntentMatch, LanguageModel, Matcher

__all__ = ["IntentMatch", "LanguageModel", "Matcher"]
