from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from promptctl.report.junit import to_junit_xml


def _case(
    status: str, test: str, *, target: str = "openai/gpt-4o-mini", **kw: Any
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "prompt": "support/triage",
        "target": target,
        "test": test,
        "repeat": 0,
        "status": status,
        "output": "ok",
        "latency_ms": 1500.0,
        "assertions": [],
        "error": None,
    }
    base.update(kw)
    return base


def _doc() -> dict[str, Any]:
    return {
        "cases": [
            _case("pass", "a"),
            _case(
                "fail",
                "b <&>",
                output='bell\x07 and "quotes" <tag> & \x00nul',
                assertions=[
                    {"type": "contains", "pass": False, "reason": "output does not contain 'x'"},
                    {"type": "is-json", "pass": True, "reason": "fine"},
                ],
            ),
            _case("error", "c", output=None, latency_ms=None,
                  error={"kind": "timeout", "message": "no answer\x1b[0m"}),
            _case("skipped", "d", output=None, latency_ms=None),
            _case("pass", "a", target="anthropic/claude", repeat=2, latency_ms=250.0),
        ]
    }  # fmt: skip


def test_structure_counts_and_times() -> None:
    root = ET.fromstring(to_junit_xml(_doc()))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "5",
        "1",
        "1",
        "1",
    )
    assert root.get("time") == "3.250"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "support/triage @ openai/gpt-4o-mini",
        "support/triage @ anthropic/claude",
    ]
    first = suites[0]
    assert first.get("tests") == "4" and first.get("time") == "3.000"
    cases = first.findall("testcase")
    assert [c.get("name") for c in cases] == ["a", "b <&>", "c", "d"]
    assert cases[0].get("classname") == "support/triage.openai/gpt-4o-mini"
    assert cases[0].find("failure") is None and cases[0].findtext("system-out") == "ok"
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "output does not contain 'x'"
    error = cases[2].find("error")
    assert error is not None and error.get("type") == "timeout"
    assert cases[3].find("skipped") is not None
    repeat = suites[1].find("testcase")
    assert repeat is not None and repeat.get("name") == "a [repeat 2]"


def test_special_and_control_characters_are_escaped() -> None:
    xml = to_junit_xml(_doc())
    assert "\x07" not in xml and "\x00" not in xml and "\x1b" not in xml
    root = ET.fromstring(xml)
    failure = root.find(".//failure")
    assert failure is not None
    assert failure.text == 'bell\\x07 and "quotes" <tag> & \\x00nul'
    error = root.find(".//error")
    assert error is not None and error.get("message") == "no answer\\x1b[0m"


def test_long_output_is_trimmed_and_empty_doc_is_valid() -> None:
    root = ET.fromstring(to_junit_xml({"cases": [_case("fail", "t", output="x" * 5000)]}))
    text = root.findtext(".//failure") or ""
    assert len(text) < 2100 and text.endswith("(trimmed)")
    empty = ET.fromstring(to_junit_xml({"cases": []}))
    assert empty.get("tests") == "0" and empty.findall("testsuite") == []
