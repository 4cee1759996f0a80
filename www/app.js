// Acme Hub landing page. Every API call goes through health-proxy, which picks our own
// server (the leader) or, for critical reads while it is down, the AWS copy (the follower).
// load() falls back to a leader-only stand-in (state "direct") when the wasm cannot run.
import { load } from "./pkg/load.js";

const $ = (id) => document.getElementById(id);

const BADGE = {
  unknown: "Checking our server…",
  leader: "On our server",
  emergency: "Emergency mode: served by AWS, read-only",
  offline: "Offline",
  direct: "On our server (no failover)",
};
// Each state's explanation is in index.html (#status-detail), shown by body[data-state].
const WHY_NO_WRITE = {
  unknown: "Posting opens once we have found our server.",
  emergency:
    "Posting is paused: our server is unreachable and the AWS copy is read-only. A note sent now could not be saved, so it is not sent. Try again when the badge turns green.",
  offline: "Posting is paused: you appear to be offline. Nothing you type is lost; send it when you are back online.",
};

const TIMELINE_MS = 5 * 60 * 1000;
const samples = []; // { t, state, latency }: one per probe verdict and per state change
let proxy;
let lastCheckedAt = null;
let lastState = "unknown";
let files = null; // the last list from /api/files; its links are redrawn on every state change
// Each list is read once per page view, and again only when the side that should serve it
// changes: back on the leader after the follower served it (or after a failed read). Every
// read in an outage is a billed follower request, and twice the reads is twice the leader's load.
const lists = {
  pages: { read: () => readPages(), by: null, busy: false },
  files: { read: () => readFiles(), by: null, busy: false },
};
let keyHeader = null; // writes.idempotencyKey: the header the proxy puts each write's key in
let unconfirmed = null; // { text, clientId, key }: the note "Send again" resends, same key

boot();

async function boot() {
  // The config and the package load in parallel (index.html preloads both and the wasm),
  // and the first reads go out as soon as the proxy exists: with no verdict yet, the
  // library itself races a silent leader against the follower (spec §8). A wasm that
  // cannot run (blocked by a CSP, missing) leaves a stand-in that sends all to the leader.
  const config = loadConfig();
  try {
    proxy = await load(config);
  } catch (e) {
    if (e.name !== "HealthProxyError") return fatal(`Could not load config.json (${e.message}).`);
    return fatal(`The page is misconfigured — ${e.code ?? e.name}: ${e.message}`);
  }
  if (proxy.state === "direct") {
    $("notice").textContent =
      "Automatic failover is unavailable on this page: everything is served by our server, and the page cannot switch to the AWS copy if it goes down.";
    $("notice").hidden = false;
  }
  const cfg = await config;
  keyHeader = cfg.writes?.idempotencyKey ?? null;
  // For people poking at the demo, and for the end-to-end tests.
  window.hub = { proxy, readPages, readFiles, postNote };

  proxy.onChange(onState);
  $("note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("note-text");
    if (!input.value.trim()) return;
    postNote(input.value.trim()).then((r) => r.ok && (input.value = ""));
  });
  $("note-again").addEventListener("click", () => {
    const n = unconfirmed;
    if (n) postNote(n.text, n.clientId, n.key).then((r) => r.ok && $("note-text").value === n.text && ($("note-text").value = ""));
  });
  // Sent before any verdict: the library races a silent leader against the follower.
  sync();
  const started = await proxy.start();
  window.hub.started = started;
  onState(started);
  setInterval(tick, 500);
}

async function loadConfig() {
  const res = await fetch("config.json");
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

function fatal(message) {
  const box = $("fatal");
  box.textContent = message;
  box.hidden = false;
  setBadge("offline", "Not connected");
  document.body.dataset.state = "error";
  // Nothing could send a note: say so instead of leaving a form that fails on submit.
  $("note-send").disabled = true;
  $("note-text").disabled = true;
  $("note-why").textContent = "Posting is unavailable: the page could not start (see the message above).";
  $("note-why").hidden = false;
  for (const id of ["pages", "files"]) list($(id), [message], () => [el("span", "Not available: the page could not start.")]);
}

function setBadge(state, text) {
  $("status").className = `badge badge-${state}`;
  $("status-text").textContent = text;
}

function onState(snapshot) {
  const state = snapshot.state;
  const changed = state !== lastState;
  lastState = state;
  document.body.dataset.state = state;
  setBadge(state, BADGE[state]);
  record(snapshot, true);

  const canWrite = proxy.canServe("/api/notes", "POST");
  $("note-send").disabled = !canWrite;
  $("note-text").disabled = !canWrite;
  $("note-again").disabled = !canWrite;
  $("note-why").hidden = canWrite;
  $("note-why").textContent = canWrite ? "" : WHY_NO_WRITE[state] ?? "";

  renderFiles();
  if (!changed) return;
  updateHub();
  sync();
}

/** Reads each list that has no answer yet, or one from the follower now that the leader is back. */
function sync() {
  for (const entry of Object.values(lists)) {
    if (entry.busy || entry.by === "leader" || (entry.by === "follower" && lastState !== "leader")) continue;
    entry.busy = true;
    const at = lastState;
    entry.read().then((r) => {
      entry.busy = false;
      if (r.ok) entry.by = r.origin;
      // The state moved on while this read was out (the first verdict, mostly): look again.
      if (lastState !== at) sync();
    });
  }
}

// The proxy's own rules: any follower base (the files bucket too), scheme and host in any case.
const isFollower = (url) => proxy.side(url) === "follower";

/** Loads the handbook; resolves with what happened, for the UI and the tests. */
async function readPages() {
  const t0 = performance.now();
  try {
    const res = await proxy.fetch("/api/pages");
    if (!res.ok) throw Object.assign(new Error(`the server answered ${res.status}`), { code: `HTTP_${res.status}` });
    const body = await res.json();
    const fromFollower = isFollower(res.url);
    showOrigin("pages", fromFollower, res);
    list($("pages"), body.pages, (p) => [el("strong", p.title), el("span", p.body)]);
    return { ok: true, origin: fromFollower ? "follower" : "leader", ms: performance.now() - t0 };
  } catch (e) {
    list($("pages"), [e], () => [el("span", `Could not load the handbook: ${e.message}`)]);
    return { ok: false, code: e.code ?? e.name, message: e.message, ms: performance.now() - t0 };
  }
}

async function readFiles() {
  try {
    const res = await proxy.fetch("/api/files");
    if (!res.ok) throw new Error(`the server answered ${res.status}`);
    const body = await res.json();
    // Checked before it is kept: a list that is not one would make every later redraw throw.
    if (!Array.isArray(body?.files)) throw new Error("the server's answer has no list of files");
    showOrigin("files", isFollower(res.url), res);
    files = body.files;
    renderFiles();
    return { ok: true, origin: isFollower(res.url) ? "follower" : "leader" };
  } catch (e) {
    if (!files) list($("files"), [e], () => [el("span", `Could not load the files: ${e.message}`)]);
    return { ok: false, code: e.code ?? e.name, message: e.message };
  }
}

/**
 * Each file is a link to wherever the verdict sends `/files/NAME` now: the leader's store
 * while it is up, the AWS copy (a route with its own bases) while it is not.
 */
function renderFiles() {
  if (!files) return;
  list($("files"), files, (f) => {
    const path = `/files/${encodeURIComponent(f.name)}`;
    const size = el("span", formatSize(f.size));
    if (!proxy.canServe(path)) return [el("strong", f.name), el("span", "can't be downloaded right now"), size];
    const a = el("a", f.name);
    a.href = proxy.resolve(path);
    a.download = f.name; // honoured on the page's own origin; other stores send "attachment"
    // A store's error page (404, NGINX's 502) opens in a tab of its own instead of replacing
    // this page; an attachment just downloads, and the browser closes that tab.
    a.target = "_blank";
    a.rel = "noopener";
    a.className = "file-link";
    const name = document.createElement("strong");
    name.append(a);
    return [name, size];
  });
}

function formatSize(bytes) {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${Math.round(bytes / 1024)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
}

/**
 * Posts a note; every outcome is shown, none is silent: saved; not sent (refused before
 * sending, or the server's own "no"); or unconfirmed — sent, or maybe sent, with no
 * answer, so it may have been saved. `key` resends an unconfirmed note with the
 * Idempotency-Key it first carried: the leader answers a key it has seen with its first
 * answer, so "Send again" can never save the note twice.
 */
async function postNote(text, clientId = newId(), key = null) {
  const result = $("note-result");
  $("note-again").hidden = true;
  unconfirmed = null;
  const headers = { "content-type": "application/json" };
  if (key && keyHeader) headers[keyHeader] = key;
  try {
    const res = await proxy.fetch("/api/notes", { method: "POST", headers, body: JSON.stringify({ text, clientId }) });
    // 409: the first post with this key is still running on our server; no answer yet.
    if (res.status === 409 && key) {
      throw Object.assign(new Error("our server is still saving the first attempt"), { code: "OUTCOME_UNKNOWN", idempotencyKey: key });
    }
    // Any 2xx is saved (Flask answers 200 unless told 201): calling it failed invites a
    // second post, a duplicate.
    if (!res.ok) throw Object.assign(new Error(`the server answered ${res.status}`), { code: `HTTP_${res.status}` });
    // ...but a 200 web page is a captive portal or a wrong host answering in our server's
    // place: the note may not have arrived, and saying "saved" would lose it.
    const type = res.headers.get("content-type") ?? "";
    if (res.status !== 204 && !/json/i.test(type)) {
      throw Object.assign(new Error(`something other than our server answered (${res.status}, ${type || "no type"}); check whether the note is there before posting again`), { code: "UNEXPECTED_ANSWER" });
    }
    // A 2xx is the outcome; a body cut short only loses the note's number.
    const body = res.status === 204 ? {} : await res.json().catch(() => ({}));
    result.className = "result";
    result.textContent = body.id != null ? `Saved as note #${body.id}.` : "Saved.";
    return { ok: true, id: body.id, status: res.status, clientId, idempotencyKey: key };
  } catch (e) {
    const code = e.code ?? e.name;
    const out = { ok: false, code, message: e.message, clientId, idempotencyKey: e.idempotencyKey ?? key };
    if (code === "OUTCOME_UNKNOWN") {
      // Sent, or maybe sent, and no answer: it may well have been saved. Never "Not saved".
      result.className = "result warning";
      if (out.idempotencyKey) {
        unconfirmed = { text, clientId, key: out.idempotencyKey };
        result.textContent = "We could not confirm this note — it may have been saved. Sending it again is safe: it will not be saved twice.";
        $("note-again").hidden = false;
      } else {
        result.textContent = "We could not confirm this note — it may have been saved. Check the notes before posting it again.";
      }
      return out;
    }
    result.className = "result error";
    // A refusal before sending (LEADER_UNAVAILABLE, OFFLINE, …) was not sent; a status
    // is the server's own answer; anything else is not confirmed either way.
    const lead = e.name === "HealthProxyError" ? "Not sent" : /^HTTP_/.test(code) ? "Not saved" : "Not confirmed";
    result.textContent = `${lead} — ${e.message}`;
    return out;
  }
}

async function updateHub() {
  const section = $("hub");
  if (!proxy.canServe("/api/hub/links") || proxy.state !== "leader") {
    section.hidden = true;
    return;
  }
  try {
    const res = await proxy.fetch("/api/hub/links");
    if (!res.ok) throw new Error(String(res.status));
    const body = await res.json();
    const links = $("hub-links");
    links.replaceChildren(
      ...body.links.map((l) => {
        const a = el("a", l.title);
        // A relative href is the leader's, not the page's (which lives on another origin).
        const href = new URL(l.href, res.url);
        if (href.protocol === "http:" || href.protocol === "https:") a.href = href.href;
        const li = document.createElement("li");
        li.append(a);
        return li;
      }),
    );
    section.hidden = proxy.state !== "leader";
  } catch {
    section.hidden = true;
  }
}

/** The follower's copy says how old it is: its Last-Modified (CORS-safelisted) is when the leader answered it. */
function showOrigin(kind, fromFollower, res) {
  $(`${kind}-stale`).hidden = !fromFollower;
  const when = fromFollower ? new Date(res.headers.get("Last-Modified") ?? NaN) : null;
  const asOf = when && !Number.isNaN(when.getTime())
    ? `, as of ${String(when.getHours()).padStart(2, "0")}:${String(when.getMinutes()).padStart(2, "0")}` : "";
  $(`${kind}-origin`).textContent = fromFollower ? `from AWS (follower)${asOf}` : "from our server";
}

function list(ul, items, cells) {
  ul.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement("li");
      li.append(...cells(item));
      return li;
    }),
  );
}

function el(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

/** A random UUID (v4). `randomUUID` exists on secure origins only; `getRandomValues` everywhere. */
function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---- the timeline: one sample per probe verdict, drawn as SVG ----

function record(snapshot, force = false) {
  if (!force && snapshot.checkedAt === lastCheckedAt) return;
  lastCheckedAt = snapshot.checkedAt;
  const latency = snapshot.state === "leader" ? snapshot.leaderLatencyMs : null;
  samples.push({ t: Date.now(), state: snapshot.state, latency });
  while (samples.length && samples[0].t < Date.now() - TIMELINE_MS - 60000) samples.shift();
}

function tick() {
  const snap = proxy.snapshot();
  record(snap);
  const ago = snap.checkedAt ? Math.max(0, Math.round((Date.now() - snap.checkedAt) / 1000)) : null;
  const latency = snap.state === "leader" && snap.leaderLatencyMs != null ? ` · ${Math.round(snap.leaderLatencyMs)} ms` : "";
  $("latency").textContent = ago == null ? "" : `checked ${ago} s ago${latency}`;
  draw();
}

const SVG = "http://www.w3.org/2000/svg";
const COLORS = { leader: "#12805c", emergency: "#b54708", offline: "#b42318", unknown: "#98a2b3", direct: "#3451d1" };

function draw() {
  const svg = $("timeline");
  const now = Date.now();
  const x = (t) => ((t - (now - TIMELINE_MS)) / TIMELINE_MS) * 600;
  const shown = samples.filter((s) => s.t >= now - TIMELINE_MS - 60000);
  const max = Math.max(50, ...shown.map((s) => s.latency ?? 0));
  const y = (ms) => 100 - (ms / max) * 90;
  const nodes = [];
  shown.forEach((s, i) => {
    const end = i + 1 < shown.length ? shown[i + 1].t : now;
    nodes.push(svgEl("rect", { x: Math.max(0, x(s.t)), y: 106, width: Math.max(0, x(end) - Math.max(0, x(s.t))), height: 14, fill: COLORS[s.state] }));
  });
  // A gap in the line wherever a probe round failed.
  let path = "";
  let pen = "M";
  for (const s of shown) {
    if (s.latency == null) {
      pen = "M";
      continue;
    }
    path += `${pen}${x(s.t).toFixed(1)},${y(s.latency).toFixed(1)} `;
    pen = "L";
  }
  if (path) nodes.push(svgEl("path", { d: path.trim(), fill: "none", stroke: "#3451d1", "stroke-width": 1.5 }));
  for (const s of shown) {
    if (s.latency != null) nodes.push(svgEl("circle", { cx: x(s.t), cy: y(s.latency), r: 2, fill: "#3451d1" }));
  }
  nodes.push(svgEl("text", { x: 4, y: 12, "font-size": 10, fill: "#667085" }, `${Math.round(max)} ms`));
  nodes.push(svgEl("text", { x: 596, y: 102, "font-size": 10, fill: "#667085", "text-anchor": "end" }, "now"));
  svg.replaceChildren(...nodes);
}

function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text) node.textContent = text;
  return node;
}
