// The landing page on the real stack: NGINX + Flask under gunicorn as the leader, an API
// Gateway + Lambda stand-in as the follower reading the replicator's copy (moto's DynamoDB
// and S3), files in the leader's store and in that bucket. The harness breaks the real processes (kill, stop, SIGSTOP, a captive page)
// and the suite asserts what a person sees and what the servers saw.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { spawn } from "node:child_process";
import { launch, sleep } from "./harness.mjs";
import {
  ORIGIN, FOLLOWER_BASE, FILES, PORTS, csp, prepare, startApp, startNginx, startFollower, startPage, accessLog, notesLog,
} from "./realstack.mjs";
import { startReplica } from "./aws.mjs";

const DETECT_BOUND_MS = 6000;
const s = {}; // the running stack: stack (temp dir), app, nginx, follower, page, browser

/** The page's config for this stack: what a deployment's config.json would hold. */
function config(overrides = {}) {
  return {
    leader: ORIGIN.leader,
    follower: FOLLOWER_BASE,
    health: { timeoutMs: 500, intervalMs: 1000, maxBackoffMs: 2000, expect: { status: "ok" } },
    requestTimeoutMs: 1500,
    routes: [
      { prefix: "/api/pages", critical: true },
      { prefix: "/api/files", critical: true },
      { prefix: "/api/hub", critical: false },
      { prefix: "/api/notes", critical: false },
      // The files themselves: the leader's store while it is up, the AWS bucket while not.
      { prefix: "/files", critical: true, leader: ORIGIN.store, follower: ORIGIN.bucket },
    ],
    // Its faults come seconds apart and each is an outage of its own: damping at its shortest.
    hysteresis: { successesToUp: 2, halfLifeMs: 1000 },
    writes: { idempotencyKey: "Idempotency-Key" },
    cache: { storage: "local", key: "acme-hub-verdict", ttlMs: 30000 },
    ...overrides,
  };
}

before(async () => {
  s.stack = await prepare();
  s.app = await startApp(s.stack);
  s.nginx = await startNginx(s.stack);
  // The follower's data: the replicator's copy of the leader, in moto's DynamoDB and S3.
  s.replica = await startReplica(s.stack, config(), { motoPort: PORTS.aws, leader: `${ORIGIN.app}` });
  s.follower = await startFollower(s.replica.endpoint);
  s.browser = await launch();
});

after(async () => {
  await s.browser?.close();
  await s.page?.stop();
  await s.follower?.stop();
  await s.replica?.stop();
  await s.nginx?.stop();
  await s.app?.stop();
  await s.stack?.remove();
});

async function openPage(cfg, policy) {
  await s.page?.stop();
  s.page = await startPage(cfg, policy, s.stack.site);
  const context = await s.browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => /Content.Security.Policy/i.test(m.text()) && errors.push(m.text()));
  const hashed = [];
  page.on("response", (r) => r.url().includes("/pkg/") && hashed.push([new URL(r.url()).pathname, r.headers()["content-encoding"]]));
  const response = await page.goto(`${ORIGIN.page}/`);
  assert.equal(response.headers()["content-security-policy"], policy ?? csp());
  await page.waitForFunction(() => window.hub);
  // The deployed layout: the package under hashed names, stored and served brotli-encoded.
  // The loader, the glue and the wasm: each under its hashed name, each brotli-encoded.
  assert.deepEqual(hashed.map(([path]) => path.replace(/\.[0-9a-f]{12}\./, ".").replace(/^\/pkg\//, "")).sort(),
    ["health_proxy.js", "health_proxy_bg.wasm", "load.js"], "the page loaded the package's three files");
  for (const [path, encoding] of hashed) {
    assert.ok(s.stack.site.hashed.has(path), `${path} is not a hashed name`);
    assert.equal(encoding, "br", `${path} was not served brotli-encoded`);
  }
  return { context, page, errors };
}

const stateOf = (page) => page.evaluate(() => document.body.dataset.state);
async function waitState(page, want, ms = DETECT_BOUND_MS + 4000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if ((await stateOf(page)) === want) return Date.now();
    await sleep(25);
  }
  return null;
}

/** What a person sees: badge, labels, form, hub links, file links. */
function readUi() {
  const $ = (id) => document.getElementById(id);
  return {
    state: document.body.dataset.state,
    badge: $("status-text").textContent,
    pagesOrigin: $("pages-origin").textContent,
    pagesStale: !$("pages-stale").hidden,
    writeDisabled: $("note-send").disabled && $("note-text").disabled,
    why: $("note-why").hidden ? "" : $("note-why").textContent,
    hub: $("hub").hidden ? null : [...$("hub-links").querySelectorAll("a")].map((a) => a.href),
    fileLinks: [...$("files").querySelectorAll("a")].map((a) => a.href),
    fileRows: $("files").querySelectorAll("li").length,
  };
}

/** Clicks the first file link and returns where the browser downloaded it from, and the bytes. */
async function download(page) {
  // The link opens in a tab of its own (a store's error page must not replace the landing
  // page): the download may be reported on either.
  const context = page.context();
  let onPage;
  const dl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no download within 5 s")), 5000);
    const got = (d) => { clearTimeout(timer); resolve(d); };
    onPage = (p) => p.once("download", got);
    context.on("page", onPage);
    page.once("download", got);
    page.click("#files a.file-link >> nth=0").catch(reject);
  }).finally(() => context.off("page", onPage));
  const bytes = await readFile(await dl.path());
  return { url: dl.url(), name: dl.suggestedFilename(), bytes };
}

// Runs in the page: a loop of critical reads and one of writes, as a visitor's clicks would.
function startTraffic() {
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  // `started`: every note's id as it is sent; `writes`: each with its outcome once it has one.
  const c = (window.rs = { reads: [], writes: [], started: [], stop: false });
  (async () => {
    while (!c.stop) {
      const t = Date.now();
      c.reads.push({ t, ...(await window.hub.readPages()), end: Date.now() });
      await window.hub.readFiles();
      await pause(200);
    }
  })();
  (async () => {
    for (let n = 0; !c.stop; n++) {
      const t = Date.now();
      c.started.push(`rs-${n}`);
      c.writes.push({ t, ...(await window.hub.postNote(`real note ${n}`, `rs-${n}`)), end: Date.now() });
      await pause(300);
    }
  })();
}

/** The recipe's `always`: NGINX's own 502 carries CORS, so the page reads a status, not a network error. */
async function nginx502HasCors() {
  const res = await fetch(`${ORIGIN.leader}/health`, { headers: { origin: ORIGIN.page } });
  assert.equal(res.status, 502);
  assert.equal(res.headers.get("access-control-allow-origin"), ORIGIN.page, "NGINX's 502 has no CORS header");
}

const fmt = (ms) => (ms == null ? "—" : `${Math.round(ms)} ms`);

test("real stack: NGINX + Flask/gunicorn leader, API Gateway follower, through every fault", async () => {
  const { context, page, errors } = await openPage(config());
  assert.ok(await waitState(page, "leader"), "the page never reached the leader");
  await page.evaluate(startTraffic);

  const restartFollower = async () => { s.follower = await startFollower(s.replica.endpoint, s.follower.stats); };
  const TIMELINE = [
    { name: "up", expect: "leader", ms: 3000 },
    { name: "app killed (NGINX 502)", fault: true, act: () => s.app.stop("SIGKILL"), check: nginx502HasCors, expect: "emergency" },
    { name: "app restarted", act: async () => { s.app = await startApp(s.stack); }, expect: "leader" },
    { name: "NGINX stopped (refused)", fault: true, act: () => s.nginx.stop(), expect: "emergency" },
    { name: "NGINX started", act: async () => { s.nginx = await startNginx(s.stack); }, expect: "leader" },
    { name: "NGINX frozen (SIGSTOP: hang)", fault: true, act: () => s.nginx.freeze(), expect: "emergency" },
    { name: "NGINX resumed", act: () => s.nginx.thaw(), expect: "leader" },
    { name: "app slow (gunicorn SIGSTOP)", fault: true, act: () => s.app.freeze(), expect: "emergency" },
    { name: "app resumed", act: () => s.app.thaw(), expect: "leader" },
    { name: "captive page answers /health", fault: true, act: async () => { await s.nginx.stop(); s.nginx = await startNginx(s.stack, "captive"); }, expect: "emergency" },
    { name: "NGINX back", act: async () => { await s.nginx.stop(); s.nginx = await startNginx(s.stack); }, expect: "leader" },
    { name: "both down (offline)", fault: true, act: async () => { await s.nginx.stop(); await s.follower.stop(); }, expect: "offline" },
    { name: "all back", act: async () => { await restartFollower(); s.nginx = await startNginx(s.stack); }, expect: "leader" },
  ];

  const rows = [];
  for (const phase of TIMELINE) {
    const stats = s.follower.stats;
    if (phase.act) await phase.act();
    await phase.check?.();
    const at = Date.now(); // the fault (or the recovery) is in effect from here
    const settledAt = await waitState(page, phase.expect);
    let ui = null;
    let dl = null;
    let followerReadsAtSettle = null;
    if (settledAt) {
      // The refresh the state change started, and one more round of the read loop.
      await sleep(1200);
      ui = await page.evaluate(readUi);
      if (ui.fileLinks.length) dl = await download(page);
      followerReadsAtSettle = stats.reads;
    }
    const left = (phase.ms ?? 2500) - (Date.now() - at);
    if (left > 0) await sleep(left);
    rows.push({ phase, at, settledAt, ui, dl, followerReadsAtSettle, followerReadsAtEnd: stats.reads });
  }

  await page.evaluate(() => { window.rs.stop = true; });
  await sleep(2000); // the last requests finish
  // Read after the wait: a note still in flight at the stop has reached Flask by now, and
  // its outcome may have come in too (a loaded machine showed one missing from the list).
  const c = await page.evaluate(() => ({ reads: window.rs.reads, writes: window.rs.writes, started: window.rs.started }));
  const log = await notesLog(s.stack);
  const access = await accessLog(s.stack);
  const f = s.follower.stats;

  // ---- the table: fault → badge change, recovery → back ----
  const table = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (!r.phase.fault) continue;
    const back = rows[i + 1];
    table.push({
      fault: r.phase.name,
      "badge shows": r.ui?.badge ?? "not reached",
      "fault → badge change": fmt(r.settledAt && r.settledAt - r.at),
      "recovery → back on our server": fmt(back?.settledAt && back.settledAt - back.at),
      "file downloaded from": r.dl ? new URL(r.dl.url).host : "no link",
    });
  }
  console.log("\nReal stack (NGINX + Flask/gunicorn leader, API Gateway + Lambda follower):");
  console.table(table);
  const acked = c.writes.filter((w) => w.ok);
  const counts = new Map();
  for (const n of log) counts.set(n.clientId, (counts.get(n.clientId) ?? 0) + 1);
  const unknown = c.writes.filter((w) => !w.ok && !/was not sent/.test(w.message ?? ""));
  const served = c.reads.filter((r) => r.ok).length;
  const preflightedReads = access.filter((a) => a.method === "OPTIONS" && /^(GET|HEAD)$/i.test(a.acrm)).length;
  console.log(`Reads: ${served} of ${c.reads.length} served (the offline phase included). Writes: ${c.writes.length} sent by the page, ${acked.length} acknowledged (statuses ${[...new Set(acked.map((w) => w.status))].join(", ")}), ${unknown.length} with unknown outcome; Flask's log holds ${log.length} notes.`);
  console.log(`Follower: ${f.reads} reads, ${f.health} health probes, ${f.writes} writes, ${f.preflightWrites} preflighted writes, ${f.preflightReads} preflighted reads; bucket downloads ${f.downloads.length}. Leader NGINX: ${access.length} requests, ${access.filter((a) => a.uri === "/health").length} probes, ${preflightedReads} preflighted reads.`);

  // ---- what a person sees ----
  assert.deepEqual(errors, [], "the page threw or broke its Content-Security-Policy");
  for (const r of rows) {
    const { name, expect } = r.phase;
    assert.ok(r.settledAt, `${name}: the page never showed ${expect}`);
    assert.ok(r.settledAt - r.at <= DETECT_BOUND_MS, `${name}: ${r.settledAt - r.at} ms to show ${expect}`);
    const ui = r.ui;
    assert.equal(ui.state, expect, `${name}: state a moment after settling`);
    if (expect === "leader") {
      assert.equal(ui.badge, "On our server", name);
      assert.equal(ui.pagesOrigin, "from our server", name);
      assert.equal(ui.pagesStale, false, name);
      assert.equal(ui.writeDisabled, false, `${name}: the note form is enabled`);
      assert.ok(ui.hub?.length > 0, `${name}: hub links shown`);
      for (const href of ui.hub) assert.ok(href.startsWith(`${ORIGIN.leader}/hub/`), `${name}: hub link ${href} is not on the leader`);
      assert.equal(ui.fileLinks.length, Object.keys(FILES).length, `${name}: every file is a link`);
      for (const href of ui.fileLinks) assert.ok(href.startsWith(`${ORIGIN.store}/files/`), `${name}: file link ${href} is not the leader's store`);
      assert.ok(r.dl.url.startsWith(`${ORIGIN.store}/files/`), `${name}: downloaded from ${r.dl.url}`);
    } else if (expect === "emergency") {
      assert.match(ui.badge, /^Emergency mode/, name);
      assert.equal(ui.pagesOrigin, "from AWS (follower)", name);
      assert.equal(ui.pagesStale, true, `${name}: "may be out of date" shown`);
      assert.equal(ui.writeDisabled, true, `${name}: the note form is disabled`);
      assert.match(ui.why, /Posting is paused/, name);
      assert.equal(ui.hub, null, `${name}: hub links hidden`);
      assert.equal(ui.fileLinks.length, Object.keys(FILES).length, `${name}: every file is a link`);
      for (const href of ui.fileLinks) assert.ok(href.startsWith(`${ORIGIN.bucket}/files/`), `${name}: file link ${href} is not the AWS bucket`);
      assert.ok(r.dl.url.startsWith(`${ORIGIN.bucket}/files/`), `${name}: downloaded from ${r.dl.url}`);
    } else {
      assert.equal(ui.badge, "Offline", name);
      assert.equal(ui.writeDisabled, true, `${name}: the note form is disabled`);
      assert.equal(ui.hub, null, `${name}: hub links hidden`);
      assert.deepEqual(ui.fileLinks, [], `${name}: no file links while nothing can serve them`);
      assert.equal(ui.fileRows, Object.keys(FILES).length, `${name}: the files are still listed`);
    }
    if (r.dl) {
      assert.ok(FILES[r.dl.name], `${name}: downloaded an unknown file ${r.dl.name}`);
      assert.ok(r.dl.bytes.equals(FILES[r.dl.name]), `${name}: the downloaded bytes differ`);
    }
    if (expect === "leader" && r.phase.name !== "up") {
      assert.equal(r.followerReadsAtEnd, r.followerReadsAtSettle, `${name}: the follower saw reads while the page was on the leader`);
    }
  }
  // ---- what the servers saw ----
  assert.ok(acked.length >= 20, `only ${acked.length} notes acknowledged`);
  for (const w of acked) assert.equal(counts.get(w.clientId), 1, `acknowledged note ${w.clientId} is in Flask's log ${counts.get(w.clientId) ?? 0} times`);
  for (const [id, n] of counts) assert.equal(n, 1, `note ${id} is in Flask's log ${n} times`);
  const sent = new Set(c.started);
  for (const id of counts.keys()) assert.ok(sent.has(id), `Flask logged ${id}, which the page never sent`);
  for (const w of c.writes.filter((w) => !w.ok && /was not sent/.test(w.message ?? ""))) {
    assert.ok(!counts.has(w.clientId), `note ${w.clientId} was refused as not sent but reached Flask`);
  }
  assert.equal(f.writes, 0, "a write reached the follower");
  assert.equal(f.preflightWrites, 0, "a write's preflight reached the follower");
  assert.equal(f.preflightReads, 0, "a read was preflighted at the follower");
  assert.equal(preflightedReads, 0, "a read was preflighted at the leader");
  assert.ok(access.some((a) => a.uri.startsWith("/files/") && a.status === 200), "the leader's store served no download");
  assert.ok(f.downloads.some((k) => k.startsWith("files/")), "the AWS bucket served no download");
  await context.close();
});

/** POSTs a note to the leader through NGINX, as the page would, with `key` as its Idempotency-Key. */
async function postNote(key, note) {
  const res = await fetch(`${ORIGIN.leader}/api/notes`, {
    method: "POST",
    headers: { origin: ORIGIN.page, "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify(note),
  });
  return { status: res.status, body: await res.text(), replayed: res.headers.get("idempotent-replayed") };
}

/** Holds Flask's lock on the notes log (as a slow note would) until `release()`. */
async function holdNotesLog() {
  const py = "import fcntl, sys\nf = open(sys.argv[1], 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.read()";
  const child = spawn("python3", ["-c", py, s.stack.notesLog], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    child.stdout.once("data", resolve);
    child.once("exit", (c) => reject(new Error(`the lock holder exited ${c}`)));
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return () => { child.stdin.end(); return exited; };
}

test("the leader honours Idempotency-Key: a repeat gets the stored answer, a concurrent repeat 409, one note each", async () => {
  // The page's preflight: NGINX must allow the header, or no keyed write is ever sent.
  const pre = await fetch(`${ORIGIN.leader}/api/notes`, {
    method: "OPTIONS",
    headers: { origin: ORIGIN.page, "access-control-request-method": "POST", "access-control-request-headers": "content-type,idempotency-key" },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get("access-control-allow-headers") ?? "", /(^|[ ,])idempotency-key([ ,]|$)/i, "NGINX does not allow the header");

  const run = Date.now();
  const count = async (clientId) => (await notesLog(s.stack)).filter((n) => n.clientId === clientId).length;

  // The same key twice: one note, and the same answer.
  const note = { text: "sent twice", clientId: `key-twice-${run}` };
  const first = await postNote(`twice-${run}`, note);
  const again = await postNote(`twice-${run}`, note);
  assert.equal(first.status, 201, first.body);
  assert.deepEqual([again.status, again.body, again.replayed], [201, first.body, "true"]);
  assert.equal(first.replayed, null);
  assert.equal(await count(note.clientId), 1, "the repeat made a second note");
  // Another key is another note; the same key on another request is refused.
  assert.equal((await postNote(`other-${run}`, note)).status, 201);
  assert.equal(await count(note.clientId), 2);
  assert.equal((await postNote(`twice-${run}`, { ...note, text: "something else" })).status, 422);

  // A repeat while the first is still running: 409, and once it is done, its answer.
  const slow = { text: "sent while the first runs", clientId: `key-concurrent-${run}` };
  const release = await holdNotesLog();
  let answers;
  try {
    const both = [postNote(`concurrent-${run}`, slow), postNote(`concurrent-${run}`, slow)];
    // One of them is held at the notes log's lock; the other has been answered.
    const settled = await Promise.race([Promise.any(both), sleep(5000).then(() => null)]);
    assert.ok(settled, "neither request was answered while the first was running");
    assert.equal(settled.status, 409, settled.body);
    await release();
    answers = await Promise.all(both);
  } finally {
    await release();
  }
  assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409]);
  const created = answers.find((a) => a.status === 201);
  const later = await postNote(`concurrent-${run}`, slow);
  assert.deepEqual([later.status, later.body], [201, created.body], "the repeat after it finished gets its answer");
  assert.equal(await count(slow.clientId), 1, "the concurrent repeat made a second note");
});

test("a pretty-printed health body (Flask in debug mode) reaches `leader` with an object expect; the string expect does not", async () => {
  await s.app.stop();
  s.app = await startApp(s.stack, { FLASK_DEBUG: "1" });
  const body = await (await fetch(`${ORIGIN.leader}/health`, { headers: { origin: ORIGIN.page } })).text();
  console.log(`Health body with FLASK_DEBUG=1: ${JSON.stringify(body)}`);
  assert.match(body, /\n\s+"status": "ok"/, "Flask did not pretty-print: the test would prove nothing");

  const withObject = await openPage(config());
  const t0 = Date.now();
  assert.ok(await waitState(withObject.page, "leader", 5000), "object expect: the page did not reach the leader");
  console.log(`object expect { status: "ok" }: leader after ${Date.now() - t0} ms`);
  await withObject.context.close();

  const withString = await openPage(config({ health: { ...config().health, expect: "\"status\":\"ok\"" } }));
  assert.ok(await waitState(withString.page, "emergency", 5000), "string expect: the page should have gone to the follower");
  await sleep(2500);
  assert.equal(await stateOf(withString.page), "emergency", "string expect on a pretty body must never reach the leader");
  await withString.context.close();
  await s.app.stop();
  s.app = await startApp(s.stack);
});

test("CSP: connect-src with the follower's bare origin allows its /prod/health; with `/prod` (no slash) the page shows Offline", async () => {
  await s.nginx.stop(); // the leader is down: only the follower's health decides emergency vs offline
  try {
    const bare = await openPage(config());
    assert.ok(await waitState(bare.page, "emergency", 5000), "bare origin: emergency expected");
    assert.deepEqual(bare.errors, []);
    await bare.context.close();
    const trap = await openPage(config(), csp(FOLLOWER_BASE));
    assert.ok(await waitState(trap.page, "offline", 5000), "connect-src …/prod should block /prod/health");
    assert.ok(trap.errors.some((e) => /Content.Security.Policy/i.test(e)), "the browser reported no CSP violation");
    await trap.context.close();
  } finally {
    s.nginx = await startNginx(s.stack);
  }
});
