// The operator's page: reads the visitors' outage reports (GET /api/reports, with the
// operator's token typed here and kept in sessionStorage) for a chosen period and draws them:
// visitors in emergency per minute (plain SVG), the failed probes by cause, each episode.
// The page holds no data; everything shown comes from the leader with the token.

const SVG = "http://www.w3.org/2000/svg";
const MINUTE = 60_000;
const TOKEN_KEY = "acme-hub-operator-token";
const PAGE_LIMIT = 1000; // the leader's largest page
const MAX_PAGES = 20; // 20,000 reports; a longer period is cut, and the page says so
const MAX_BARS = 720; // past it, a bar holds the highest minute of several
const MAX_ROWS = 1000; // episodes listed, newest first
const CHART = { w: 800, h: 240, left: 44, right: 8, top: 10, bottom: 26 };

// ---- Pure: what the reports say (exported for the tests) ----

/** Each report's weight: one visitor, or 1 ÷ the sample rate it was picked at. */
export const weight = (r) => 1 / r.sampleRate;

/**
 * Visitors in emergency in each minute of [from, to): a report counts in every minute its
 * episode [startedAt, startedAt + durationMs] overlaps (a zero-length one in its start's
 * minute), by its weight. Returns { start, values } with values[i] for the minute at
 * start + i minutes.
 */
export function perMinute(reports, from, to) {
  const start = Math.floor(from / MINUTE) * MINUTE;
  const n = Math.max(1, Math.ceil((to - start) / MINUTE));
  const diff = new Float64Array(n + 1);
  for (const r of reports) {
    const end = r.startedAt + r.durationMs;
    const first = Math.max(0, Math.floor((r.startedAt - start) / MINUTE));
    const last = Math.min(n - 1, Math.max(Math.floor((r.startedAt - start) / MINUTE), Math.ceil((end - start) / MINUTE) - 1));
    if (first > last) continue; // entirely outside the period
    diff[first] += weight(r);
    diff[last + 1] -= weight(r);
  }
  const values = new Float64Array(n);
  let running = 0;
  for (let i = 0; i < n; i++) {
    running += diff[i];
    values[i] = Math.abs(running) < 1e-9 ? 0 : running;
  }
  return { start, values };
}

/** At most `max` bars: each the highest of `size` consecutive minutes. */
export function bars(values, max = MAX_BARS) {
  const size = Math.max(1, Math.ceil(values.length / max));
  const out = [];
  for (let i = 0; i < values.length; i += size) {
    let top = 0;
    for (let j = i; j < Math.min(values.length, i + size); j++) top = Math.max(top, values[j]);
    out.push(top);
  }
  return { size, values: out };
}

/** Failed probes by cause over all reports: [{ cause, label, probes, episodes }], most probes first. */
export function causes(reports) {
  const rows = new Map();
  const add = (cause, label, n) => {
    if (!n) return;
    const row = rows.get(cause) ?? { cause, label, probes: 0, episodes: 0 };
    row.probes += n;
    row.episodes += 1;
    rows.set(cause, row);
  };
  for (const r of reports) {
    add("timeout", "Timeout: no answer in time (a dark site, a dead route)", r.probes.timeout);
    add("network", "Network error: refused, reset, DNS, TLS", r.probes.network);
    for (const [status, n] of r.probes.status) add(`status ${status}`, `HTTP ${status} from the leader's address`, n);
    add("body", "Unexpected body: not the health answer (e.g. a captive portal)", r.probes.body);
  }
  return [...rows.values()].sort((a, b) => b.probes - a.probes || a.cause.localeCompare(b.cause));
}

/** One report's causes in a line: "timeout ×3, HTTP 502 ×2". */
export function causeText(r) {
  const parts = [];
  if (r.probes.timeout) parts.push(`timeout ×${r.probes.timeout}`);
  if (r.probes.network) parts.push(`network ×${r.probes.network}`);
  for (const [status, n] of r.probes.status) if (n) parts.push(`HTTP ${status} ×${n}`);
  if (r.probes.body) parts.push(`wrong body ×${r.probes.body}`);
  return parts.join(", ") || "none recorded";
}

/** A duration a person reads: "850 ms", "42 s", "3 min 20 s", "2 h 5 min", "3 d 4 h". */
export function durationText(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** The totals of the period's reports. */
export function totals(reports) {
  const sum = (f) => reports.reduce((n, r) => n + f(r), 0);
  const durations = reports.map((r) => r.durationMs).sort((a, b) => a - b);
  const mid = durations.length >> 1;
  return {
    episodes: reports.length,
    visitors: sum(weight),
    sampled: reports.some((r) => r.sampleRate < 1),
    longest: durations.length ? durations[durations.length - 1] : null,
    median: durations.length ? (durations.length % 2 ? durations[mid] : (durations[mid - 1] + durations[mid]) / 2) : null,
    followerReads: sum((r) => r.followerReads),
    leaderUnavailable: sum((r) => r.leaderUnavailable),
    outcomeUnknown: sum((r) => r.outcomeUnknown),
    followerRequests: sum((r) => r.followerRequests),
  };
}

/** A number as shown: whole, or with one decimal when sampling made it an estimate. */
const num = (x) => (Number.isInteger(x) ? x.toLocaleString("en") : x.toLocaleString("en", { maximumFractionDigits: 1 }));

// ---- The page ----

const $ = (id) => document.getElementById(id);
let memoryToken = null; // when sessionStorage is unavailable (storage off): this tab's memory only

function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}

function keepToken(value) {
  memoryToken = value;
  try {
    if (value === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, value);
  } catch {
    /* storage off: memoryToken holds it for this page only */
  }
}

function setState(state) {
  document.body.dataset.state = state;
  $("signin").hidden = state !== "signin";
  $("view").hidden = state === "signin";
}

function showStatus(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

const pad = (n) => String(n).padStart(2, "0");
/** Epoch ms as a datetime-local input's value (local time, to the minute). */
function inputValue(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function period() {
  const from = new Date($("from").value).getTime();
  const to = new Date($("to").value).getTime();
  return { from, to };
}

function setPeriod(from, to) {
  $("from").value = inputValue(from);
  $("to").value = inputValue(to);
  history.replaceState(null, "", `#from=${from}&to=${to}`);
}

/** The period in the address (#from=…&to=…, epoch ms), or the last 24 hours. */
function periodFromAddress() {
  const p = new URLSearchParams(location.hash.slice(1));
  const from = Number(p.get("from"));
  const to = Number(p.get("to"));
  if (Number.isSafeInteger(from) && Number.isSafeInteger(to) && from >= 0 && from < to) return { from, to };
  const now = Date.now();
  return { from: now - 24 * 60 * MINUTE, to: now };
}

class Refused extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.field = body?.field;
  }
}

/** Every report overlapping [from, to), page by page; `cut` when MAX_PAGES were not enough. */
async function fetchReports(from, to) {
  const reports = [];
  let after = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const url = new URL("/api/reports", location.origin);
    url.search = new URLSearchParams({ from: String(from), to: String(to), limit: String(PAGE_LIMIT), ...(after ? { after } : {}) });
    const res = await fetch(url, { headers: { Authorization: `Bearer ${token()}` }, cache: "no-store", credentials: "omit" });
    let body = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON: a proxy's error page */
    }
    if (!res.ok || !body || !Array.isArray(body.reports)) throw new Refused(res.status, body);
    reports.push(...body.reports);
    after = body.next;
    if (!after) return { reports, cut: false };
  }
  return { reports, cut: true };
}

const timeFormat = (spanMs) => new Intl.DateTimeFormat(undefined, spanMs > 24 * 60 * MINUTE
  ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }
  : { hour: "2-digit", minute: "2-digit" });
const fullTime = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });

function el(name, attrs = {}, text = null, ns = null) {
  const e = ns ? document.createElementNS(ns, name) : document.createElement(name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== null) e.textContent = text;
  return e;
}

/** A round top for the y axis whose half is round too: 1, 2, 4, 6 × 10^k. */
function niceMax(x) {
  if (x <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 4, 6, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function drawChart(reports, from, to, sampled) {
  const svg = $("chart");
  svg.replaceChildren();
  const { start, values } = perMinute(reports, from, to);
  const { size, values: shown } = bars(values);
  const top = niceMax(Math.max(0, ...shown));
  const { w, h, left, right, top: pt, bottom } = CHART;
  const plotW = w - left - right;
  const plotH = h - pt - bottom;
  const y = (v) => pt + plotH - (v / top) * plotH;
  // Grid and y labels: 0, half, top.
  for (const v of top === 1 ? [0, 1] : [0, top / 2, top]) {
    svg.append(el("line", { x1: left, x2: w - right, y1: y(v), y2: y(v), class: v ? "grid" : "axis" }, null, SVG));
    svg.append(el("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, num(v), SVG));
  }
  // x labels: at most 8, on round local times.
  const spanMin = values.length;
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160, 43200].find((s) => spanMin / s <= 8) ?? 43200;
  const fmt = timeFormat(to - from);
  const offset = (t) => new Date(t).getTimezoneOffset() * MINUTE;
  let t = Math.ceil((start - offset(start)) / (step * MINUTE)) * step * MINUTE + offset(start);
  const x = (ms) => left + ((ms - start) / (values.length * MINUTE)) * plotW;
  for (; t <= start + values.length * MINUTE; t += step * MINUTE) {
    svg.append(el("line", { x1: x(t), x2: x(t), y1: pt + plotH, y2: pt + plotH + 4, class: "axis" }, null, SVG));
    // A label at either end stays inside the drawing.
    const anchor = x(t) - left < 24 ? "start" : w - right - x(t) < 24 ? "end" : "middle";
    svg.append(el("text", { x: x(t), y: h - 6, "text-anchor": anchor }, fmt.format(t), SVG));
  }
  const barW = plotW / shown.length;
  shown.forEach((v, i) => {
    if (!v) return;
    const at = start + i * size * MINUTE;
    const rect = el("rect", { class: "bar", x: left + i * barW, y: y(v), width: Math.max(1, barW - (barW > 3 ? 1 : 0)), height: pt + plotH - y(v), "data-minute": at, "data-value": v }, null, SVG);
    rect.append(el("title", {}, `${fullTime.format(at)}: ${num(v)} visitor${v === 1 ? "" : "s"} in emergency`, SVG));
    svg.append(rect);
  });
  $("chart-note").textContent = [
    size > 1 ? `Each bar is the highest minute of ${size} minutes.` : "One bar per minute.",
    sampled ? "Estimated: each report counts as 1 ÷ its sample rate." : "",
  ].join(" ").trim();
  let peak = 0;
  values.forEach((v, i) => { if (v > values[peak]) peak = i; });
  const busy = values.filter((v) => v > 0).length;
  $("chart-desc").textContent = values[peak] > 0
    ? `Peak: ${num(values[peak])} visitor${values[peak] === 1 ? "" : "s"} in emergency at ${fullTime.format(start + peak * MINUTE)}; ${busy} minute${busy === 1 ? "" : "s"} with at least one.`
    : "No visitor was in emergency in this period.";
}

function drawSummary(reports) {
  const t = totals(reports);
  $("s-episodes").textContent = num(t.episodes);
  $("s-longest").textContent = t.longest === null ? "–" : durationText(t.longest);
  $("s-median").textContent = t.median === null ? "–" : durationText(t.median);
  $("s-reads").textContent = num(t.followerReads);
  $("s-refused").textContent = num(t.leaderUnavailable);
  $("s-unknown").textContent = num(t.outcomeUnknown);
  $("s-follower").textContent = num(t.followerRequests);
  $("sampling").hidden = !t.sampled;
  $("sampling").textContent = t.sampled
    ? `Some reports were sampled (reports.sampleRate below 1): ${num(t.episodes)} reports stand for about ${num(Math.round(t.visitors))} visitors' episodes; the counts above are the reports' own.`
    : "";
}

function drawCauses(reports) {
  const body = $("causes").tBodies[0];
  body.replaceChildren();
  const rows = causes(reports);
  if (!rows.length) {
    const tr = el("tr");
    tr.append(el("td", { colspan: 3 }, "No failed probe reported in this period."));
    body.append(tr);
  }
  for (const c of rows) {
    const tr = el("tr", { "data-cause": c.cause });
    tr.append(el("td", {}, c.label), el("td", { class: "num" }, num(c.probes)), el("td", { class: "num" }, num(c.episodes)));
    body.append(tr);
  }
}

function drawEpisodes(reports) {
  const body = $("episodes").tBodies[0];
  body.replaceChildren();
  const newest = [...reports].sort((a, b) => b.startedAt - a.startedAt).slice(0, MAX_ROWS);
  for (const r of newest) {
    const tr = el("tr", { "data-id": r.id });
    tr.append(
      el("td", { class: "when" }, fullTime.format(r.startedAt)),
      el("td", { class: "num", "data-ms": r.durationMs }, durationText(r.durationMs)),
      el("td", { class: "causes" }, causeText(r)),
      el("td", { class: "num" }, num(r.followerReads)),
      el("td", { class: "num" }, num(r.leaderUnavailable)),
      el("td", { class: "num" }, num(r.outcomeUnknown)),
      el("td", { class: "num" }, num(r.followerRequests)),
      el("td", { class: "num" }, r.rttMs === null ? "–" : `${r.rttMs} ms`),
      el("td", {}, r.sampleRate < 1 ? `${r.version} (sampled at ${r.sampleRate})` : r.version),
    );
    body.append(tr);
  }
  $("episodes-caption").textContent = reports.length > MAX_ROWS
    ? `The ${MAX_ROWS} newest of ${num(reports.length)} episodes; choose a shorter period to see the rest.`
    : `${num(reports.length)} episode${reports.length === 1 ? "" : "s"}, newest first; times in your time zone.`;
}

/** Reads and draws [from, to): by default the inputs' period (whole minutes). */
async function load({ from, to } = period()) {
  if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
    showStatus("Choose a period whose start is before its end.", true);
    return;
  }
  setPeriod(from, to);
  setState("loading");
  showStatus("Loading reports…");
  let got;
  try {
    got = await fetchReports(from, to);
  } catch (e) {
    if (e instanceof Refused && e.status === 401) {
      keepToken(null);
      setState("signin");
      $("token-error").hidden = false;
      $("token-error").textContent = "The leader refused this token (401). Type the leader's OPERATOR_TOKEN.";
      $("token").focus();
      return;
    }
    setState("error");
    const why = e instanceof Refused
      ? (e.status === 429 ? "too many requests: wait a few seconds and try again" : `${e.status}: ${e.message}${e.field ? ` (${e.field})` : ""}`)
      : `the leader could not be reached (${e.message})`;
    showStatus(`Could not read the reports: ${why}.`, true);
    return;
  }
  const { reports, cut } = got;
  drawSummary(reports);
  drawChart(reports, from, to, totals(reports).sampled);
  drawCauses(reports);
  drawEpisodes(reports);
  setState("ready");
  showStatus(`${num(reports.length)} report${reports.length === 1 ? "" : "s"} from ${fullTime.format(from)} to ${fullTime.format(to)}.`
    + (cut ? ` Only the first ${num(reports.length)} were read: choose a shorter period.` : ""));
}

function start() {
  $("zone").textContent = `(your time zone: ${Intl.DateTimeFormat().resolvedOptions().timeZone})`;
  const { from, to } = periodFromAddress();
  $("from").value = inputValue(from);
  $("to").value = inputValue(to);
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const typed = $("token").value.trim();
    if (!typed) return;
    keepToken(typed);
    $("token").value = "";
    $("token-error").hidden = true;
    const shown = periodFromAddress();
    load(shown);
  });
  $("period").addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  for (const b of document.querySelectorAll("button[data-last]")) {
    b.addEventListener("click", () => {
      const now = Date.now();
      // Minutes: the inputs hold whole minutes; the end is the current minute's end.
      const end = Math.ceil(now / MINUTE) * MINUTE;
      $("from").value = inputValue(end - Number(b.dataset.last) * MINUTE);
      $("to").value = inputValue(end);
      load();
    });
  }
  $("forget").addEventListener("click", () => {
    keepToken(null);
    setState("signin");
    showStatus("");
    $("token").focus();
  });
  if (token()) load({ from, to }); // the address's exact period (a shared link), not the inputs' whole minutes
  else setState("signin");
}

if (typeof document !== "undefined") start();
