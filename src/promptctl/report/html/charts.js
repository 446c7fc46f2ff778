"use strict";
// Small inline-SVG charts; every label is a text node.
const PALETTE = ["#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e", "#1b7c83", "#6e7781"];

function chartFrame(width, height) {
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
}

function axes(g, x0, y0, x1, y1) {
  g.append(svg("line", { cls: "axis", x1: x0, y1: y0, x2: x1, y2: y0 }));
  g.append(svg("line", { cls: "axis", x1: x0, y1: y0, x2: x0, y2: y1 }));
}

// The cheapest target whose pass rate reaches `bar` (0..1), or null.
function cheapestMeeting(points, bar) {
  let best = null;
  for (const p of points) {
    if (p.pass_rate === null || p.cost_per_case === null || p.pass_rate + 1e-12 < bar) continue;
    if (best === null || p.cost_per_case < best.cost_per_case) best = p;
  }
  return best;
}

function costScatter(points, bar) {
  const W = 420, H = 240, L = 56, B = 200, R = 400, T = 14;
  const chart = chartFrame(W, H);
  chart.setAttribute("aria-label", "cost per case against pass rate, per target");
  const priced = points.filter((p) => p.pass_rate !== null && p.cost_per_case !== null);
  axes(chart, L, B, R, T);
  const maxCost = Math.max(...priced.map((p) => p.cost_per_case), 0) || 1;
  const x = (c) => L + 10 + (c / maxCost) * (R - L - 30);
  const y = (r) => B - r * (B - T);
  chart.append(svg("text", { x: L - 6, y: y(1) + 4, "text-anchor": "end", text: "100%" }));
  chart.append(svg("text", { x: L - 6, y: B, "text-anchor": "end", text: "0%" }));
  chart.append(svg("text", { x: R, y: B + 28, "text-anchor": "end", text: "cost per case → " + usd(maxCost) }));
  chart.append(svg("line", { cls: "axis", x1: L, x2: R, y1: y(bar), y2: y(bar), "stroke-dasharray": "4 3" }));
  const best = cheapestMeeting(priced, bar);
  for (const p of priced) {
    const isBest = best !== null && p.target === best.target;
    const dot = svg("circle", { cx: x(p.cost_per_case), cy: y(p.pass_rate), r: isBest ? 7 : 5,
      cls: isBest ? "best" : "pt", "data-target": p.target });
    dot.append(svg("title", { text: `${p.target}: ${pct(p.pass_rate)}, ${usd(p.cost_per_case)} per case` }));
    const right = x(p.cost_per_case) > (L + R) / 2;  // label on the side with room
    chart.append(dot, svg("text", { x: x(p.cost_per_case) + (right ? -10 : 10), y: y(p.pass_rate) + 4,
      "text-anchor": right ? "end" : "start", text: p.target }));
  }
  return [chart, best];
}

function histogram(series) {
  // series: [{name, values}] -> overlaid bar histogram with shared bins
  const W = 420, H = 240, L = 40, B = 196, R = 410, T = 14, BINS = 12;
  const chart = chartFrame(W, H);
  chart.setAttribute("aria-label", "latency distribution per target");
  const all = series.flatMap((s) => s.values);
  axes(chart, L, B, R, T);
  if (!all.length) {
    chart.append(svg("text", { x: L + 10, y: B / 2, text: "no timed (uncached) answers" }));
    return chart;
  }
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi === lo) hi = lo + 1;
  const width = (hi - lo) / BINS;
  const counts = series.map((s) => {
    const c = new Array(BINS).fill(0);
    for (const v of s.values) c[Math.min(BINS - 1, Math.floor((v - lo) / width))] += 1;
    return c;
  });
  const peak = Math.max(...counts.flat(), 1);
  const slot = (R - L) / BINS, barW = Math.max(1, slot / series.length - 1);
  counts.forEach((c, si) => c.forEach((n, bi) => {
    if (!n) return;
    const h = (n / peak) * (B - T);
    const bar = svg("rect", { x: L + bi * slot + si * barW, y: B - h, width: barW, height: h,
      fill: PALETTE[si % PALETTE.length] });
    bar.append(svg("title", { text: `${series[si].name}: ${n} between ${ms(lo + bi * width)} and ${ms(lo + (bi + 1) * width)}` }));
    chart.append(bar);
  }));
  chart.append(svg("text", { x: L - 4, y: T + 8, "text-anchor": "end", text: String(peak) }));
  chart.append(svg("text", { x: L - 4, y: B, "text-anchor": "end", text: "0" }));
  chart.append(svg("text", { x: L, y: B + 16, text: ms(lo) }));
  chart.append(svg("text", { x: R, y: B + 16, "text-anchor": "end", text: ms(hi) }));
  series.forEach((s, i) => chart.append(svg("text", { x: L + 4, y: B + 32 + 0 * i, dx: i * 130,
    fill: PALETTE[i % PALETTE.length], text: "■ " + s.name })));
  return chart;
}

function historyLines(history) {
  const W = 420, H = 240, L = 40, B = 196, R = 410, T = 14;
  const chart = chartFrame(W, H);
  chart.setAttribute("aria-label", "pass rate per prompt over the last runs");
  axes(chart, L, B, R, T);
  const prompts = unique(history.flatMap((h) => Object.keys(h.pass_rate)));
  const x = (i) => L + (history.length > 1 ? (i / (history.length - 1)) * (R - L - 10) : (R - L) / 2);
  const y = (r) => B - r * (B - T);
  chart.append(svg("text", { x: L - 4, y: y(1) + 4, "text-anchor": "end", text: "100%" }));
  chart.append(svg("text", { x: L - 4, y: B, "text-anchor": "end", text: "0%" }));
  chart.append(svg("text", { x: R, y: B + 16, "text-anchor": "end", text: `last ${history.length} runs →` }));
  prompts.forEach((p, pi) => {
    const color = PALETTE[pi % PALETTE.length];
    const pts = [];
    history.forEach((h, i) => {
      const r = h.pass_rate[p];
      if (r === null || r === undefined) return;
      pts.push(`${x(i).toFixed(1)},${y(r).toFixed(1)}`);
      const dot = svg("circle", { cx: x(i), cy: y(r), r: 3, fill: color });
      dot.append(svg("title", { text: `${p} in ${h.run}: ${pct(r)}` }));
      chart.append(dot);
    });
    chart.append(svg("polyline", { cls: "line", stroke: color, points: pts.join(" ") }));
    chart.append(svg("text", { x: L + 4 + (pi % 3) * 130, y: B + 32 + Math.floor(pi / 3) * 13, fill: color, text: "■ " + p }));
  });
  chart.setAttribute("viewBox", `0 0 ${W} ${H + Math.floor(prompts.length / 3) * 13}`);
  return chart;
}

function pairBars(rows, label) {
  // rows: [{name, base, head, fmt}] -> a label line, then base and head bars per row,
  // each row scaled to its own maximum
  const rowH = 46, W = 420, L = 8, R = 300;
  const chart = chartFrame(W, rows.length * rowH + 6);
  chart.setAttribute("aria-label", label);
  rows.forEach((row, i) => {
    const top = 4 + i * rowH;
    const peak = Math.max(row.base || 0, row.head || 0) || 1;
    chart.append(svg("text", { x: L, y: top + 11, text: row.name }));
    [["base", row.base, 0], ["head", row.head, 1]].forEach(([side, v, k]) => {
      const w = v === null ? 0 : (v / peak) * (R - L);
      chart.append(svg("rect", { cls: "bar " + side, x: L, y: top + 16 + k * 13, width: Math.max(w, 1), height: 11 }));
      chart.append(svg("text", { x: L + w + 4, y: top + 26 + k * 13, text: `${side} ${row.fmt(v)}` }));
    });
  });
  return chart;
}
