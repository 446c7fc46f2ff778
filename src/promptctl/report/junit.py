"""JUnit XML from a results document, the format CI systems display natively.

One `<testsuite>` per prompt x target, one `<testcase>` per case: a failed case carries
`<failure>` (the failed assertions' reasons, the trimmed output in the body), an errored
case `<error type="kind">`, a skipped one `<skipped>`. Times are in seconds. Characters that
XML 1.0 cannot carry (most control characters), C1 controls and bidi overrides are
replaced by `\\xNN`/`\\uNNNN` escapes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

__all__ = ["to_junit_xml"]

# what XML 1.0 cannot carry, and what it can but a CI page or log must not act on: C1
# controls (`\x9b` is a CSI on some terminals) and bidi overrides ("Trojan Source": a
# model's tool name or answer reversing the failure text around it)
_ILLEGAL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
MAX_OUTPUT_CHARS = 2000


def _clean(text: str) -> str:
    return _ILLEGAL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _seconds(ms: Any) -> str:
    return f"{(ms or 0.0) / 1000:.3f}"


def _trim(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS] + "… (trimmed)"


def _testcase(case: Mapping[str, Any]) -> ET.Element:
    name = case["test"] if not case["repeat"] else f"{case['test']} [repeat {case['repeat']}]"
    el = ET.Element(
        "testcase",
        name=_clean(name),
        classname=_clean(f"{case['prompt']}.{case['target']}"),
        time=_seconds(case.get("latency_ms")),
    )
    status = case["status"]
    if status == "fail":
        reasons = [a["reason"] for a in case.get("assertions", ()) if not a["pass"]]
        failure = ET.SubElement(el, "failure", message=_clean("; ".join(reasons) or "failed"))
        failure.set("type", "assertion")
        failure.text = _clean(_trim(case.get("output") or ""))
    elif status == "error":
        err = case.get("error") or {"kind": "error", "message": ""}
        error = ET.SubElement(el, "error", message=_clean(err["message"]), type=_clean(err["kind"]))
        error.text = _clean(err["message"])
    elif status == "skipped":
        ET.SubElement(el, "skipped", message="not run (budget or interruption)")
    if case.get("output") and status != "fail":
        ET.SubElement(el, "system-out").text = _clean(_trim(case["output"]))
    return el


_COUNTERS = ("tests", "failures", "errors", "skipped")


def _set_counts(el: ET.Element, counts: Mapping[str, float]) -> None:
    for attr in _COUNTERS:
        el.set(attr, str(int(counts[attr])))
    el.set("time", f"{counts['time']:.3f}")


def to_junit_xml(doc: Mapping[str, Any]) -> str:
    """The document's cases as a JUnit XML string (UTF-8, with an XML declaration)."""
    root = ET.Element("testsuites", name="promptctl")
    suites: dict[tuple[str, str], tuple[ET.Element, dict[str, float]]] = {}
    totals = dict.fromkeys((*_COUNTERS, "time"), 0.0)
    for case in doc.get("cases", ()):
        key = (case["prompt"], case["target"])
        if key not in suites:
            el = ET.SubElement(root, "testsuite", name=_clean(f"{key[0]} @ {key[1]}"))
            suites[key] = (el, dict.fromkeys((*_COUNTERS, "time"), 0.0))
        suite, counts = suites[key]
        suite.append(_testcase(case))
        counter = {"fail": "failures", "error": "errors", "skipped": "skipped"}.get(case["status"])
        for tally in (counts, totals):
            tally["tests"] += 1
            tally["time"] += (case.get("latency_ms") or 0.0) / 1000
            if counter:
                tally[counter] += 1
    for suite, counts in suites.values():
        _set_counts(suite, counts)
    _set_counts(root, totals)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
