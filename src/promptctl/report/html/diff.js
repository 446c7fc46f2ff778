"use strict";
// The diff report: the verdict and its reasons first, the figures per prompt x target,
// the per-test changes with both outputs side by side and a word-level diff, then what
// changed in the prompts.
const STATUSES = ["regressed", "fixed", "flaky", "new", "removed", "still_failing", "errored", "passing"];

function renderDiff(data, main) {
  main.append(
    el("h1", { text: "promptctl diff" }),
    el("div", { cls: "verdict v-" + data.verdict, id: "verdict", role: "status", text: data.verdict_line }),
  );
  if (data.reasons.length) main.append(el("ul", { cls: "reasons", id: "reasons" }, ...data.reasons.map((r) => el("li", { text: r }))));
  const base = data.base_run || {}, head = data.head_run || {};
  main.append(el("p", { cls: "meta", text: `base: ${base.source || base.id || "?"} · head: ${head.source || head.id || "?"}` }));
  main.append(el("h2", { text: "Per prompt × target" }), groupTable(data.groups));
  const groups = data.groups.filter((g) => g.base || g.head);
  if (groups.length) {
    const name = (g) => `${g.prompt} (${g.target})`;
    const side = (g, s, k) => (g[s] ? g[s][k] : null);
    main.append(el("div", { cls: "charts" },
      el("figure", { id: "cost-chart" }, el("figcaption", { text: "Cost per case, base vs head" }),
        pairBars(groups.map((g) => ({ name: name(g), base: side(g, "base", "cost_per_case"), head: side(g, "head", "cost_per_case"), fmt: usd })), "cost per case, base and head")),
      el("figure", { id: "latency-chart" }, el("figcaption", { text: "p95 latency, base vs head" }),
        pairBars(groups.map((g) => ({ name: name(g), base: side(g, "base", "latency_p95_ms"), head: side(g, "head", "latency_p95_ms"), fmt: ms })), "p95 latency, base and head"))));
  }
  testsView(main, data.groups);
  changesView(main, data.prompt_changes || []);
  const gate = data.gate;
  main.append(el("p", { cls: "muted", text: `Gate: exact sign test per prompt × target on per-test pass rates, Holm-corrected, alpha=${gate.alpha}; ` +
    `max pass-rate drop ${pct(gate.max_pass_rate_drop)}; max cost increase ${gate.max_cost_increase_pct === null ? "off" : gate.max_cost_increase_pct + "%"}; ` +
    `max p95 latency increase ${gate.max_p95_latency_increase_pct === null ? "off" : gate.max_p95_latency_increase_pct + "%"}.` }));
}

function arrow(a, b, fmt) { return `${fmt(a)} → ${fmt(b)}`; }

function deltaCell(text, change) {
  const span = el("span", { text });
  if (change !== null && change !== undefined && change !== 0) {
    span.append(" ", el("span", { cls: change > 0 ? "delta-up" : "delta-down", text: `(${signedPct(change)})` }));
  }
  return span;
}

function groupTable(groups) {
  const v = (g, s, k) => (g[s] ? g[s][k] : null);
  const rows = groups.map((g) => [g.prompt, g.target, badge(g.verdict === "pass" ? "pass" : g.verdict === "fail" ? "fail" : "error"),
    arrow(v(g, "base", "pass_rate"), v(g, "head", "pass_rate"), pct),
    arrow(v(g, "base", "mean_score"), v(g, "head", "mean_score"), (x) => num(x, 3)),
    deltaCell(arrow(v(g, "base", "cost_per_case"), v(g, "head", "cost_per_case"), usd), g.cost_change_pct),
    arrow(v(g, "base", "latency_p50_ms"), v(g, "head", "latency_p50_ms"), ms),
    deltaCell(arrow(v(g, "base", "latency_p95_ms"), v(g, "head", "latency_p95_ms"), ms), g.latency_p95_change_pct),
    arrow(v(g, "base", "errors"), v(g, "head", "errors"), (x) => (x === null ? "–" : String(x)))]);
  for (const [i, g] of groups.entries()) rows[i][2].textContent = g.verdict;
  const t = table(["prompt", "target", "verdict", "pass rate", "score", "cost / case", "p50", "p95", "errors"], rows, 3);
  t.id = "groups";
  return t;
}

function rate(r, n) { return r === null ? "—" : `${Math.round(r * n)}/${n}`; }

function testsView(main, groups) {
  const all = [];
  for (const g of groups) for (const t of g.tests) all.push({ g, t });
  const counts = {};
  for (const { t } of all) counts[t.status] = (counts[t.status] || 0) + 1;
  const selected = new Set(STATUSES.filter((s) => s !== "passing" && counts[s]));
  const chips = el("div", { cls: "chips", role: "group", "aria-label": "show tests by change" });
  for (const s of STATUSES) {
    if (!counts[s]) continue;
    const b = el("button", { type: "button", "data-status": s, "aria-pressed": selected.has(s) ? "true" : "false", text: `${s.replace("_", " ")} (${counts[s]})` });
    b.addEventListener("click", () => {
      if (selected.has(s)) selected.delete(s); else selected.add(s);
      b.setAttribute("aria-pressed", selected.has(s) ? "true" : "false");
      draw();
    });
    chips.append(b);
  }
  const search = el("input", { type: "search", id: "search", placeholder: "search tests and outputs  ( / )", "aria-label": "search tests and outputs" });
  search.addEventListener("input", () => draw());
  document.addEventListener("keydown", (e) => {
    if (e.key === "/" && document.activeElement !== search) { e.preventDefault(); search.focus(); }
  });
  const count = el("p", { cls: "count", id: "count", "aria-live": "polite" });
  const list = el("div", { id: "tests" });
  main.append(el("h2", { text: "Per-test changes" }), el("div", { cls: "filters" }, chips, el("label", null, "search", search)), count, list);
  function draw() {
    const q = search.value.trim().toLowerCase();
    const shown = all.filter(({ g, t }) => selected.has(t.status) && (!q ||
      [g.prompt, g.target, t.test, t.base_output || "", t.head_output || "", ...t.reasons].join("\n").toLowerCase().includes(q)));
    count.textContent = `${shown.length} of ${all.length} tests shown`;
    list.replaceChildren(...shown.slice(0, PAGE).map(({ g, t }) => testBlock(g, t)));
    if (shown.length > PAGE) list.append(el("p", { cls: "muted", text: `… ${shown.length - PAGE} more; narrow the filters or search` }));
  }
  draw();
}

function testBlock(g, t) {
  const summary = el("summary", null, badge(t.status === "fixed" ? "pass" : t.status === "regressed" ? "fail" : "skipped"), " ",
    el("strong", { text: t.test }), ` — ${g.prompt} (${g.target}): base ${rate(t.base_rate, t.base_runs)} → head ${rate(t.head_rate, t.head_runs)}`);
  summary.firstChild.textContent = t.status.replace("_", " ");
  const body = el("div");
  if (t.reasons.length) body.append(el("ul", null, ...t.reasons.map((r) => el("li", { text: r }))));
  if (t.base_output !== null || t.head_output !== null) {
    body.append(el("div", { cls: "side" },
      el("div", null, el("h3", { text: "base output" }), t.base_output === null ? el("p", { cls: "empty", text: "none" }) : pre(t.base_output, "base")),
      el("div", null, el("h3", { text: "head output" }), t.head_output === null ? el("p", { cls: "empty", text: "none" }) : pre(t.head_output, "head"))));
  }
  if (t.words) {
    const out = el("pre", { cls: "words" });
    for (const [op, text] of t.words) out.append(op === "=" ? document.createTextNode(text) : el(op === "-" ? "del" : "ins", { text }));
    body.append(el("h3", { text: "word diff (base → head)" }), out);
  }
  const d = el("details", { cls: "test", "data-status": t.status }, summary, body);
  if (t.status === "regressed") d.open = true;
  return d;
}

function changesView(main, changes) {
  const shown = changes.filter((c) => c.status !== "unchanged");
  const section = el("section", { id: "prompt-changes" }, el("h2", { text: "What changed in the prompts" }));
  if (!shown.length) section.append(el("p", { cls: "empty", text: changes.length ? "No prompt changed." : "Unknown (a side has no prompt files, e.g. a results file without its commit)." }));
  for (const c of shown) {
    section.append(el("h3", { text: `${c.prompt} ${c.status} (${c.base_version || "—"} → ${c.head_version || "—"})` }));
    const items = [...c.changes.map((x) => el("li", null, el("code", { text: x }))),
      ...c.tests_added.map((x) => el("li", { text: "test added: " + x })), ...c.tests_removed.map((x) => el("li", { text: "test removed: " + x }))];
    if (items.length) section.append(el("ul", null, ...items));
    for (const [label, diff] of c.template_diffs) {
      const out = el("pre", { cls: "udiff" });
      for (const line of diff.split("\n")) {
        const cls = line.startsWith("+") && !line.startsWith("+++") ? "d-add" : line.startsWith("-") && !line.startsWith("---") ? "d-del" : null;
        out.append(el("span", { cls, text: line + "\n" }));
      }
      section.append(el("details", { cls: "test", open: true }, el("summary", { text: label }), el("div", null, out)));
    }
  }
  main.append(section);
}
