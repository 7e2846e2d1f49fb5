"""One intent file (already parsed YAML) -> checked hassil objects; files of a language -> one model (pure).

The file format is hassil's (``language``, ``settings``, ``intents.NAME.data[].sentences``, ``lists``,
``expansion_rules``, ``skip_words``), checked strictly with the config reader's ``Node`` so every
mistake is a ConfigError naming the intent file, the key path (``intents.TurnOn.data[0].sentences[2]``)
and what was expected. Templates are parsed here, at load time, after ``normalize_template`` has given
their literal text the same treatment the input gets (see normalize.py).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from hassil import (
    Expression,
    Group,
    Intents,
    IntentsSettings,
    ListReference,
    RangeSlotList,
    RuleReference,
    SlotList,
    TextChunk,
    TextSlotList,
    TextSlotValue,
    WildcardSlotList,
    is_template,
    parse_sentence,
)
from hassil.expression import Sentence
from hassil.intents import Intent, IntentData, RangeFractionType, RangeType
from hassil.parser import ParseError

from assistantd.config.reader import Context, Node
from assistantd.config.template import SlotValue
from assistantd.errors import ConfigError
from assistantd.intents.depth import (
    MAX_EXPANDED_DEPTH,
    MAX_TEMPLATE_NESTING,
    ExpandedDepth,
    ReferenceCycleError,
    TooDeepError,
    text_nesting,
)
from assistantd.intents.normalize import normalize_template, normalize_text, primary_language

_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ParsedIntentData(IntentData):
    """hassil's block of sentences, holding the templates as parsed here.

    hassil's own ``IntentData`` parses ``sentence_texts`` again on first use, without
    ``normalize_template`` or the spaceless-language treatment. This subclass hands hassil the
    sentences parsed (and checked) at load time instead, through the documented ``sentences``
    attribute: no hassil internals are touched.
    """

    parsed: list[Sentence] = dataclasses.field(default_factory=list)

    @property
    def sentences(self) -> list[Sentence]:
        return self.parsed


@dataclass(frozen=True)
class TemplateUse:
    """A parsed template and where it came from, kept to check its {list} and <rule> references."""

    source: str
    path: str
    sentence: Sentence
    local_lists: Mapping[str, SlotList] = dataclasses.field(default_factory=dict)
    local_rules: Mapping[str, Sentence] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class IntentFile:
    """One checked intent file."""

    source: str
    language: str
    ignore_whitespace: bool
    intents: Mapping[str, tuple[ParsedIntentData, ...]]
    slot_lists: Mapping[str, SlotList]
    expansion_rules: Mapping[str, Sentence]
    skip_words: tuple[str, ...]
    uses: tuple[TemplateUse, ...]


@dataclass(frozen=True)
class _Lang:
    code: str
    spaceless: bool


def _drop_spaces(expression: Expression) -> Expression:
    """Remove whitespace-only chunks, in place, for languages written without spaces.

    hassil wraps each permutation item in " " chunks so that English words stay apart; with
    ignore_whitespace the input has no spaces left to meet them, so ``(打开;{area}的灯)`` could never
    match. Empty chunks (the empty branch of an optional) are kept.
    """
    if isinstance(expression, Group):
        expression.items = [
            _drop_spaces(item)
            for item in expression.items
            if not (isinstance(item, TextChunk) and item.text and not item.text.strip())
        ]
    return expression


def _parse(node: Node, key: str, template: str, lang: _Lang) -> Sentence:
    if (nesting := text_nesting(template)) > MAX_TEMPLATE_NESTING:
        raise node.error(
            key, f"expected a template nested at most {MAX_TEMPLATE_NESTING} brackets deep", nesting
        )
    try:
        sentence = parse_sentence(normalize_template(template, lang.code), keep_text=True)
        if lang.spaceless:
            _drop_spaces(sentence.expression)
        return sentence
    except (ParseError, AssertionError, ValueError) as err:
        detail = str(err)
        if not detail or detail == "Text is too short":
            detail = "an empty template"
        raise node.error(
            key, "expected a valid template (balanced ( ) [ ] { } < >, alternatives a|b)", detail
        ) from None


def _scalar(node: Node, key: str) -> SlotValue:
    value = node.raw(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise node.error(key, "expected a string or a number", value)
    return value


def _parse_values(node: Node, lang: _Lang) -> TextSlotList:
    raw = node.raw("values")
    if not isinstance(raw, list) or not raw:
        raise node.error("values", "expected a non-empty list of strings or {in, out} mappings", raw)
    values: list[TextSlotValue] = []
    for i, item in enumerate(raw):
        key = f"values[{i}]"
        value_out: SlotValue
        if isinstance(item, str) and item.strip():
            text_in, value_out = item, item
            where = node
        elif isinstance(item, Mapping):
            where = Node(item, node.key_path(key), node.ctx)
            text_in = where.text("in")
            value_out = _scalar(where, "out") if where.has("out") else text_in
            where.finish()
            key = "in"
        else:
            raise node.error(key, "expected a string or a mapping with 'in' and 'out'", item)
        expression: Expression
        if is_template(text_in):
            expression = _parse(where, key, text_in, lang).expression
            if value_out is text_in:
                # The template text itself ("(bathroom|washroom)") would be a useless slot value.
                raise node.error(
                    f"values[{i}]", "expected {in: TEMPLATE, out: VALUE}: a template value needs an 'out'"
                )
        else:
            expression = TextChunk(normalize_text(text_in, lang.code))
        values.append(TextSlotValue(text_in=expression, value_out=value_out))
    return TextSlotList(name=None, values=values)


def _parse_range(node: Node, lang: _Lang) -> RangeSlotList:
    start = node.integer("from")
    stop = node.integer("to")
    if stop < start:
        raise node.error("to", f"expected a value >= from ({start})", stop)
    fractions = node.text("fractions", None, choices=("halves", "tenths"))
    multiplier = node.number("multiplier", None)
    digits = node.flag("digits", True)
    words = node.flag("words", True)
    if not (digits or words):
        raise node.error("words", "expected digits or words (or both) to be true")
    cfg = RangeSlotList(
        name=None,
        start=start,
        stop=stop,
        step=node.integer("step", 1, min=1),
        type=RangeType(node.text("type", "number", choices=tuple(t.value for t in RangeType))),
        fraction_type=RangeFractionType(fractions) if fractions else None,
        multiplier=multiplier,
        digits=digits,
        words=words,
        words_language=node.text("words_language", lang.code),
    )
    node.finish()
    return cfg


def _parse_list(node: Node, name: str, lang: _Lang) -> SlotList:
    kinds = [k for k in ("values", "range", "wildcard") if node.has(k)]
    if len(kinds) != 1:
        raise ConfigError(
            node.ctx.source, node.path, "expected exactly one of values, range or wildcard: true"
        )
    slot_list: SlotList
    if kinds == ["values"]:
        slot_list = _parse_values(node, lang)
    elif kinds == ["range"]:
        slot_list = _parse_range(node.node("range"), lang)
    else:
        if node.raw("wildcard") is not True:
            raise node.error("wildcard", "expected true", node.raw("wildcard"))
        slot_list = WildcardSlotList(name=None)
    node.finish()
    slot_list.name = name
    return slot_list


def _names(node: Node, key: str) -> Iterator[tuple[str, Node]]:
    for name, sub in node.named_nodes(key):
        if not _NAME.match(name):
            raise ConfigError(sub.ctx.source, sub.path, "expected a name of letters, digits, '_', '.' or '-'")
        yield name, sub


def _lists(node: Node, lang: _Lang) -> dict[str, SlotList]:
    return {name: _parse_list(sub, name, lang) for name, sub in _names(node, "lists")}


def _rules(node: Node, lang: _Lang) -> dict[str, Sentence]:
    raw = node.raw("expansion_rules", {})
    if not isinstance(raw, Mapping):
        raise node.error("expansion_rules", "expected a mapping of rule names to templates", raw)
    rules: dict[str, Sentence] = {}
    sub = Node(raw, node.key_path("expansion_rules"), node.ctx)
    for name in sub.keys():  # noqa: SIM118 - Node is not a Mapping
        if not _NAME.match(name):
            raise sub.error(name, "expected a rule name of letters, digits, '_', '.' or '-'")
        rules[name] = _parse(sub, name, sub.text(name), lang)
    return rules


def _slots(node: Node) -> dict[str, SlotValue]:
    sub = node.node("slots")
    slots = {name: _scalar(sub, name) for name in sub.keys()}  # noqa: SIM118
    sub.finish()
    return slots


def _value_uses(
    node: Node, slot_lists: Mapping[str, SlotList], local_rules: Mapping[str, Sentence] | None = None
) -> Iterator[TemplateUse]:
    """List values written as templates may refer to lists and rules too; check them like sentences."""
    for name, slot_list in slot_lists.items():
        if isinstance(slot_list, TextSlotList):
            for i, value in enumerate(slot_list.values):
                if not isinstance(value.text_in, TextChunk):
                    path = node.key_path(f"lists.{name}.values[{i}].in")
                    sentence = Sentence(expression=value.text_in)
                    yield TemplateUse(node.ctx.source, path, sentence, slot_lists, local_rules or {})


def parse_intent_file(data: object, source: str) -> IntentFile:
    """Check one intent file's parsed YAML. Raises ConfigError naming ``source`` and the key path."""
    node = Node(data, "", Context(source))
    language = node.text("language")
    if not _LANGUAGE.match(language):
        raise node.error("language", "expected a language code such as en, zh or zh-CN", language)
    settings = node.node("settings")
    # Chinese, Japanese and Korean are written without spaces; hassil needs ignore_whitespace for them.
    spaceless = primary_language(language) in {"zh", "ja", "ko", "yue"}
    ignore_whitespace = settings.flag("ignore_whitespace", spaceless)
    settings.finish()

    uses: list[TemplateUse] = []
    lang = _Lang(language, ignore_whitespace)
    rules = _rules(node, lang)
    uses.extend(TemplateUse(source, node.key_path(f"expansion_rules.{n}"), s) for n, s in rules.items())
    slot_lists = _lists(node, lang)
    uses.extend(_value_uses(node, slot_lists))
    skip_words = tuple(
        word for word in (normalize_text(w, language) for w in node.str_list("skip_words", ())) if word
    )
    if not node.has("intents"):
        raise node.error("intents", "expected a mapping of intent names to {data: [...]}")
    intents: dict[str, tuple[ParsedIntentData, ...]] = {}
    for intent_name, intent_node in _names(node, "intents"):
        blocks: list[ParsedIntentData] = []
        data_nodes = intent_node.nodes("data")
        if not data_nodes:
            raise intent_node.error("data", "expected a non-empty list of {sentences: [...]} blocks")
        for block in data_nodes:
            texts = block.str_list("sentences")
            if not texts:
                raise block.error("sentences", "expected a non-empty list of templates")
            local_lists = _lists(block, lang)
            local_rules = _rules(block, lang)
            sentences = [_parse(block, f"sentences[{i}]", t, lang) for i, t in enumerate(texts)]
            for i, sentence in enumerate(sentences):
                path = block.key_path(f"sentences[{i}]")
                uses.append(TemplateUse(source, path, sentence, local_lists, local_rules))
            for rule_name, rule in local_rules.items():
                path = block.key_path(f"expansion_rules.{rule_name}")
                uses.append(TemplateUse(source, path, rule, local_lists, local_rules))
            uses.extend(_value_uses(block, local_lists, local_rules))
            data = ParsedIntentData(
                sentence_texts=[s.text or "" for s in sentences],
                slots=_slots(block),
                expansion_rules=local_rules,
                slot_lists=local_lists,
                parsed=sentences,
            )
            blocks.append(data)
            block.finish()
        intent_node.finish()
        intents[intent_name] = tuple(blocks)
    node.finish()
    return IntentFile(
        source, language, ignore_whitespace, intents, slot_lists, rules, skip_words, tuple(uses)
    )


def references(expression: Expression) -> Iterator[Expression]:
    """Every {list} and <rule> reference in an expression (rule bodies are not followed)."""
    if isinstance(expression, ListReference | RuleReference):
        yield expression
    elif isinstance(expression, Group):
        for item in expression.items:
            yield from references(item)


def _check_references(
    use: TemplateUse,
    lists: Mapping[str, SlotList],
    rules: Mapping[str, Sentence],
    depths: dict[tuple[int, int], ExpandedDepth],
) -> None:
    known_rules = {**rules, **use.local_rules}
    for ref in references(use.sentence.expression):
        if (
            isinstance(ref, ListReference)
            and ref.list_name not in lists
            and ref.list_name not in use.local_lists
        ):
            known = ", ".join(sorted({*lists, *use.local_lists})) or "none"
            raise ConfigError(
                use.source,
                use.path,
                f"expected a defined list (known lists: {known})",
                f"{{{ref.list_name}}}",
            )
        if isinstance(ref, RuleReference) and ref.rule_name not in known_rules:
            known = ", ".join(sorted(known_rules)) or "none"
            raise ConfigError(
                use.source,
                use.path,
                f"expected a defined expansion rule (known: {known})",
                f"<{ref.rule_name}>",
            )
    # One measurer per set of local lists and rules, so each rule and list is walked once per language.
    key = (id(use.local_lists), id(use.local_rules))
    if key not in depths:
        depths[key] = ExpandedDepth({**lists, **use.local_lists}, known_rules)
    try:
        depths[key].of(use.sentence.expression)
    except ReferenceCycleError as err:
        raise ConfigError(
            use.source,
            use.path,
            "expected expansion rules and lists that do not refer to themselves",
            err.chain,
        ) from None
    except TooDeepError as err:
        raise ConfigError(
            use.source,
            use.path,
            f"expected at most {MAX_EXPANDED_DEPTH} levels of nesting with rules and lists expanded",
            f"more through {err.through}",
        ) from None


def merge_language(files: Sequence[IntentFile]) -> Intents:
    """Merge the files of one language into one hassil model, checking every reference.

    Lists and expansion rules are shared by all files of a language (so an areas list can live in its own
    file); defining one twice is an error. An intent named in several files collects all their blocks.
    """
    first = files[0]
    slot_lists: dict[str, SlotList] = {}
    rules: dict[str, Sentence] = {}
    owner: dict[str, str] = {}
    blocks_by_intent: dict[str, list[ParsedIntentData]] = {}
    skip_words: list[str] = []
    for file in files:
        if file.ignore_whitespace != first.ignore_whitespace:
            raise ConfigError(
                file.source,
                "settings.ignore_whitespace",
                f"expected {str(first.ignore_whitespace).lower()}, as in {first.source} (same language)",
                str(file.ignore_whitespace).lower(),
            )
        defined = [
            *(f"lists.{n}" for n in file.slot_lists),
            *(f"expansion_rules.{n}" for n in file.expansion_rules),
        ]
        for path in defined:
            if path in owner:
                raise ConfigError(file.source, path, f"expected a name not already defined in {owner[path]}")
            owner[path] = file.source
        slot_lists.update(file.slot_lists)
        rules.update(file.expansion_rules)
        for name, blocks in file.intents.items():
            blocks_by_intent.setdefault(name, []).extend(blocks)
        skip_words.extend(w for w in file.skip_words if w not in skip_words)
    depths: dict[tuple[int, int], ExpandedDepth] = {}
    for file in files:
        for use in file.uses:
            _check_references(use, slot_lists, rules, depths)
    wildcards = {name for name, sl in slot_lists.items() if isinstance(sl, WildcardSlotList)}
    intents: dict[str, Intent] = {}
    for name, merged in blocks_by_intent.items():
        data: list[IntentData] = []
        for block in merged:
            local = {n for n, sl in block.slot_lists.items() if isinstance(sl, WildcardSlotList)}
            # Template order does not matter: the matcher takes hassil's recognize_best over all of them
            # (tests/intents/test_matcher.py: two wildcard templates, the shorter one first).
            data.append(dataclasses.replace(block, wildcard_list_names=wildcards | local))
        intents[name] = Intent(name=name, data=data)
    return Intents(
        language=first.language,
        intents=intents,
        slot_lists=slot_lists,
        expansion_rules=rules,
        skip_words=skip_words,
        settings=IntentsSettings(ignore_whitespace=first.ignore_whitespace),
    )
