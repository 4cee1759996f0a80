"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let editing = false;

  async function call(path) {
    try {
      const r = await fetch(path, { method: "POST", cache: "no-store" });
      const text = await r.text();
      $("error").textContent = r.ok ? "" : text;
    } catch (e) {
      $("error").textContent = String(e);
    }
    refresh();
  }

  function show(state, stats) {
    $("state").textContent = JSON.stringify(state, null, 2);
    $("stats").textContent = JSON.stringify(stats, null, 2);
    for (const b of document.querySelectorAll("button[data-role]")) {
      b.classList.toggle("active", state[b.dataset.role] === b.dataset.mode);
    }
    if (!editing) {
      $("slow-ms").value = state.slowMs;
      $("flap-ms").value = state.flapMs;
      $("delay-ms").value = state.delayMs;
    }
  }

  async function refresh() {
    try {
      const [state, stats] = await Promise.all([
        fetch("/state", { cache: "no-store" }).then((r) => r.json()),
        fetch("/stats", { cache: "no-store" }).then((r) => r.json()),
      ]);
      show(state, stats);
    } catch (e) {
      $("error").textContent = "control API unreachable: " + e;
    }
  }

  for (const b of document.querySelectorAll("button[data-role]")) {
    b.addEventListener("click", () => call("/" + b.dataset.role + "/" + b.dataset.mode));
  }
  for (const id of ["slow-ms", "flap-ms", "delay-ms"]) {
    $(id).addEventListener("focus", () => { editing = true; });
    $(id).addEventListener("blur", () => { editing = false; });
  }
  const num = (id) => String(Math.max(0, parseInt($(id).value, 10) || 0));
  $("set-slow").addEventListener("click", () => call("/leader/slow?ms=" + num("slow-ms")));
  $("set-flap").addEventListener("click", () => call("/leader/flapping?ms=" + num("flap-ms")));
  $("set-delay").addEventListener("click", () => call("/delay/" + num("delay-ms")));
  $("reset").addEventListener("click", () => call("/reset"));
  refresh();
  setInterval(refresh, 1000);
})();
