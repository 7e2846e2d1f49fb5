"""Hostile config and intent files get one ConfigError line, never a traceback or a walk of the disk.

Issue 10 item 6: a few hundred levels of YAML nesting, a template a few hundred brackets deep or a long
chain of expansion rules ended in RecursionError; ``intents.files: ['/**/*.yaml']`` walked the whole
filesystem.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistantd.cli import main
from assistantd.config import load_config
from assistantd.config.files import MAX_DEPTH, MAX_INTENT_FILES, MAX_WALKED_DIRS, MAX_YAML_BYTES
from assistantd.errors import ConfigError
from assistantd.intents.depth import MAX_EXPANDED_DEPTH, MAX_TEMPLATE_NESTING
from assistantd.intents.loader import load_intent_files, load_matcher

REPO = Path(__file__).resolve().parents[2]
HELLO = 'language: en\nintents: {Hi: {data: [{sentences: ["hello"]}]}}\n'


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _check_config(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """``assistantd check-config``: exit 2 and exactly one line on stderr."""
    assert main(["check-config", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        ("service: " + "[" * 400 + "]" * 400 + "\n", "service[0][0][0]...", 1),
        ("a:\n" + "".join("  " * i + "k:\n" for i in range(1, 400)), "a.k.k.k...", MAX_DEPTH),
        ("x: " + "{a: " * 300 + "1" + "}" * 300 + "\n", "x.a.a.a...", 1),
    ],
    ids=["flow-lists", "block-mappings", "flow-mappings"],
)
def test_deep_config_yaml_is_refused_by_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, path: str, line: int
) -> None:
    config = _write(tmp_path / "assistant.yaml", text)
    err = _check_config(config, capsys)
    assert err.startswith(
        f"assistantd check-config: {config}: {path}: expected at most {MAX_DEPTH} levels of nesting, "
        f"got more at line {line}, column "
    )


def test_config_nesting_within_the_limit_still_reaches_the_key_checks(tmp_path: Path) -> None:
    config = _write(tmp_path / "assistant.yaml", "service: " + "[" * 60 + "]" * 60 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert caught.value.path == "service"  # a list where a mapping belongs: the ordinary error


def test_deep_intent_yaml_names_the_intent_file(tmp_path: Path) -> None:
    deep = _write(tmp_path / "deep.yaml", HELLO + "skip_words: " + "[" * 500 + "]" * 500 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_intent_files([deep])
    assert (caught.value.source, caught.value.path) == (str(deep), "skip_words[0][0][0]...")
    assert caught.value.expected == f"expected at most {MAX_DEPTH} levels of nesting"


def _sentence(template: str, extra: str = "") -> str:
    return f'language: en\nintents:\n  T: {{data: [{{sentences: ["{template}"]}}]}}\n{extra}'


@pytest.mark.parametrize(
    "template",
    ["(" * 300 + "a" + ")" * 300, "(a;" * 300 + "b" + ")" * 300, "[a " * 300 + "b" + "]" * 300],
    ids=["groups", "permutations", "optionals"],
)
def test_a_deep_template_is_refused_before_hassil_parses_it(tmp_path: Path, template: str) -> None:
    path = _write(tmp_path / "t.yaml", _sentence(template))
    with pytest.raises(ConfigError) as caught:
        load_intent_files([path])
    assert caught.value.path == "intents.T.data[0].sentences[0]"
    assert caught.value.expected == f"expected a template nested at most {MAX_TEMPLATE_NESTING} brackets deep"
    assert caught.value.got == "300"


def test_a_long_chain_of_rules_is_refused_at_load(tmp_path: Path) -> None:
    rules = "".join(f'  r{i}: "<r{i + 1}> x"\n' for i in range(500)) + '  r500: "a"\n'
    path = _write(tmp_path / "t.yaml", _sentence("<r0> light", "expansion_rules:\n" + rules))
    with pytest.raises(ConfigError) as caught:
        load_intent_files([path])
    assert caught.value.expected == (
        f"expected at most {MAX_EXPANDED_DEPTH} levels of nesting with rules and lists expanded"
    )
    assert caught.value.got is not None and caught.value.got.startswith("more through <r")


def test_rules_naming_the_next_one_twice_load_and_match(tmp_path: Path) -> None:
    """2**18 ways through the rules: measured and sampled once per rule, not once per path."""
    rules = "".join(f'  r{i}: "<r{i + 1}> [<r{i + 1}>]"\n' for i in range(18)) + '  r18: "a"\n'
    path = _write(tmp_path / "t.yaml", _sentence("<r0> light", "expansion_rules:\n" + rules))
    matcher = load_intent_files([path])
    found = matcher.match("a light")
    assert found is not None and found.intent == "T"


def test_a_list_whose_value_names_the_list_is_a_cycle(tmp_path: Path) -> None:
    lists = 'lists:\n  c: {values: [{in: "{c} x", out: 1}]}\n'
    path = _write(tmp_path / "t.yaml", _sentence("{c}", lists))
    with pytest.raises(ConfigError) as caught:
        load_intent_files([path])
    assert caught.value.expected == "expected expansion rules and lists that do not refer to themselves"
    assert caught.value.got == "{c} -> {c}"


def test_the_issue_s_root_glob_is_refused_without_walking_the_disk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path / "assistant.yaml", "intents:\n  files: ['/**/*.yaml']\n")
    err = _check_config(config, capsys)
    assert err == (
        f"assistantd check-config: {config}: intents.files[0]: expected a pattern that looks through at "
        f"most {MAX_WALKED_DIRS} directories (start it at the intents directory, e.g. intents/**/*.yaml), "
        "got '/**/*.yaml'\n"
    )


def _tree(root: Path, dirs: int) -> None:
    for i in range(dirs):
        (root / f"d{i // 40}" / f"e{i % 40}").mkdir(parents=True)
    _write(root / "d0" / "e0" / "hello.yaml", HELLO)


@pytest.mark.parametrize("pattern", ["tree/**/*.yaml", "tree/*/*/*.yaml"])
def test_a_pattern_walking_too_many_directories_is_refused(tmp_path: Path, pattern: str) -> None:
    _tree(tmp_path / "tree", MAX_WALKED_DIRS + 40)
    config = _write(tmp_path / "assistant.yaml", f"intents:\n  files: ['{pattern}']\n")
    with pytest.raises(ConfigError) as caught:
        load_matcher(load_config(config))
    assert caught.value.path == "intents.files[0]"
    assert caught.value.got == repr(str(tmp_path / pattern))


@pytest.mark.parametrize("pattern", ["tree/**/*.yaml", "tree/*/*/*.yaml", "tree/d0/e0/*.yaml"])
def test_a_pattern_in_a_small_tree_still_loads(tmp_path: Path, pattern: str) -> None:
    _tree(tmp_path / "tree", 200)
    config = _write(tmp_path / "assistant.yaml", f"intents:\n  files: ['{pattern}']\n")
    assert load_matcher(load_config(config)).match("hello") is not None


def test_too_many_intent_files_are_refused(tmp_path: Path) -> None:
    for i in range(MAX_INTENT_FILES + 1):
        _write(tmp_path / "intents" / f"{i}.yaml", HELLO)
    config = _write(tmp_path / "assistant.yaml", "intents:\n  files: ['intents/*.yaml']\n")
    with pytest.raises(ConfigError) as caught:
        load_matcher(load_config(config))
    assert caught.value.expected == f"expected patterns matching at most {MAX_INTENT_FILES} files"


def test_the_shipped_config_is_unaffected() -> None:
    assert main(["check-config", "--config", str(REPO / "config" / "assistant.yaml")]) == 0


def test_a_huge_config_file_is_refused_before_it_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "assistant.yaml"
    with config.open("wb") as f:
        f.write(b"# padding\n")
        f.truncate(MAX_YAML_BYTES + 1)  # sparse: no disk is spent on it
    err = _check_config(config, capsys)
    assert err == f"assistantd check-config: {config}: expected a config file of at most 8 MiB\n"
