"""The template sandbox's memory and time limits (promptfile.sandbox, sandbox_budget).

Each hostile template renders in a forked child whose address space is capped at 1 GiB
over what it holds already and which is killed after 20 s: a limit that does not hold
shows up as a `MemoryError`, a kill or a rendered text, never as a runner out of memory.
Legitimate templates must render exactly as Jinja's own sandbox renders them.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import time
from typing import Any

import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from promptctl.errors import RenderError
from promptctl.promptfile import sandbox_budget
from promptctl.promptfile.sandbox_sizes import text_size
from promptctl.render import render_template

_BIG = "{% set a = 'x' * 9000000 %}"
_DOUBLE = "{% set ns = namespace(a='x' * 1000000) %}{% for i in range(12) %}"

BOMBS: list[tuple[str, str, str]] = [
    (
        "concat-doubling",
        _DOUBLE + "{% set ns.a = ns.a ~ ns.a %}{% endfor %}{{ ns.a|length }}",
        "a joined text would be",
    ),
    (
        "plus-doubling",
        _DOUBLE + "{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a|length }}",
        "adding two values with +",
    ),
    (
        "percent-doubling",
        _DOUBLE + "{% set ns.a = '%s%s' % (ns.a, ns.a) %}{% endfor %}{{ ns.a|length }}",
        "a `%` format",
    ),
    (
        "format-method-doubling",
        _DOUBLE + "{% set ns.a = '{}{}'.format(ns.a, ns.a) %}{% endfor %}{{ ns.a|length }}",
        "the result of .format()",
    ),
    (
        "autoescape-concat-doubling",
        "{% autoescape true %}"
        + _DOUBLE
        + "{% set ns.a = ns.a ~ ns.a %}{% endfor %}{{ ns.a|length }}{% endautoescape %}",
        "a joined text would be",
    ),
    (
        "join-of-references",
        _BIG + "{{ [a, a, a, a, a, a, a, a, a, a]|join|length }}",
        "the result of |join",
    ),
    (
        "str-join-method",
        _BIG + "{{ ''.join([a, a, a, a, a, a, a, a, a, a])|length }}",
        "the result of .join()",
    ),
    ("printing-references", _BIG + "{{ [a] * 1000 }}", "printing a value"),
    ("printing-a-namespace", _BIG + "{{ namespace(v=[a] * 1000) }}", "printing a value"),
    ("tojson-of-references", _BIG + "{{ ([a] * 1000)|tojson|length }}", "the result of |tojson"),
    ("upper-of-a-list", _BIG + "{{ ([a] * 1000)|upper|length }}", "|upper of a container"),
    (
        "replace-growth",
        "{% set a = 'x' * 40000 %}{{ a|replace('x', a)|length }}",
        "the result of |replace",
    ),
    (
        "replace-method-growth",
        "{% set a = 'x' * 40000 %}{{ a.replace('x', a)|length }}",
        "the result of .replace()",
    ),
    ("indent-growth", "{{ ('\\n' * 1000000)|indent(100000)|length }}", "the result of |indent"),
    (
        "expandtabs-growth",
        "{{ ('\\t' * 1000000).expandtabs(100000)|length }}",
        "the result of .expandtabs()",
    ),
    (
        "translate-growth",
        _BIG + "{{ a.translate({120: 'yyyyyyyyyy'})|length }}",
        "the result of .translate()",
    ),
    (
        "wordwrap-wrapstring",
        _BIG + "{{ a|wordwrap(1, wrapstring=a)|length }}",
        "the result of |wordwrap",
    ),
    ("batch-fill", _BIG + "{{ [1]|batch(100000, a)|list|length }}", "the result of |batch"),
    (
        "lazy-map-taken-by-list",
        "{{ ('x' * 9000000)|list|map('center', 100000)|list|length }}",
        "the value piped into |list",
    ),
    (
        "lazy-map-taken-by-join",
        "{{ range(100000)|map('string')|map('center', 100000)|join|length }}",
        "the value piped into |join",
    ),
    (
        "captured-block-growth",
        _BIG + "{% set b %}{% for i in range(100) %}{{ a }}{% endfor %}{% endset %}{{ b|length }}",
        "a joined text would be",
    ),
    (
        "filter-block-growth",
        _BIG + "{% filter length %}{% for i in range(100) %}{{ a }}{% endfor %}{% endfilter %}",
        "a joined text would be",
    ),
    (
        "macro-growth",
        _BIG + "{% macro m() %}{% for i in range(100) %}{{ a }}{% endfor %}{% endmacro %}"
        "{{ m()|length }}",
        "a joined text would be",
    ),
    (
        "list-doubled-by-extend",
        "{% set l = ['x'] %}{% for i in range(40) %}{{ l.extend(l) or '' }}{% endfor %}",
        "a container grown by a call has",
    ),
    (
        "integer-squaring",
        "{% set ns = namespace(n=2) %}{% set ns.n = 10 ** 3000 %}"
        "{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}",
        "a product over the limit of 10,000 bits",
    ),
    (
        "percent-format-copies",
        "{% set a = 'x' * 4000000 %}{% set f = '%(a)s' * 1000000 %}{{ (f % {'a': a})|length }}",
        "a `%` format would be",
    ),
    (
        "format-method-copies",
        "{% set a = 'x' * 4000000 %}{% set f = '{0}' * 1000000 %}{{ f.format(a)|length }}",
        "the result of .format()",
    ),
    (
        "format-width-from-an-argument",
        "{% set f = '{0:{1}}' * 10000 %}{{ f.format('x', 99999)|length }}",
        "the result of .format()",
    ),
    (
        "percent-width-copies",
        "{% set f = '%99999s' * 10000 %}{{ (f % (('x',) * 10000))|length }}",
        "a `%` format would be",
    ),
    (
        "tojson-indent",
        "{{ (range(100000)|list)|tojson(indent=100000)|length }}",
        "the result of |tojson",
    ),
    (
        "urlize-target",
        "{% set t = 'y' * 4000000 %}{{ ('x.com ' * 1000000)|urlize(target=t)|length }}",
        "the result of |urlize",
    ),
    (
        "format-width-of-thousands-of-digits",
        "{{ '%0" + "9" * 5000 + "d' % 1 }}",
        "format width of 5,000 digits is over the limit",
    ),
    (
        "join-of-a-range-with-a-big-separator",
        "{{ (range(100000)|join('x' * 9000000))|length }}",
        "the result of |join",
    ),
    (
        "str-join-of-dict-keys",
        "{% set d = dict(a=1, b=2, c=3) %}{{ ('x' * 9000000).join(d.keys())|length }}",
        "the result of .join()",
    ),
    (
        "printing-a-dict-view",
        _BIG + "{% set d = {} %}{% for i in range(10) %}{{ d.update({i ~ a: 1}) or '' }}"
        "{% endfor %}{{ d.keys() }}",
        "printing a value",
    ),
    (
        "many-distinct-large-strings-kept",
        _BIG + "{% set l = [] %}{% for i in range(1000) %}{{ l.append(i ~ a) or '' }}"
        "{% endfor %}{{ l|length }}",
        "the template built more than 100,000,000 characters in all",
    ),
    (
        "nested-loops-over-a-string",
        "{% set a = 'x' * 100000 %}{% for x in a %}{% for y in a %}{% endfor %}{% endfor %}",
        "loops over more than 1,000,000 items in total",
    ),
    (
        "recursive-loop",
        "{% set l = range(10)|list %}{% for x in l recursive %}"
        "{% if loop.depth < 9 %}{{ loop(l) }}{% endif %}{% endfor %}",
        "loops over more than 1,000,000 items in total",
    ),
]


def _render_in_child(template: str, *, seconds: float | None = None) -> tuple[str, float]:
    """What rendering `template` ends in, rendered in a forked child with 1 GiB more
    address space than it starts with: 'rendered N' / 'refused: …' / 'MemoryError' /
    'killed' (still running after 20 s), and the seconds it took."""
    read, write = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            # the limits race a clock: under `make coverage`'s tracing the 5 s deadline
            # would trip before the iteration cap a bomb is meant to hit
            sys.settrace(None)
            os.close(read)
            with open("/proc/self/statm") as fh:
                held = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            resource.setrlimit(resource.RLIMIT_AS, (held + (1 << 30), hard))
            if seconds is not None:
                sandbox_budget.MAX_RENDER_SECONDS = seconds
            try:
                result = f"rendered {len(render_template(template, {}))}"
            except RenderError as exc:
                result = f"refused: {exc}"
            except MemoryError:
                result = "MemoryError"
            os.write(write, result.encode()[:4000])
        finally:
            os._exit(0)
    os.close(write)
    deadline = started + 20
    while not os.waitpid(pid, os.WNOHANG)[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read)
            return "killed", time.monotonic() - started
        time.sleep(0.005)
    with os.fdopen(read, "rb") as fh:
        return fh.read().decode(), time.monotonic() - started


@pytest.mark.parametrize(
    ("template", "expected"), [b[1:] for b in BOMBS], ids=[b[0] for b in BOMBS]
)
def test_a_template_that_would_exhaust_memory_or_time_is_refused(
    template: str, expected: str
) -> None:
    result, seconds = _render_in_child(template)
    assert result.startswith("refused: template refused:"), result
    assert expected in result, result
    assert seconds < 10, f"{seconds:.1f}s to refuse"


def test_a_render_running_past_its_time_limit_is_refused() -> None:
    """Sorting a 100,000-item list 100,000 times: few loop iterations, hours of work."""
    template = (
        "{% set big = range(100000)|map('string')|list %}"
        "{% for i in range(100000) %}{{ (big|sort)|length }}{% endfor %}"
    )
    result, seconds = _render_in_child(template, seconds=0.5)
    assert result.startswith("refused: template refused: rendering ran longer than 0.5 s")
    assert seconds < 5


LEGITIMATE = [
    "{% for i in range(3) %}{{ i }}:{{ loop.index }}/{{ loop.length }} {% endfor %}",
    "{{ [1, 2, 3]|join(', ') }} {{ ('a', 'b')|join }} {{ 'x' ~ 1 ~ none }}",
    "{% set ns = namespace(n=0) %}{% for x in 'abc' %}{% set ns.n = ns.n + 1 %}{% endfor %}"
    "{{ ns.n }} {{ ns }}",
    "{% set b %}captured {{ 'x' * 3 }}{% endset %}{{ b|upper }}",
    "{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) ~ m(2) }}"
    "{% macro w() %}[{{ caller() }}]{% endmacro %}{% call w() %}in{% endcall %}",
    "{% filter upper %}{% for x in [1, 2] %}{{ x }}{% endfor %} done{% endfilter %}",
    "{% autoescape true %}{{ '<b>' ~ 'c' }}{{ '<i>' }}{% endautoescape %}{{ '<u>' }}",
    "{% autoescape true %}{{ '<b>'|safe ~ '<i>' }}{% set m %}{{ '<x>' }}{% endset %}{{ m ~ 'y' }}"
    "{% endautoescape %}",
    "{% for x in [3, 1, 2]|sort if x > 1 %}{{ x }}{% else %}none{% endfor %}",
    "{% for k, v in {'a': 1, 'b': 2}|dictsort %}{{ k }}={{ v }};{% endfor %}",
    "{% for x in [[1, [2]], [3]] recursive %}[{% if x is iterable %}{{ loop(x) }}"
    "{% else %}{{ x }}{% endif %}]{% endfor %}",
    "{{ range(5)|map('string')|select('ne', '2')|join('-') }} {{ range(4)|batch(3, 0)|list }}",
    "{{ 'a\tb'.expandtabs(4) }}|{{ 'ab'|replace('a', 'xyz') }}|{{ 'l1\nl2'|indent(2, true) }}",
    "{{ '%s-%05d' % ('v', 42) }} {{ '{}+{}'.format(1, 2) }} {{ '%s'|format([1]) }}",
    "{{ {'k': [1, 'two', none]} }} {{ [[1], [2]]|sum(start=[]) }} {{ 2 ** 10 * 3 }}",
    "{{ [1, 2] + [3] }} {{ 'ab' + 'cd' }} {{ (1, 2) * 2 }} {{ 'lorem ipsum'|wordwrap(5) }}",
    "{% set l = [] %}{% for i in range(3) %}{{ l.append(i) or '' }}{% endfor %}{{ l|tojson }}",
    "{{ '%(a)s/%(a)s' % {'a': 'x'} }} {{ '{0:{1}}'.format('x', 4) }}|"
    "{{ '{a}'.format_map({'a': 1}) }}",
    "{{ {'a': [1, {'b': 2}]}|tojson(indent=2) }} {{ 'see https://x.com now'|urlize(target='_b') }}",
    "{% for x in 'abc' %}{{ loop.cycle('o', 'e') }}{{ loop.previtem if not loop.first }}"
    "{{ loop.changed(x) }}"
    "{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{% endfor %}",
    "{% for k, v in {'b': 2, 'a': 1}|dictsort(by='value') %}{{ k }}{{ v }}{% endfor %}",
    "{% for x in range(5)|map('string') %}{{ loop.length }}{% endfor %}"
    "{{ range(5)|map('string')|first }}{{ range(5)|select('odd')|list|last }}",
    "{% set people = [{'n': 'a', 'g': 1}, {'n': 'b', 'g': 2}, {'n': 'c', 'g': 1}] %}"
    "{% for g, items in people|groupby('g') %}{{ g }}:{{ items|map(attribute='n')|join }};"
    "{% endfor %}{{ people|selectattr('g', 'equalto', 1)|list|length }}"
    "{{ people|sum(attribute='g') }}{{ people|max(attribute='g') }}{{ people|join(',', 'n') }}",
    "{{ range(10)|batch(3, 'x')|list }}{{ range(7)|slice(3)|list }}{{ [3, 1, 3]|unique|list }}",
    "{% macro m(a, b=2) %}{{ a }}{{ b }}{{ varargs }}{{ kwargs }}{% endmacro %}"
    "{{ m(1) }}{{ m(1, 3, 4, z=5) }}"
    "{% macro w() %}[{{ caller(7) }}]{% endmacro %}{% call(n) w() %}n={{ n }}{% endcall %}",
    "{% set a, b = 1, 2 %}{% with c = a + b %}{{ c }}{% endwith %}"
    "{% filter upper|replace('A', '4') %}abc{% endfilter %}",
    "{{ 'one two three'.split()|map('title')|join(' ') }}|{{ 'x' ~ none ~ true ~ 1.5 }}"
    "{{ 'Hello World'|wordcount }}{{ 'long text here'|truncate(9, true, '..', 0) }}",
    "{{ '%(a)s-%(b)s'|format(a=1, b=2) }} {{ 'l1\nl2\n\nl3'|indent(2, first=true, blank=true) }}",
    # `loop` handed to a macro is an iterator too: it must not be taken (it consumed the
    # loop's remaining items, and `l.index` read a list's method)
    "{% macro m(l) %}[{{ l.index }}/{{ l.length }}]{% endmacro %}"
    "{% for x in [1, 2, 3] %}{{ m(loop) }}{% endfor %}",
    "{{ range(3) }}{{ (1, 2) ~ 'x' }}{{ [1, 2]|reverse|list }}{{ 'abc'|reverse }}"
    "{% for k, v in {'a': 1}.items() %}{{ k }}{{ v }}{% endfor %}{{ '{0[0]}'.format([5]) }}",
    "{% set x = [1, 2]|map('string') %}{{ x|list }}{{ x|list }}{{ '%s' % [1, 2] }}"
    "{% set l = [1] %}{{ l.append(2) }}{{ l }}{{ [[1, 2], [3]]|map('length')|sum }}",
    "{% for x in range(3)|select('odd') %}{{ loop.index }}:{{ x }}{% endfor %}"
    "{% for x in 'ab' %}{{ loop.cycle(*'xy') }}{% endfor %}{{ []|first is undefined }}",
    "{% for x in [] %}never{% else %}empty{% endfor %}"
    "{% for x in range(3) if x != 1 %}{{ x }}/{{ loop.index }}{% endfor %}",
]


@pytest.mark.parametrize("template", LEGITIMATE)
def test_legitimate_templates_render_as_jinjas_own_sandbox_renders_them(template: str) -> None:
    plain = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    assert render_template(template, {}) == plain.from_string(template).render()


@pytest.mark.parametrize(
    "value",
    [
        "text",
        ["a", "bc", 1, 2.5, None, True],
        {"k": ["v", {"n": 12345678901234567890}]},
        ("t", ("u",)),
        [b"\x00\x01", "é"],
        [],
    ],
    ids=["str", "list", "dict", "tuple", "bytes", "empty"],
)
def test_text_size_is_at_least_the_printed_length(value: Any) -> None:
    assert len(str(value)) <= text_size(value) <= 2 * len(str(value)) + 40


def test_text_size_counts_a_repeated_container_each_time_and_stops_at_its_limit() -> None:
    inner = ["x" * 1000]
    assert text_size([inner] * 100) >= 100 * 1000
    assert text_size([inner] * 10**6, limit=50_000) <= 50_000 + 2 * 10**6 + 1100
    looped: list[Any] = ["a"]
    looped.append(looped)  # printed `['a', [...]]`
    assert text_size(looped) < 100
