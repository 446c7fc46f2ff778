from __future__ import annotations

from pathlib import Path

import pytest

from fakes.cli import run
from promptctl.errors import PromptFileError
from promptctl.promptfile.yaml_loader import MAX_FILE_BYTES, decode_text, load_yaml, pointer

P = Path("p.yaml")


def test_locations_of_keys_and_values_are_one_based() -> None:
    doc = load_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n", P)
    assert doc.data == {"a": 1, "b": ["x", {"c": 2}]}
    assert doc.keys["/b"] == (2, 1)
    assert doc.values["/b/0"] == (3, 5)
    assert doc.values["/b/1/c"] == (4, 9)


def test_locate_falls_back_to_nearest_ancestor() -> None:
    doc = load_yaml("a:\n  b: 1\n", P)
    assert doc.locate("/a/b/missing").line == 2
    assert doc.locate("/zzz").line == 1


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("00", "a number"),
        ("1.5", "a number"),
        ("yes", "a boolean"),
        ("~", "null"),
        ("2024-01-01", "a date"),
    ],
)
def test_a_key_yaml_does_not_read_as_a_string_is_an_error_at_its_place(key: str, kind: str) -> None:
    """JSON data has string keys only: `{temperature: 0, 00}` must not reach the schema
    check, the hashing or the results as a number (mixed keys cannot even be sorted)."""
    with pytest.raises(PromptFileError) as caught:
        load_yaml(f"model:\n  params: {{temperature: 0, {key}: 1}}\n", P)
    assert caught.value.message == f"the key {key!r} is read as {kind}; keys must be strings"
    loc = caught.value.location  # `  params: {temperature: 0, ` is 27 characters
    assert loc is not None and (loc.line, loc.column) == (2, 28)
    assert caught.value.hint == f"quote it: '{key}':"


@pytest.mark.parametrize(
    ("text", "what"),
    [(".inf", "an infinity"), ("-.inf", "an infinity"), (".nan", "NaN"), (".NaN", "NaN")],
)
def test_a_value_json_cannot_hold_is_an_error_at_its_place(text: str, what: str) -> None:
    """`.inf` and `.nan` are YAML floats, not JSON: they used to crash the results file."""
    with pytest.raises(PromptFileError) as caught:
        load_yaml(f"tests:\n  - vars: {{q: {text}}}\n", P)
    assert caught.value.message == f"{text!r} is read as {what}, which JSON has not"
    loc = caught.value.location  # `  - vars: {q: ` is 14 characters
    assert loc is not None and (loc.line, loc.column) == (2, 15)
    assert load_yaml(f"q: '{text}'\n", P).data == {"q": text}  # quoted: the text


def test_a_quoted_key_is_a_string() -> None:
    assert load_yaml("'00': 1\n'yes': 2\n", P).data == {"00": 1, "yes": 2}


def test_duplicate_keys_are_recorded_with_first_line() -> None:
    doc = load_yaml("a: 1\nb: 2\na: 3\n", P)
    assert doc.duplicates == [("/a", (3, 1), 1)]
    assert doc.data["a"] == 3


def test_duplicate_keys_in_nested_mapping() -> None:
    doc = load_yaml("m:\n  x: 1\n  x: 2\n", P)
    assert doc.duplicates[0][0] == "/m/x"


def test_merge_keys_are_not_duplicates() -> None:
    doc = load_yaml("base: &b {x: 1}\nm:\n  <<: *b\n  x: 2\n", P)
    assert doc.duplicates == []
    assert doc.data["m"] == {"x": 2}


@pytest.mark.parametrize(
    ("text", "where"), [("a: !!bool maybe\n", (1, 4)), ("!!bool maybe: 1\n", (1, 1))]
)
def test_a_tagged_value_its_constructor_cannot_read_is_an_error_at_its_place(
    text: str, where: tuple[int, int]
) -> None:
    """PyYAML's `!!bool` looks the text up in a table: a KeyError (a traceback from
    `promptctl lint`) for anything but yes/no/true/false/on/off."""
    with pytest.raises(PromptFileError) as caught:
        load_yaml(text, P)
    assert caught.value.message == "'maybe' cannot be read as YAML reads it: not a valid !!bool"
    assert caught.value.hint == "quote it to keep it as text"
    loc = caught.value.location
    assert loc is not None and (loc.line, loc.column) == where


@pytest.mark.parametrize(
    ("text", "message", "where"),
    [
        ("a:\n  <<: {{y: 1}: v}\n", "mapping keys must be plain scalars", (2, 8)),
        ("a:\n  <<: [{[q]: 1}]\n", "mapping keys must be plain scalars", (2, 9)),
        ("a:\n  <<: {1: x}\n", "the key '1' is read as a number; keys must be strings", (2, 8)),
    ],
)
def test_keys_a_merge_brings_are_plain_strings_too(
    text: str, message: str, where: tuple[int, int]
) -> None:
    """`<<: {[q]: 1}` merged a list as a key: a TypeError (a traceback from `promptctl
    lint`), where a mapping's own keys get a finding at their place."""
    with pytest.raises(PromptFileError) as caught:
        load_yaml(text, P)
    assert caught.value.message == message
    loc = caught.value.location
    assert loc is not None and (loc.line, loc.column) == where


def test_a_hostile_merge_key_is_a_lint_finding_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "promptctl.yaml").write_text("providers: {}\n")
    (tmp_path / "prompts" / "p.yaml").write_text(
        "id: x/y\nversion: 1.0.0\nmodel: {use: openai/gpt-4o-mini}\n"
        "messages:\n  - user: hi\nvars:\n  <<: {{y: 1}: v}\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["lint"], monkeypatch, capsys)
    assert code == 1, out + err  # a finding, as a YAML syntax error is
    assert "7:8" in out and "PC001" in out and "mapping keys must be plain scalars" in out
    assert "Traceback" not in out + err


def test_syntax_error_has_line_and_column() -> None:
    with pytest.raises(PromptFileError) as exc:
        load_yaml("a: [1, 2\nb: 3\n", P)
    assert "YAML syntax error" in exc.value.message
    assert exc.value.location is not None and exc.value.location.line == 2


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    with pytest.raises(PromptFileError, match="file is empty"):
        load_yaml(text, P)


def test_top_level_scalar_is_refused() -> None:
    with pytest.raises(PromptFileError, match="got a string"):
        load_yaml("just text\n", P)


def test_binary_file_is_refused() -> None:
    with pytest.raises(PromptFileError, match="binary"):
        decode_text(b"\x89PNG\r\n\x1a\n\x00\x00", P)


def test_non_utf8_names_the_line_and_byte() -> None:
    with pytest.raises(PromptFileError) as exc:
        decode_text(b"a: 1\nb: caf\xe9\n", P)
    assert "not valid UTF-8 (byte 0xe9)" in exc.value.message
    assert exc.value.location is not None and exc.value.location.line == 2


def test_oversized_file_is_refused() -> None:
    with pytest.raises(PromptFileError, match="over the"):
        decode_text(b"a" * (MAX_FILE_BYTES + 1), P)


def test_bom_is_stripped() -> None:
    assert decode_text("\ufeffa: 1".encode(), P) == "a: 1"


def test_alias_bomb_is_bounded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(PromptFileError, match="alias bomb"):
        load_yaml("\n".join(lines) + "\n", P)


def test_pointer_escapes_slash_and_tilde() -> None:
    assert pointer(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"


QUOTE_IT = "write the whole text in quotes"


@pytest.mark.parametrize(
    ("line", "where", "message", "hint"),
    [
        ("- user: {{ country }} is where?", (2, 25), "did not find expected key", "Jinja tag"),
        ("- user: {% if a %}x{% endif %}", (2, 12), "found '%', which cannot", "Jinja tag"),
        ("- user: Reply as JSON: {a: 1}", (2, 24), "mapping values are not allowed", "': '"),
        ("- user: @alice said hi", (2, 11), "found '@', which cannot start", "starting with @"),
        ("- user: `code` here", (2, 11), "found '`', which cannot start", "starting with @"),
        ('- user: "never closed', (2, 11), "found unexpected end of stream", "not closed"),
    ],
    ids=["jinja-braces", "jinja-block", "colon", "at-sign", "backtick", "open-quote"],
)
def test_the_yaml_mistakes_of_prompt_text_say_how_to_fix_them(
    line: str, where: tuple[int, int], message: str, hint: str
) -> None:
    """A message written unquoted is the commonest syntax error in a prompt file: the
    error names the character and the hint says to quote it (or where the quote opened)."""
    with pytest.raises(PromptFileError) as exc:
        load_yaml(f"messages:\n  {line}\n", P)
    err = exc.value
    assert err.location is not None and (err.location.line, err.location.column) == where
    assert message in err.message and hint in (err.hint or ""), (err.message, err.hint)
    if hint != "not closed":
        assert QUOTE_IT in (err.hint or "")
    quoted = line.replace("- user: ", "- user: '", 1).replace("'", "''").replace("''", "'", 1)
    assert load_yaml(f"messages:\n  {quoted}'\n", P).data["messages"][0]["user"]


def test_remembered_tags_are_the_ones_yaml_gives() -> None:
    """The loader remembers which tag a plain value resolves to (yaml_parse._Loader): a
    value seen quoted, then plain, then quoted again keeps each form's own type."""
    from promptctl.promptfile import yaml_parse

    values = ["5", "1.5", "yes", "no", "null", "~", "2024-01-02", "0x1F", "ok", ""]
    lines = []
    for i, v in enumerate(values):
        lines += [f"q{i}: '{v}'", f"p{i}: {v}", f"r{i}: '{v}'", f"s{i}: {v}"]
    text = "\n".join(lines) + "\n"

    def tags(loader: type) -> list[str]:
        node = loader(text).get_single_node()
        return [v.tag for _, v in node.value]

    assert tags(yaml_parse._Loader) == tags(yaml_parse._Base)
    data = yaml_parse.parse(text, P).data
    assert (data["q0"], data["p0"], data["r0"], data["s0"]) == ("5", 5, "5", 5)
    assert (data["p2"], data["q2"]) == (True, "yes")
