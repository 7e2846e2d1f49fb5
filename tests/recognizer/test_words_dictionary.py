"""The decoder loads a dictionary of the grammar's words only, cached beside the grammar."""

from __future__ import annotations

from pathlib import Path

import pocketsphinx
import pytest

from assistantd.config.local import LocalRecognizerConfig
from assistantd.recognizer.grammar_cache import GrammarCache
from assistantd.recognizer.local import LocalRecognizer

from .speech import chunks, have_flite, noisy_command

DICTIONARY_PATH = Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))
SAMPLE = Path(__file__).with_name("commands_en.yaml")


def test_a_words_dictionary_keeps_every_pronunciation_of_its_words(tmp_path: Path) -> None:
    cache = GrammarCache(tmp_path)
    path = cache.words_dictionary(frozenset({"the", "kitchen", "lights"}), DICTIONARY_PATH)
    lines = path.read_text(encoding="utf-8").splitlines()
    heads = [line.split()[0] for line in lines]
    assert sorted(heads) == ["kitchen", "lights", "the", "the(2)"]
    assert path.parent == tmp_path and path.name.startswith("words-")
    # The same words again: the same file, not written twice.
    mtime = path.stat().st_mtime_ns
    assert cache.words_dictionary(frozenset({"lights", "kitchen", "the"}), DICTIONARY_PATH) == path
    assert path.read_text(encoding="utf-8").splitlines() == lines
    assert path.stat().st_mtime_ns >= mtime


def test_an_unwritable_cache_loads_the_whole_dictionary(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    cache = GrammarCache(blocker / "cache")
    assert cache.words_dictionary(frozenset({"the"}), DICTIONARY_PATH) == DICTIONARY_PATH
    assert "loading the whole dictionary" in caplog.text


@pytest.mark.slow
@pytest.mark.skipif(not have_flite(), reason="flite is needed to synthesize speech")
async def test_the_decoder_holds_only_the_grammar_words_and_gains_a_reloads_new_ones(tmp_path: Path) -> None:
    intents = tmp_path / "en.yaml"
    intents.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    rec = LocalRecognizer(LocalRecognizerConfig(cache_dir=str(tmp_path / "cache")), [intents])
    try:
        await rec.start()
        lookup = rec.thread.call
        assert await lookup(lambda d: d.lookup_word("kitchen")) is not None
        assert await lookup(lambda d: d.lookup_word("zebra")) is None  # in cmudict, not in the grammar
        assert await lookup(lambda d: d.lookup_word("blues")) is None
        assert list((tmp_path / "cache").glob("words-*.dict"))

        intents.write_text(
            intents.read_text(encoding="utf-8").replace("values: [jazz,", "values: [blues, jazz,"),
            encoding="utf-8",
        )
        await rec.reload()
        assert await lookup(lambda d: d.lookup_word("blues")) is not None
        audio = noisy_command("play blues music in the kitchen", "kal16", tmp_path)
        assert (await rec.transcribe(chunks(audio))).text == "play blues music in the kitchen"
    finally:
        rec.close()
