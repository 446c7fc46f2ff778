"use strict";
(function start() {
  const main = document.getElementById("main");
  const data = JSON.parse(document.getElementById("data").textContent);
  main.replaceChildren();
  if (data.kind === "diff") renderDiff(data, main); else renderRun(data, main);
  document.documentElement.dataset.ready = "true";
  performance.mark("promptctl-ready");  // time to interactive, read by bench/html_report.py
})();
