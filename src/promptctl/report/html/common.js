"use strict";
// Shared helpers. Untrusted text (outputs, names, reasons) only ever goes through
// textContent / text nodes / setAttribute: nothing here parses a string as HTML.

function el(tag, attrs, ...kids) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
}

function setAttrs(node, attrs) {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key === "cls" ? "class" : key, value === true ? "" : String(value));
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...kids) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
}

function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"; }
function num(v, digits) { return v === null || v === undefined ? "–" : v.toFixed(digits); }
function ms(v) { return v === null || v === undefined ? "–" : Math.round(v) + " ms"; }

// Mirrors promptctl.report.money.format_usd: 2-3 significant digits below a dollar.
function usd(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "unknown";
  const sign = v < 0 ? "-" : "";
  const a = Math.abs(v);
  if (a === 0) return "$0.00";
  if (a < 1e-6) return sign + "<$0.000001";
  if (a >= 1) {
    return sign + "$" + a.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  const decimals = Math.min(8, Math.max(2, 2 - Math.floor(Math.log10(a))));
  let text = a.toFixed(decimals).replace(/0+$/, "");
  let [whole, frac] = text.split(".");
  frac = (frac || "").padEnd(2, "0");
  return sign + "$" + whole + "." + frac;
}

function signedPct(v) {
  if (v === null || v === undefined) return "–";
  return (v > 0 ? "+" : "") + v.toFixed(1) + "%";
}

function badge(status) {
  return el("span", { cls: "badge s-" + (status || "none"), text: status || "—" });
}

function table(headers, rows, numericFrom) {
  const head = el("tr", null, ...headers.map((h, i) =>
    el("th", { scope: "col", cls: i >= numericFrom ? "num" : null, text: h })));
  const body = rows.map((cells) => el("tr", null, ...cells.map((c, i) => {
    const td = el("td", { cls: i >= numericFrom ? "num" : null });
    td.append(c instanceof Node ? c : String(c));
    return td;
  })));
  return el("div", { cls: "scroll" }, el("table", null, el("thead", null, head), el("tbody", null, ...body)));
}

function kv(pairs) {
  const dl = el("dl", { cls: "kv" });
  for (const [k, v] of pairs) dl.append(el("dt", { text: k }), el("dd", null, v instanceof Node ? v : String(v)));
  return dl;
}

function pre(text, cls) { return el("pre", { cls: cls || null, text: text === null || text === undefined ? "" : text }); }

function option(value, label) { return el("option", { value: value, text: label === undefined ? value : label }); }

function selectBox(label, values, onChange) {
  const box = el("select", { "aria-label": label, onchange: onChange }, option("", "all"));
  for (const v of values) box.append(option(v));
  return [el("label", null, label, box), box];
}

function unique(values) { return Array.from(new Set(values)).sort(); }
