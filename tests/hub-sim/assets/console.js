// The demo console: switches the simulator's servers through its control API (a CORS
// simple request) and shows what each side receives, next to the landing page in a frame.
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const KINDS = ["probes", "reads", "writes", "preflights"];
const WINDOW_MS = 60_000;
const BUCKET_MS = 5_000;
const CHART_MS = 180_000;

// What the browser sees in each mode (spec §7).
const HELP = {
  leader: {
    up: "Answers every request.",
    "app-down": "The app is down behind NGINX: a fast 502 with an HTML page.",
    refused: "Host off, port closed: every connection is refused.",
    blackout: "Site dark: connections are accepted and never answered.",
    slow: "Answers, but only after the slow delay (longer than the page's timeout).",
    "wrong-body": "A captive portal: 200 with a page that is not the API's.",
    flapping: "Alternates between up and 502 every few seconds.",
  },
  follower: {
    up: "Answers reads; refuses writes (read-only replica).",
    refused: "Unreachable: every connection is refused.",
    down: "A 503 for everything.",
  },
};

let control = "";
const samples = []; // { t, leader: {...counters}, follower: {...counters} }

function showError(text) {
  $("error").textContent = text;
}

async function call(path) {
  try {
    const res = await fetch(control + path, { method: "POST", cache: "no-store" });
    showError(res.ok ? "" : `${path}: ${res.status} ${await res.text()}`);
  } catch (e) {
    showError(`control API unreachable (${e})`);
  }
  await poll();
}

/** What arrived in the last minute (since the first sample, while there is less history). */
function lastMinute(role, kind, now) {
  const old = samples.find((s) => now.t - s.t <= WINDOW_MS) ?? now;
  return now[role][kind] - old[role][kind];
}

function pick(side) {
  return { requests: side.requests, probes: side.probes, reads: side.reads, writes: side.writes, preflights: side.preflights };
}

function record(stats) {
  const now = { t: Date.now(), leader: pick(stats.leader), follower: pick(stats.follower) };
  const last = samples[samples.length - 1];
  // A reset (or a restarted simulator) starts the history again.
  if (last && (now.leader.requests < last.leader.requests || now.follower.requests < last.follower.requests)) samples.length = 0;
  samples.push(now);
  while (samples.length && now.t - samples[0].t > CHART_MS + BUCKET_MS) samples.shift();
  return now;
}

function showSide(role, side, now) {
  $(`${role}-mode`).textContent = side.mode;
  $(`${role}-help`).textContent = HELP[role][side.mode] ?? "";
  for (const b of document.querySelectorAll(`button[data-role="${role}"]`)) {
    const on = b.dataset.mode === side.mode;
    b.classList.toggle("active", on);
    b.setAttribute("aria-pressed", String(on));
  }
  for (const kind of KINDS) {
    $(`${role}-${kind}`).textContent = side[kind];
    $(`${role}-${kind}-rate`).textContent = String(lastMinute(role, kind, now));
  }
}

function chart() {
  const svg = $("chart");
  svg.replaceChildren();
  if (samples.length < 2) return;
  const end = samples[samples.length - 1].t;
  const n = CHART_MS / BUCKET_MS;
  const buckets = Array.from({ length: n }, () => ({ leader: 0, follower: 0 }));
  for (let i = 1; i < samples.length; i++) {
    const b = n - 1 - Math.floor((end - samples[i].t) / BUCKET_MS);
    if (b < 0) continue;
    for (const role of ["leader", "follower"]) buckets[b][role] += samples[i][role].requests - samples[i - 1][role].requests;
  }
  const max = Math.max(4, ...buckets.map((b) => Math.max(b.leader, b.follower)));
  const w = 360 / n;
  buckets.forEach((b, i) => {
    for (const [k, role] of [[0, "leader"], [1, "follower"]]) {
      if (!b[role]) continue;
      const h = (b[role] / max) * 86;
      const r = document.createElementNS(SVG, "rect");
      r.setAttribute("x", String(i * w + k * (w / 2)));
      r.setAttribute("y", String(90 - h));
      r.setAttribute("width", String(w / 2 - 0.5));
      r.setAttribute("height", String(h));
      r.setAttribute("class", `bar-${role}`);
      svg.append(r);
    }
  });
}

async function poll() {
  let stats;
  try {
    const res = await fetch(control + "/stats", { cache: "no-store" });
    stats = await res.json();
  } catch (e) {
    showError(`control API unreachable (${e})`);
    return;
  }
  if ($("error").textContent.startsWith("control API unreachable")) showError("");
  const now = record(stats);
  showSide("leader", stats.leader, now);
  showSide("follower", stats.follower, now);
  const cost = lastMinute("follower", "requests", now);
  $("cost").textContent = String(cost);
  $("cost").classList.toggle("cost-high", cost > 0);
  const hangs = stats.leader.hangsOpen;
  $("leader-hangs").textContent = hangs ? `${hangs} request${hangs > 1 ? "s" : ""} hanging right now (never answered)` : "";
  chart();
}

async function start() {
  try {
    const servers = await (await fetch("/demo/servers.json", { cache: "no-store" })).json();
    control = servers.control;
  } catch (e) {
    showError(`cannot read /demo/servers.json (${e})`);
    return;
  }
  $("control-url").textContent = control;
  $("control-url").href = control + "/";
  for (const b of document.querySelectorAll("button[data-role]")) {
    b.addEventListener("click", () => call(`/${b.dataset.role}/${b.dataset.mode}`));
  }
  $("reset").addEventListener("click", () => call("/reset"));
  $("reload").addEventListener("click", () => $("page").contentWindow.location.reload());
  await poll();
  setInterval(poll, 1000);
}

start();
