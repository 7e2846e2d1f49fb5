"""Every template feature, in English and in Chinese, through the real hassil matcher."""

from __future__ import annotations

import pytest

from tests.intents.conftest import MakeMatcher

EN = """
language: en
intents:
  LightOn:
    data:
      - sentences:
          - "(turn|switch) on <area_lights>"
          - "turn on (the lights;in [the] {area})"
  TimerStart:
    data:
      - sentences:
          - "set [a] timer for {minutes} minute[s]"
          - "set [a] timer for {seconds} second[s]"
  VolumeSet:
    data:
      - sentences: ["set [the] volume to {percent} [percent]"]
        slots: {device: speaker}
  PlayArtist:
    data:
      - sentences: ["play [some] music by {artist}"]
  QueueAlbum:
    data:
      # the shorter template first: the wildcard ordering must still try the longer one before it
      - sentences: ["queue {album} by {artist}", "queue {album} by {artist} in [the] {area}"]
        lists:
          album: {wildcard: true}
  LightNumbered:
    data:
      - sentences: ["turn on light {which}"]
        lists:
          which:
            values: [{in: one, out: 1}, {in: two, out: 2}]
lists:
  area:
    values:
      - {in: kitchen, out: kitchen}
      - {in: living room, out: living_room}
      - {in: "(bathroom|washroom)", out: bathroom}
      - bedroom
  minutes: {range: {from: 1, to: 120}}
  seconds: {range: {from: 1, to: 300}}
  percent: {range: {from: 0, to: 100}}
  artist: {wildcard: true}
expansion_rules:
  area_lights: "[the] [{area}] light[s]"
skip_words: [please, could you]
"""

ZH = """
language: zh
settings: {ignore_whitespace: true}
intents:
  LightOn:
    data:
      - sentences:
          - "(打开|开)[一下]<area_lights>"
          - "(打开;{area}的灯)"
  TimerStart:
    data:
      - sentences:
          - "(设置|定)[一个]{minutes}分钟[的]计时器"
          - "(设置|定)[一个]{seconds}秒[钟][的]计时器"
  VolumeSet:
    data:
      - sentences: ["[把]音量调到[百分之]{percent}"]
        slots: {device: speaker}
  PlayArtist:
    data:
      - sentences: ["播放{artist}的歌"]
lists:
  area:
    values:
      - {in: 厨房, out: kitchen}
      - {in: 客厅, out: living_room}
      - {in: "(卫生间|浴室)", out: bathroom}
  minutes: {range: {from: 1, to: 120}}
  seconds: {range: {from: 1, to: 300}}
  percent: {range: {from: 0, to: 100}}
  artist: {wildcard: true}
expansion_rules:
  area_lights: "[{area}][的]灯"
skip_words: [请, 帮我]
"""

CASES = [
    # alternatives, optionals, expansion rules, list with in/out values
    ("turn on the kitchen lights", "LightOn", {"area": "kitchen"}),
    ("Switch on living room light", "LightOn", {"area": "living_room"}),
    ("turn on the lights", "LightOn", {}),
    # a list value that is itself a template; a plain string value is its own output
    ("turn on the washroom light", "LightOn", {"area": "bathroom"}),
    ("turn on the bedroom light", "LightOn", {"area": "bedroom"}),
    # permutation, both orders
    ("turn on the lights in the kitchen", "LightOn", {"area": "kitchen"}),
    ("turn on in the kitchen the lights", "LightOn", {"area": "kitchen"}),
    # number ranges as digits and as words
    ("set a timer for 5 minutes", "TimerStart", {"minutes": 5}),
    ("set a timer for five minutes", "TimerStart", {"minutes": 5}),
    ("set timer for twenty-five minutes", "TimerStart", {"minutes": 25}),
    ("set a timer for 90 seconds", "TimerStart", {"seconds": 90}),
    # fixed slots, optional word, "%" spelled out by normalisation
    ("Set the volume to 40%.", "VolumeSet", {"percent": 40, "device": "speaker"}),
    ("set volume to forty", "VolumeSet", {"percent": 40, "device": "speaker"}),
    # wildcard
    ("play some music by The Beatles", "PlayArtist", {"artist": "the beatles"}),
    # two wildcards; the template with more literal text is tried first, so the room is not swallowed
    (
        "queue abbey road by the beatles in the kitchen",
        "QueueAlbum",
        {"album": "abbey road", "artist": "the beatles", "area": "kitchen"},
    ),
    ("queue abbey road by the beatles", "QueueAlbum", {"album": "abbey road", "artist": "the beatles"}),
    # skip words
    ("Could you turn on the kitchen light, please?", "LightOn", {"area": "kitchen"}),
    # a literal number word in a list value matches the recognizer's digits (number variant)
    ("turn on light 2", "LightNumbered", {"which": 2}),
    ("turn on light two", "LightNumbered", {"which": 2}),
    # Chinese: alternatives, optionals, rules, lists, permutation
    ("打开客厅的灯", "LightOn", {"area": "living_room"}),
    ("开一下厨房灯", "LightOn", {"area": "kitchen"}),
    ("打开灯", "LightOn", {}),
    ("打开浴室的灯", "LightOn", {"area": "bathroom"}),
    ("客厅的灯打开", "LightOn", {"area": "living_room"}),
    # Chinese numbers: 五, 5, full-width ５, 二十五, 两; full-width punctuation; stray spaces
    ("设置五分钟的计时器", "TimerStart", {"minutes": 5}),
    ("设置５分钟的计时器。", "TimerStart", {"minutes": 5}),
    ("设置 5 分钟计时器", "TimerStart", {"minutes": 5}),
    ("定一个二十五分钟的计时器！", "TimerStart", {"minutes": 25}),
    ("设置两分钟计时器", "TimerStart", {"minutes": 2}),
    ("设置九十秒钟的计时器", "TimerStart", {"seconds": 90}),
    # fixed slots; ITN "50%" against a template written with 百分之
    ("把音量调到百分之五十", "VolumeSet", {"percent": 50, "device": "speaker"}),
    ("音量调到50%", "VolumeSet", {"percent": 50, "device": "speaker"}),
    # wildcard and skip words
    ("播放周杰伦的歌", "PlayArtist", {"artist": "周杰伦"}),
    ("请帮我打开厨房的灯，", "LightOn", {"area": "kitchen"}),
]


@pytest.mark.parametrize(("text", "intent", "slots"), CASES)
def test_exact_match(make_matcher: MakeMatcher, text: str, intent: str, slots: dict[str, object]) -> None:
    match = make_matcher(EN, ZH).match(text)
    assert match is not None
    assert (match.intent, match.slots, match.method, match.score) == (intent, slots, "exact", 100.0)
    assert match.text == text
    assert match.language == ("zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en")


@pytest.mark.parametrize("text", ["hello there", "turn off the kitchen lights", "你好", "关闭客厅的灯"])
def test_no_match(make_matcher: MakeMatcher, text: str) -> None:
    assert make_matcher(EN, ZH, threshold=95).match(text) is None


def test_languages_stay_apart(make_matcher: MakeMatcher) -> None:
    matcher = make_matcher(EN, ZH, threshold=95)
    # Text with Chinese characters only meets Chinese templates, whatever English words it holds ...
    mixed = matcher.match("播放 The Beatles 的歌")
    assert mixed is not None
    assert (mixed.language, mixed.intent, mixed.slots) == ("zh", "PlayArtist", {"artist": "the beatles"})
    # ... so the English wildcard template never sees it,
    assert matcher.match("play some music by 周杰伦") is None
    # and English text never reaches a Chinese-only matcher.
    assert make_matcher(ZH).match("turn on the kitchen lights") is None


def test_fuzzy_number_out_of_range_is_refused(make_matcher: MakeMatcher) -> None:
    # "500 minutes" is as close as can be to the sample "set a timer for # minutes", but the range
    # stops at 120, so slot recovery fails and the match is refused rather than returned without slots.
    matcher = make_matcher(EN, ZH, threshold=50)
    assert matcher.match("set a timer for 500 minutes") is None
    assert matcher.match("设置五百分钟的计时器") is None


def test_normalized_text_is_reported(make_matcher: MakeMatcher) -> None:
    match = make_matcher(EN).match("  Turn ON the KITCHEN lights!! ")
    assert match is not None
    assert match.normalized == "turn on the kitchen lights"
    assert match.to_dict()["normalized"] == "turn on the kitchen lights"


def test_files_of_one_language_share_lists(make_matcher: MakeMatcher) -> None:
    lists_only = "language: en\nintents: {}\nlists:\n  room: {values: [attic]}\n"
    uses_it = 'language: en\nintents:\n  Clean: {data: [{sentences: ["clean the {room}"]}]}\n'
    match = make_matcher(lists_only, uses_it).match("clean the attic")
    assert match is not None and match.slots == {"room": "attic"}


@pytest.mark.parametrize("text", ["", "   ", "?!", "。，！"])
def test_empty_or_punctuation_only_text_matches_nothing(make_matcher: MakeMatcher, text: str) -> None:
    assert make_matcher(EN, ZH, threshold=0).match(text) is None
