"""Random templates rendered by promptctl's sandbox and by Jinja's own must agree.

A seeded grammar of values, filters, `~`, `+`, `%`, `.format`, loops (with `loop` handed
to a macro), `set` blocks, `filter` and `autoescape` blocks, macros and `if` builds 1,200
templates of small values (far under every limit). Wherever Jinja renders one, promptctl
must render the same text. Lazy values are always listed (`unique|list`): printed bare,
a generator shows its address, which no two runs share. An ad-hoc run of the grammar
with bare lazy values (9,000 templates, addresses masked) found that the first version
of the session-10 limits printed lazy values handed to a macro or `.format` as lists;
it finds no difference now.
"""

from __future__ import annotations

import random

import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from promptctl.render import render_template

VALS = [
    "'ab'",
    "[1, 2, 3]",
    "('x', 'y')",
    "{'k': 1, 'j': 2}",
    "3",
    "2.5",
    "none",
    "true",
    "range(4)",
    "'a b c'",
    "[[1, 2], [3]]",
    "[{'n': 'a', 'g': 1}, {'n': 'b', 'g': 2}]",
]
FILTERS = [
    "upper",
    "lower",
    "length",
    "list",
    "first",
    "last",
    "reverse|list",
    "sort",
    "unique|list",
    "join",
    "join(',')",
    "string",
    "tojson",
    "trim",
    "title",
    "capitalize",
    "wordcount",
    "center(7)",
    "indent(2)",
    "replace('a', 'zz')",
    "batch(2)|list",
    "slice(2)|list",
    "map('string')|list",
    "select|list",
    "reject|list",
    "sum",
    "min",
    "max",
    "abs",
    "int",
    "float",
    "round",
    "default('d')",
    "e",
    "truncate(5, true, '')",
    "dictsort",
    "items|list",
    "map(attribute='n')|list",
    "groupby('g')|list",
    "selectattr('g')|list",
    "format(1)",
    "urlize",
    "wordwrap(3)",
    "striptags",
    "xmlattr",
    "pprint",
    "count",
    "random is defined",
    "filesizeformat",
]


def expr(rng: random.Random, d: int = 0) -> str:
    r = rng.random()
    if d > 2 or r < 0.3:
        return rng.choice(VALS)
    if r < 0.6:
        return f"({expr(rng, d + 1)})|{rng.choice(FILTERS)}"
    if r < 0.7:
        return f"({expr(rng, d + 1)} ~ {expr(rng, d + 1)})"
    if r < 0.8:
        return f"({expr(rng, d + 1)} + {expr(rng, d + 1)})"
    if r < 0.85:
        return f"({expr(rng, d + 1)} * 2)"
    if r < 0.9:
        return f"('%s' % ({expr(rng, d + 1)},))"
    return f"'{{}}-{{}}'.format({expr(rng, d + 1)}, {expr(rng, d + 1)})"


def stmt(rng: random.Random, d: int = 0) -> str:
    r = rng.random()
    if d > 2 or r < 0.35:
        return "{{ " + expr(rng) + " }}"
    if r < 0.55:
        return (
            "{% for x in "
            + expr(rng)
            + " %}{{ loop.index }}{{ x }}"
            + stmt(rng, d + 1)
            + "{% else %}E{% endfor %}"
        )
    if r < 0.65:
        return "{% set v = " + expr(rng) + " %}{{ v }}" + stmt(rng, d + 1)
    if r < 0.75:
        return "{% set b %}" + stmt(rng, d + 1) + "{% endset %}{{ b|length }}{{ b }}"
    if r < 0.82:
        return "{% filter upper %}" + stmt(rng, d + 1) + "{% endfilter %}"
    if r < 0.86:
        return "{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m(" + expr(rng) + ") }}"
    if r < 0.88:
        return (
            "{% macro m(l) %}[{{ l.index }}/{{ l.length }}]{% endmacro %}{% for x in "
            + expr(rng)
            + " %}{{ m(loop) }}{% endfor %}"
        )
    if r < 0.9:
        return (
            "{% autoescape true %}"
            + stmt(rng, d + 1)
            + "{{ '<b>' ~ "
            + expr(rng)
            + " }}{% endautoescape %}"
        )
    return "{% if " + expr(rng) + " %}T" + stmt(rng, d + 1) + "{% else %}F{% endif %}"


@pytest.mark.parametrize("seed", range(6))
def test_random_templates_render_as_jinjas_own_sandbox(seed: int) -> None:
    rng = random.Random(f"sandbox-differential-{seed}")
    env = SandboxedEnvironment(undefined=StrictUndefined)
    compared = 0
    for _ in range(200):
        template = stmt(rng) + stmt(rng)
        try:
            expected = env.from_string(template).render()
        except Exception:  # Jinja fails it: promptctl may fail it too, or not
            continue
        if " object" in expected.lower():  # an address in a repr: no two runs agree
            continue
        assert render_template(template, {}) == expected, template
        compared += 1
    assert compared >= 30  # about one in five random templates is one Jinja renders
