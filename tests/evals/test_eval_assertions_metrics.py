"""cost, latency, ttft and python assertions."""

from __future__ import annotations

from pathlib import Path

from evalcore_builders import ctx, make_prompt, spec

from promptctl.evals.assertions import run_assertion


def test_cost() -> None:
    assert run_assertion(spec("cost", max=0.002), ctx("x", cost_usd=0.0015)).passed
    over = run_assertion(spec("cost", max=0.002), ctx("x", cost_usd=0.003))
    assert not over.passed and over.reason == "cost $0.003000 > max $0.002"
    unknown = run_assertion(spec("cost", max=1), ctx("x", cost_usd=None))
    assert not unknown.passed and "unknown" in unknown.reason
    short = run_assertion(spec("cost", 0.01), ctx("x", cost_usd=0.001))
    assert short.passed
    bad = run_assertion(spec("cost", max="cheap"), ctx("x", cost_usd=0.0))
    assert not bad.passed and bad.reason.startswith("invalid assertion")


def test_latency_live_and_cached() -> None:
    assert run_assertion(spec("latency", max=500), ctx("x", latency_ms=120.0)).passed
    slow = run_assertion(spec("latency", max=500), ctx("x", latency_ms=900.0))
    assert not slow.passed and slow.reason == "latency 900 ms > max 500 ms"
    cached = run_assertion(spec("latency", max=500), ctx("x", latency_ms=900.0, cached=True))
    assert cached.passed and "cache" in cached.reason
    # a cached response is not judged either way, negated or not
    neg = run_assertion(spec("not-latency", max=500), ctx("x", latency_ms=1.0, cached=True))
    assert neg.passed and "not judged" in neg.reason


def test_ttft_streamed_unstreamed_and_cached() -> None:
    assert run_assertion(spec("ttft", max=800), ctx("x", ttft_ms=240.0)).passed
    late = run_assertion(spec("ttft", 800), ctx("x", ttft_ms=1250.0))
    assert not late.passed and late.reason == "time to first token 1250 ms > max 800 ms"
    whole = run_assertion(spec("ttft", max=800), ctx("x", latency_ms=10.0))
    assert not whole.passed and "not streamed" in whole.reason and "--stream" in whole.reason
    cached = run_assertion(spec("not-ttft", max=800), ctx("x", ttft_ms=1.0, cached=True))
    assert cached.passed and "not judged" in cached.reason
    negated = run_assertion(spec("not-ttft", max=800), ctx("x", ttft_ms=240.0))
    assert not negated.passed
    bad = run_assertion(spec("ttft", max="fast"), ctx("x", ttft_ms=1.0))
    assert not bad.passed and bad.reason.startswith("invalid assertion")


CHECKS = """
def polite(output, context):
    return "please" in output.lower()

def score(output, context):
    return len(output) / 10

def detailed(output, context):
    ok = context["vars"]["name"] in output
    reason = "name " + ("found" if ok else "missing")
    return {"pass": ok, "score": 0.9 if ok else 0.1, "reason": reason}

def refunds_small(output, context):
    calls = [c for c in context["tool_calls"] if c["name"] == "refund"]
    ok = bool(calls) and all(c["valid"] and c["arguments"]["amount"] <= 50 for c in calls)
    errors = [c["error"] for c in calls]
    return {"pass": ok, "reason": f"{len(calls)} refund call(s), errors {errors}"}

def only_score(output, context):
    return {"score": context["config"]["level"]}

def boom(output, context):
    raise ValueError("the checker exploded")

def weird(output, context):
    return "yes"

def out_of_range(output, context):
    return 3
"""


def _root(tmp_path: Path) -> Path:
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "checks.py").write_text(CHECKS)
    return tmp_path


def test_python_bool_and_score_returns(tmp_path: Path) -> None:
    root = _root(tmp_path)
    ok = run_assertion(
        spec("python", "evals/checks.py:polite"), ctx("Please wait", project_root=root)
    )
    assert ok.passed and ok.reason == "evals/checks.py:polite returned True"
    no = run_assertion(spec("python", "evals/checks.py:polite"), ctx("Wait", project_root=root))
    assert not no.passed
    s = run_assertion(spec("python", "evals/checks.py:score"), ctx("abcdefg", project_root=root))
    assert s.passed and s.score == 0.7  # passes at >= 0.5 by default
    low = run_assertion(
        spec("python", "evals/checks.py:score", threshold=0.8), ctx("abcdefg", project_root=root)
    )
    assert not low.passed


def test_python_dict_return_and_context(tmp_path: Path) -> None:
    root = _root(tmp_path)
    c = ctx("Hi Ana", project_root=root, vars={"name": "Ana"}, prompt=make_prompt())
    r = run_assertion(spec("python", "evals/checks.py:detailed"), c)
    assert r.passed and r.score == 0.9 and r.reason == "name found"
    r2 = run_assertion(spec("python", "evals/checks.py:only_score", level=0.4), c)
    assert not r2.passed and r2.score == 0.4


def test_python_checks_see_the_tool_calls(tmp_path: Path) -> None:
    from promptctl.promptfile.chat import ToolCall

    root = _root(tmp_path)
    check = spec("python", "evals/checks.py:refunds_small")
    small = ctx("", project_root=root, tool_calls=(ToolCall("1", "refund", {"amount": 20}),))
    assert run_assertion(check, small).passed
    big = ctx("", project_root=root, tool_calls=(ToolCall("1", "refund", {"amount": 90}),))
    assert not run_assertion(check, big).passed
    broken = ToolCall("1", "refund", {}, False, "arguments are not JSON: x")
    result = run_assertion(check, ctx("", project_root=root, tool_calls=(broken,)))
    assert not result.passed
    assert result.reason == "1 refund call(s), errors ['arguments are not JSON: x']"


def test_python_errors_become_failed_assertions(tmp_path: Path) -> None:
    root = _root(tmp_path)
    c = ctx("x", project_root=root)
    boom = run_assertion(spec("python", "evals/checks.py:boom"), c)
    assert not boom.passed
    assert boom.reason == (
        "check failed to run: evals/checks.py:boom raised ValueError: the checker exploded"
    )
    assert not run_assertion(spec("not-python", "evals/checks.py:boom"), c).passed
    weird = run_assertion(spec("python", "evals/checks.py:weird"), c)
    assert not weird.passed and "returned 'yes'" in weird.reason
    assert not run_assertion(spec("python", "evals/checks.py:out_of_range"), c).passed
    missing_fn = run_assertion(spec("python", "evals/checks.py:nope"), c)
    assert not missing_fn.passed and "no function 'nope'" in missing_fn.reason
    missing_file = run_assertion(spec("python", "evals/other.py:f"), c)
    assert not missing_file.passed and "not found" in missing_file.reason
    outside = run_assertion(spec("python", "../x.py:f"), c)
    assert not outside.passed and "outside the project" in outside.reason
    malformed = run_assertion(spec("python", "checks"), c)
    assert not malformed.passed and "evals/checks.py:name" in malformed.reason


def test_python_module_with_syntax_error(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def f(:\n")
    r = run_assertion(spec("python", "bad.py:f"), ctx("x", project_root=tmp_path))
    assert not r.passed and "SyntaxError" in r.reason
