"use strict";
// The run report: summary per prompt x target, charts, and the tests x targets matrix
// with filters, search and a detail panel. Only PAGE rows are in the DOM at a time, so
// filtering 10,000 cases re-renders a page, never the whole run.
const PAGE = 200;

function renderRun(data, main) {
  const run = data.run || {};
  const cases = data.cases;
  const tags = data.tags || {};
  const totals = { pass: 0, fail: 0, error: 0, skipped: 0 };
  for (const c of cases) totals[c.status] = (totals[c.status] || 0) + 1;
  main.append(
    el("h1", { text: "promptctl run " + (run.id || "") }),
    el("p", { cls: "meta", text: [run.started_at && "started " + run.started_at, run.mode && "mode " + run.mode,
      run.git_commit && "commit " + String(run.git_commit).slice(0, 12), run.interrupted && "INTERRUPTED (partial)",
      `${cases.length} cases: ${totals.pass} passed, ${totals.fail} failed, ${totals.error} errored, ${totals.skipped} skipped`]
      .filter(Boolean).join(" · ") }),
    el("h2", { text: "Summary per prompt × target" }),
    summaryTable(data.summary),
  );
  main.append(runCharts(data));
  main.append(el("h2", { id: "cases-h", text: "Tests × targets" }));
  matrixView(main, cases, tags);
}

function summaryTable(summary) {
  const rows = summary.map((s) => {
    const ci = s.pass_rate_ci95 ? ` [${pct(s.pass_rate_ci95[0])}–${pct(s.pass_rate_ci95[1])}]` : "";
    const rate = s.pass_rate === null ? "–" : `${pct(s.pass_rate)} (${s.passed}/${s.passed + s.failed})${ci}`;
    let cost = s.cost_usd === null ? "unknown" : usd(s.cost_usd);
    if (s.cost_unknown_cases) cost += ` (+${s.cost_unknown_cases} unpriced)`;
    // no token counted for answered cases: their usage was unknown, not zero (summary.py)
    const tokens = !s.input_tokens && !s.output_tokens && s.passed + s.failed
      ? "unknown" : `${s.input_tokens}/${s.output_tokens}`;
    return [`${s.prompt}@${s.version}`, s.target, rate, num(s.mean_score, 2),
      tokens, cost, ms(s.latency_p50_ms), ms(s.latency_p95_ms), s.errors];
  });
  const t = table(["prompt", "target", "pass rate", "score", "tokens in/out", "cost", "p50", "p95", "errors"], rows, 2);
  t.id = "summary";
  return t;
}

function runCharts(data) {
  const box = el("section", { "aria-labelledby": "charts-h" }, el("h2", { id: "charts-h", text: "Charts" }));
  const grid = el("div", { cls: "charts" });
  const points = data.targets.filter((p) => p.pass_rate !== null && p.cost_per_case !== null);
  if (points.length) {
    const top = Math.max(...points.map((p) => p.pass_rate));
    const input = el("input", { type: "number", min: 0, max: 100, step: 1, value: Math.round(top * 100),
      id: "bar", "aria-label": "pass-rate bar in percent" });
    const fig = el("figure", { id: "scatter" });
    const caption = el("figcaption", { text: "Cost per case vs pass rate, per target" });
    const note = el("p", { cls: "muted" });
    const holder = el("div");
    const draw = () => {
      const bar = Math.min(100, Math.max(0, Number(input.value) || 0)) / 100;
      const [chart, best] = costScatter(points, bar);
      holder.replaceChildren(chart);
      note.textContent = best ? `cheapest target at ≥ ${pct(bar)}: ${best.target} (${usd(best.cost_per_case)} per case)`
        : `no priced target reaches ${pct(bar)}`;
      note.id = "cheapest";
    };
    input.addEventListener("input", draw);
    fig.append(caption, el("label", { cls: "muted" }, "bar (%) ", input), holder, note);
    draw();
    grid.append(fig);
  }
  const byTarget = new Map();
  for (const c of data.cases) {
    if ((c.status === "pass" || c.status === "fail") && !c.cached && c.latency_ms !== null) {
      if (!byTarget.has(c.target)) byTarget.set(c.target, []);
      byTarget.get(c.target).push(c.latency_ms);
    }
  }
  const series = Array.from(byTarget, ([name, values]) => ({ name, values }));
  grid.append(el("figure", { id: "latency" }, el("figcaption", { text: "Latency distribution (uncached answers)" }), histogram(series)));
  if (data.history && data.history.length > 1) {
    grid.append(el("figure", { id: "history" }, el("figcaption", { text: "Pass rate per prompt, last runs" }), historyLines(data.history)));
  }
  box.append(grid);
  return box;
}

function matrixView(main, cases, tags) {
  const targets = unique(cases.map((c) => c.target));
  const rowsByKey = new Map();
  for (const c of cases) {
    const key = c.prompt + "\u0000" + c.test + "\u0000" + c.repeat;
    let row = rowsByKey.get(key);
    if (!row) { row = { prompt: c.prompt, test: c.test, repeat: c.repeat, cells: new Map() }; rowsByKey.set(key, row); }
    row.cells.set(c.target, c);
  }
  const rows = Array.from(rowsByKey.values());
  const state = { prompt: "", target: "", status: "", tag: "", q: "", limit: PAGE, selected: null };
  const refresh = () => { state.limit = PAGE; draw(); };
  const [promptL, promptS] = selectBox("prompt", unique(cases.map((c) => c.prompt)), (e) => { state.prompt = e.target.value; refresh(); });
  const [targetL, targetS] = selectBox("target", targets, (e) => { state.target = e.target.value; refresh(); });
  const [statusL] = selectBox("status", ["pass", "fail", "error", "skipped"], (e) => { state.status = e.target.value; refresh(); });
  const allTags = unique(Object.values(tags).flat());
  const [tagL] = selectBox("tag", allTags, (e) => { state.tag = e.target.value; refresh(); });
  if (!allTags.length) tagL.querySelector("select").disabled = true;
  const search = el("input", { type: "search", id: "search", placeholder: "search tests, outputs, reasons  ( / )",
    "aria-label": "search tests, outputs and reasons" });
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { state.q = search.value.trim().toLowerCase(); refresh(); }, 60); });
  const filters = el("div", { cls: "filters", role: "search" }, promptL, targetL, statusL, tagL, el("label", null, "search", search));
  const count = el("p", { cls: "count", id: "count", "aria-live": "polite" });
  const tbody = el("tbody");
  const thead = el("thead");
  const more = el("button", { type: "button", id: "more", hidden: true, text: "Show more" });
  more.addEventListener("click", () => { state.limit += PAGE; draw(); });
  const detail = el("aside", { cls: "detail", id: "detail", tabindex: -1, "aria-live": "polite", "aria-label": "case detail" },
    el("p", { cls: "empty", text: "Select a case (click, or arrow keys and Enter) to see its messages, output and assertions." }));
  const matrix = el("table", { cls: "matrix", id: "matrix" }, thead, tbody);
  main.append(filters, count, el("div", { cls: "layout" }, el("div", null, el("div", { cls: "scroll" }, matrix), more), detail));
  const haystack = new Map();
  const text = (c) => {
    let h = haystack.get(c);
    if (h === undefined) {
      h = [c.prompt, c.test, c.target, c.output || "", c.error ? c.error.kind + " " + c.error.message : "",
        ...(c.assertions || []).map((a) => a.type + " " + (a.reason || ""))].join("\n").toLowerCase();
      haystack.set(c, h);
    }
    return h;
  };
  const matches = (c) => (!state.prompt || c.prompt === state.prompt) && (!state.target || c.target === state.target)
    && (!state.status || c.status === state.status) && (!state.tag || (Object.hasOwn(tags, c.prompt) && tags[c.prompt].includes(state.tag)))
    && (!state.q || text(c).includes(state.q));

  function draw() {
    const cols = state.target ? [state.target] : targets;
    const shown = [];
    let caseCount = 0;
    for (const row of rows) {
      let any = false;
      for (const t of cols) { const c = row.cells.get(t); if (c && matches(c)) { any = true; caseCount++; } }
      if (any) shown.push(row);
    }
    count.textContent = `${shown.length} of ${rows.length} tests shown (${caseCount} of ${cases.length} cases match)`;
    thead.replaceChildren(el("tr", null, el("th", { scope: "col", text: "prompt › test" }),
      ...cols.map((t) => el("th", { scope: "col", text: t }))));
    const page = shown.slice(0, state.limit);
    let first = true;
    tbody.replaceChildren(...page.map((row, r) => {
      const name = row.prompt + " › " + row.test + (row.repeat ? ` #${row.repeat}` : "");
      return el("tr", null, el("td", { cls: "name", text: name }), ...cols.map((t, k) => {
        const c = row.cells.get(t);
        if (!c) return el("td", { cls: "cell muted", text: "—" });
        const b = el("button", { type: "button", cls: "badge s-" + c.status + (matches(c) ? "" : " dim"),
          "data-r": r, "data-c": k, tabindex: first ? 0 : -1, "aria-pressed": state.selected === c ? "true" : "false",
          "aria-label": `${name} on ${t}: ${c.status}`, text: c.status + (c.score !== null && c.status !== "error" ? " " + c.score.toFixed(2) : "") });
        first = false;
        b.addEventListener("click", () => { state.selected = c; showCase(detail, c);
          if (window.innerWidth <= 900) detail.scrollIntoView({ block: "start" });  // stacked layout
          for (const p of tbody.querySelectorAll("button[aria-pressed=true]")) p.setAttribute("aria-pressed", "false");
          b.setAttribute("aria-pressed", "true"); });
        return el("td", { cls: "cell" }, b);
      }));
    }));
    if (!page.length) tbody.append(el("tr", null, el("td", { colspan: cols.length + 1, cls: "empty", text: "No case matches the filters." })));
    more.hidden = shown.length <= state.limit;
    more.textContent = `Show more (${shown.length - page.length} hidden)`;
  }

  tbody.addEventListener("keydown", (e) => {
    const b = e.target.closest("button[data-r]");
    if (!b) return;
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1], Home: [0, -99], End: [0, 99] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const buttons = Array.from(tbody.querySelectorAll("button[data-r]"));
    const r = Number(b.dataset.r) + m[0], k = Number(b.dataset.c) + m[1];
    const target = m[0] !== 0
      ? buttons.filter((x) => Number(x.dataset.r) === r).sort((x, y) => Math.abs(x.dataset.c - k) - Math.abs(y.dataset.c - k))[0]
      : buttons.filter((x) => Number(x.dataset.r) === r && (m[1] > 0 ? Number(x.dataset.c) > Number(b.dataset.c) : Number(x.dataset.c) < Number(b.dataset.c)))
        .sort((x, y) => Math.abs(x.dataset.c - k) - Math.abs(y.dataset.c - k))[0];
    if (!target) return;
    b.tabIndex = -1; target.tabIndex = 0; target.focus();
  });
  detail.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    const b = tbody.querySelector("button[aria-pressed=true]") || tbody.querySelector("button[data-r]");
    if (b) b.focus();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "/" && document.activeElement !== search) { e.preventDefault(); search.focus(); }
  });
  draw();
}

function showCase(detail, c) {
  const u = c.usage || {};
  const tokens = `${u.input_tokens || 0} in / ${u.output_tokens || 0} out` +
    (u.cached_input_tokens ? `, ${u.cached_input_tokens} cached` : "") + (u.reasoning_tokens ? `, ${u.reasoning_tokens} reasoning` : "");
  const pairs = [["status", badge(c.status)], ["target", c.target]];
  if (c.answered_by && c.answered_by !== c.target) pairs.push(["answered by", c.answered_by]);
  pairs.push(["version", c.version], ["score", num(c.score, 3)], ["tokens", tokens], ["cost", usd(c.cost_usd)],
    ["latency", ms(c.latency_ms) + (c.cached ? " (cached)" : "")]);
  if (c.repeat) pairs.push(["repeat", "#" + c.repeat]);
  for (const f of c.fallbacks_tried || []) pairs.push(["fallback tried", f.target + (f.reason ? ": " + f.reason : "")]);
  const parts = [el("h3", { id: "detail-title", text: `${c.prompt} › ${c.test}` }), kv(pairs)];
  if (c.error) parts.push(el("h3", { text: "Error" }), pre(`${c.error.kind}: ${c.error.message}`, "error"));
  if (c.messages) {
    parts.push(el("h3", { text: "Messages" }));
    for (const m of c.messages) parts.push(el("div", { cls: "msg-role", text: m.role }), pre(m.content, "message"));
  } else if (c.vars && Object.keys(c.vars).length) {
    parts.push(el("h3", { text: "Inputs" }), pre(JSON.stringify(c.vars, null, 2), "vars"));
  }
  parts.push(el("h3", { text: "Output" }), c.output === null ? el("p", { cls: "empty", text: "no output" }) : pre(c.output, "output"));
  const calls = c.tool_calls || [];
  if (calls.length) {
    parts.push(el("h3", { text: "Tool calls" }));
    const t = table(["tool", "arguments", "valid"], calls.map((k) => [k.name, JSON.stringify(k.arguments),
      k.arguments_valid ? "yes" : "no: " + (k.arguments_error || "")]), 99);
    t.id = "tool-calls";
    parts.push(t);
  }
  const asserts = c.assertions || [];
  if (asserts.length) {
    parts.push(el("h3", { text: "Assertions" }));
    const t = table(["assertion", "result", "score", "reason"],
      asserts.map((a) => [a.type, badge(a.pass ? "pass" : "fail"), num(a.score, 2), a.reason || ""]), 99);
    t.id = "assertions";
    parts.push(t);
  }
  detail.replaceChildren(...parts);
}
