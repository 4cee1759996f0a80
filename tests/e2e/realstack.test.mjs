// The landing page on the real stack: NGINX + Flask under gunicorn as the leader, an API
// Gateway + Lambda stand-in as the follower reading the replicator's copy (moto's DynamoDB
// and S3), files in the leader's store and in that bucket. The harness breaks the real processes (kill, stop, SIGSTOP, a captive page)
// and the suite asserts what a person sees and what the servers saw.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir, stat } from "node:fs/promises";
import http from "node:http";
import { createHash, randomUUID } from "node:crypto";
import { sleep } from "./harness.mjs";
import { pageRoutes, pageSettings } from "./fixture.mjs";
import {
  ORIGIN, PORTS, DEPLOY, FOLLOWER_BASE, FILES, OPERATOR_TOKEN, csp, startStack, stopStack, startApp, startNginx, startFollower, startPage, accessLog, notesLog, python,
} from "./realstack.mjs";

const DETECT_BOUND_MS = 6000;
const s = {}; // the running stack: stack (temp dir), app, nginx, follower, page, browser

/** The page's config for this stack: what a deployment's config.json would hold. */
function config(overrides = {}) {
  return {
    leader: ORIGIN.leader,
    follower: FOLLOWER_BASE,
    health: { timeoutMs: 500, intervalMs: 1000, maxBackoffMs: 2000, expect: { status: "ok" } },
    requestTimeoutMs: 1500,
    // The files themselves: the leader's store while it is up, the AWS bucket while not.
    routes: pageRoutes({ leader: ORIGIN.store, follower: ORIGIN.bucket }),
    // Its faults come seconds apart and each is an outage of its own: damping at its shortest.
    hysteresis: { successesToUp: 2, halfLifeMs: 1000 },
    ...pageSettings(),
    ...overrides,
  };
}

before(() => startStack(s, config()));

after(() => stopStack(s));

/** When the leader answered the replica's copy of `path` (its item in moto's DynamoDB), in ms. */
async function answeredAt(path) {
  const { DynamoDBClient, GetItemCommand } = await import("@aws-sdk/client-dynamodb");
  const db = new DynamoDBClient({ endpoint: s.replica.endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  const { Item } = await db.send(new GetItemCommand({ TableName: "acme-hub-replica", Key: { path: { S: path } } }));
  return Number(Item.answeredAt.N);
}

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
  // `started`: every note's clientId (a UUID) as it is sent; `writes`: each with its outcome once it has one.
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
    // Under the recipe's write limit (2 a second from one address): a visitor's pace.
    for (let n = 0; !c.stop; n++) {
      const t = Date.now();
      const id = crypto.randomUUID();
      c.started.push(id);
      c.writes.push({ t, ...(await window.hub.postNote(`real note ${n}`, id)), end: Date.now() });
      await pause(500);
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
  // Spec §11: outage reports on, to the recipe's /api/reports (its causes checked below).
  const testStart = Date.now();
  const { context, page, errors } = await openPage(config({ reports: { path: "/api/reports" } }));
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
    const t0 = Date.now(); // before the act: an episode it causes starts after this
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
    rows.push({ phase, t0, at, settledAt, ui, dl, followerReadsAtSettle, followerReadsAtEnd: stats.reads });
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
      // "as of" the follower's Last-Modified (when the leader answered what the replicator copied).
      const lm = new Date(await answeredAt("/api/pages"));
      const hhmm = `${String(lm.getHours()).padStart(2, "0")}:${String(lm.getMinutes()).padStart(2, "0")}`;
      assert.equal(ui.pagesOrigin, `from AWS (follower), as of ${hhmm}`, name);
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

  // ---- spec §11: each emergency fault's report at the leader, with its cause ----
  const res = await fetch(`${ORIGIN.leader}/api/reports?from=${testStart}&to=${Date.now() + 1}&limit=100`, { headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` } });
  assert.equal(res.status, 200, `GET /api/reports: ${res.status}`);
  const reports = (await res.json()).reports;
  const phaseOf = (rep) => rows.findLast((r) => r.t0 <= rep.startedAt)?.phase.name ?? "before the faults";
  console.log(`Reports at the leader: ${reports.length}`);
  for (const rep of reports) {
    const p = rep.probes;
    console.log(`  ${phaseOf(rep)}: durationMs ${rep.durationMs}, probes {timeout ${p.timeout}, network ${p.network}, status ${JSON.stringify(p.status)}, body ${p.body}}, followerReads ${rep.followerReads}, leaderUnavailable ${rep.leaderUnavailable}, outcomeUnknown ${rep.outcomeUnknown}, followerRequests ${rep.followerRequests}, rttMs ${rep.rttMs}`);
  }
  const emergencies = rows.filter((r) => r.phase.expect === "emergency").map((r) => r.phase.name);
  assert.deepEqual(reports.map(phaseOf), emergencies, "one report per emergency fault, none for the offline one");
  const of = (name) => reports.find((rep) => phaseOf(rep) === name)?.probes;
  const killed = of("app killed (NGINX 502)");
  assert.ok(killed.status.length === 1 && killed.status[0][0] === 502 && killed.status[0][1] > 0, `app killed: status ${JSON.stringify(killed.status)}, not [[502, n]]`);
  assert.deepEqual([killed.timeout, killed.network, killed.body], [0, 0, 0], "app killed: causes other than NGINX's 502");
  const refused = of("NGINX stopped (refused)");
  assert.ok(refused.network > 0, `NGINX stopped: no network failure counted (${JSON.stringify(refused)})`);
  assert.deepEqual([refused.timeout, refused.status, refused.body], [0, [], 0], "NGINX stopped: causes other than network");
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
  const note = { text: "sent twice", clientId: randomUUID() };
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

  // A repeat while the first is still running: 409. The store is put in the state a first
  // request leaves while its view runs (the key claimed, no answer yet); the request is the
  // same (method, path and body: the key's fingerprint).
  const slow = { text: "sent while the first runs", clientId: randomUUID() };
  const key = `concurrent-${run}`;
  const fingerprint = createHash("sha256").update("POST /api/notes\n").update(JSON.stringify(slow)).digest("hex");
  const claim = (ago) => python("import sqlite3, sys, time\ndb = sqlite3.connect(sys.argv[1], timeout=10)\n"
    + "db.execute('INSERT OR REPLACE INTO idempotency (key, request, created) VALUES (?, ?, ?)', (sys.argv[2], sys.argv[3], time.time() - float(sys.argv[4])))\ndb.commit()",
  s.stack.dataDb, key, fingerprint, String(ago));
  await claim(0);
  const running = await postNote(key, slow);
  assert.equal(running.status, 409, running.body);
  assert.equal(await count(slow.clientId), 0, "a 409 saved the note");
  // A key left running past 60 s belongs to a worker gunicorn killed: a repeat runs it.
  await claim(61);
  const rerun = await postNote(key, slow);
  assert.equal(rerun.status, 201, rerun.body);
  const later = await postNote(key, slow);
  assert.deepEqual([later.status, later.body, later.replayed], [201, rerun.body, "true"], "the repeat after it finished gets its answer");
  assert.equal(await count(slow.clientId), 1, "the repeats made a second note");
});

/** The recipe's limit on writes, read from deploy/leader/acme-hub.conf: { rate (per second), burst }, or null without one. */
async function writeLimit() {
  const conf = await readFile(`${DEPLOY}/leader/acme-hub.conf`, "utf8");
  const rate = conf.match(/^\s*limit_req_zone\s[^;]*\brate=(\d+)r\/s/m);
  const burst = conf.match(/^\s*limit_req\s[^;]*\bburst=(\d+)/m);
  return rate && burst ? { rate: Number(rate[1]), burst: Number(burst[1]) } : null;
}

/** Bytes of the leader's data on disk: its SQLite files (database, WAL, journal) and the old recipe's notes log. */
async function dataBytes(dir) {
  let total = 0;
  for (const name of await readdir(dir)) {
    if (/^notes\.jsonl$|\.sqlite3(-wal|-journal)?$/.test(name)) total += (await stat(`${dir}/${name}`)).size;
  }
  return total;
}

/**
 * A spammer: `rate` notes a second for `seconds` through NGINX from the loopback address
 * `from` (not the visitor's), each with a fresh Idempotency-Key as the page sends them and the
 * longest text the recipe takes; at most `maxInFlight` open at once (beyond that a tick is
 * counted as skipped). Resolves with the count of each status and of errors.
 */
async function spam({ rate, seconds, from, maxInFlight = 128 }) {
  const out = { sent: 0, skipped: 0, errors: 0, statuses: {} };
  // A connection per note, as a flood from many sockets would (and no keep-alive races to count as errors).
  const agent = new http.Agent({ keepAlive: false, maxSockets: maxInFlight });
  const text = "spam ".repeat(400).trim().padEnd(2000, "!");
  const one = () => new Promise((resolve) => {
    const body = JSON.stringify({ text, clientId: randomUUID() });
    const req = http.request({
      host: "127.0.0.1", port: PORTS.leader, path: "/api/notes", method: "POST", agent, localAddress: from, timeout: 10000,
      headers: { origin: ORIGIN.page, "content-type": "application/json", "content-length": Buffer.byteLength(body), "idempotency-key": randomUUID() },
    }, (res) => {
      res.resume();
      res.once("end", () => { out.statuses[res.statusCode] = (out.statuses[res.statusCode] ?? 0) + 1; resolve(); });
      res.once("error", () => { out.errors++; resolve(); });
    });
    req.once("timeout", () => req.destroy(new Error("timeout")));
    req.once("error", () => { out.errors++; resolve(); });
    req.end(body);
  });
  const pending = new Set();
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    const due = Math.floor(((Date.now() - t0) * rate) / 1000);
    while (out.sent + out.skipped < due) {
      if (pending.size >= maxInFlight) { out.skipped++; continue; }
      out.sent++;
      const p = one().finally(() => pending.delete(p));
      pending.add(p);
    }
    await sleep(5);
  }
  await Promise.all(pending);
  agent.destroy();
  return out;
}

// Runs in the page: a visitor reading the handbook every 200 ms, each read timed, and every state change.
function startVisitor() {
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  const c = (window.vis = { reads: [], changes: [], stop: false });
  new MutationObserver(() => c.changes.push({ t: Date.now(), state: document.body.dataset.state }))
    .observe(document.body, { attributes: true, attributeFilter: ["data-state"] });
  (async () => {
    while (!c.stop) {
      const t = Date.now();
      const r = await window.hub.readPages();
      c.reads.push({ t, ms: r.ms, ok: r.ok, origin: r.origin, code: r.code });
      await pause(200);
    }
  })();
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN; };

test("a spammer at 200 notes/s from one address for 30 s: the visitor stays on the leader at its pace, the spammer gets 429s, the disk grows by the limit's worth at most", async () => {
  const SECONDS = 30;
  const RATE = 200;
  const { context, page, errors } = await openPage(config());
  assert.ok(await waitState(page, "leader"), "the page never reached the leader");
  await page.evaluate(startVisitor);
  await sleep(5000); // the visitor's pace without the spammer
  const bytes0 = await dataBytes(s.stack.dir);
  const spamAt = Date.now();
  const spammer = await spam({ rate: RATE, seconds: SECONDS, from: "127.0.0.2" });
  const spamEnd = Date.now();
  await sleep(1000);
  const bytes1 = await dataBytes(s.stack.dir);
  const v = await page.evaluate(() => { window.vis.stop = true; return { reads: window.vis.reads, changes: window.vis.changes }; });
  await context.close();

  const quiet = v.reads.filter((r) => r.t < spamAt);
  const during = v.reads.filter((r) => r.t >= spamAt && r.t < spamEnd);
  const fmtMs = (x) => `${Math.round(x)} ms`;
  const limit = await writeLimit();
  const saved = spammer.statuses[201] ?? 0;
  const limited = spammer.statuses[429] ?? 0;
  const fivexx = Object.entries(spammer.statuses).filter(([k]) => k >= 500).reduce((n, [, c]) => n + c, 0);
  console.log(`\nSpam test (${RATE} notes/s for ${SECONDS} s from 127.0.0.2; recipe limit ${limit ? `${limit.rate} r/s, burst ${limit.burst}` : "none"}):`);
  console.log(`  visitor reads without spam: ${quiet.length} in 5 s, p50 ${fmtMs(pct(quiet.map((r) => r.ms), 50))}, p95 ${fmtMs(pct(quiet.map((r) => r.ms), 95))}`);
  console.log(`  visitor reads during spam:  ${during.length} in ${SECONDS} s, p50 ${fmtMs(pct(during.map((r) => r.ms), 50))}, p95 ${fmtMs(pct(during.map((r) => r.ms), 95))}, max ${fmtMs(Math.max(...during.map((r) => r.ms)))}; not from the leader: ${during.filter((r) => !r.ok || r.origin !== "leader").length}; state changes: ${JSON.stringify(v.changes.map((c) => c.state))}`);
  console.log(`  spammer: ${spammer.sent} sent (${spammer.skipped} ticks skipped at ${128} open), statuses ${JSON.stringify(spammer.statuses)}, ${spammer.errors} network errors/timeouts; 429s: ${limited}`);
  console.log(`  disk (data files): ${bytes0} -> ${bytes1} B, grew ${bytes1 - bytes0} B`);

  assert.deepEqual(errors, []);
  assert.deepEqual(v.changes, [], "the visitor's state changed during the spam");
  assert.ok(during.every((r) => r.ok && r.origin === "leader"), "a visitor's read was not served by the leader");
  // Its pace: reads every 200 ms + their time; at least 3/4 of the quiet rate, p95 well within health.timeoutMs.
  assert.ok(during.length / SECONDS >= 0.75 * (quiet.length / 5), `the visitor read ${during.length} times in ${SECONDS} s, ${quiet.length} in 5 s without spam`);
  assert.ok(pct(during.map((r) => r.ms), 95) <= 250, `visitor read p95 ${fmtMs(pct(during.map((r) => r.ms), 95))}`);
  assert.ok(limit, "acme-hub.conf has no limit_req on writes");
  const admitted = limit.burst + limit.rate * (SECONDS + 2);
  assert.ok(saved <= admitted, `${saved} spam notes saved; the limit admits ${admitted}`);
  assert.equal(fivexx, 0, "the spammer got 5xx answers");
  assert.equal(spammer.errors, 0, "the spammer's requests failed or timed out (no answer)");
  assert.ok(limited >= spammer.sent - admitted, `only ${limited} of ${spammer.sent} refused with 429`);
  // A saved note is two transactions (its key claimed; the note with its key's answer), each a
  // few 4 KiB pages in the WAL (table and index leaves, sqlite_sequence): 40 KiB is the bound.
  assert.ok(bytes1 - bytes0 <= admitted * 40 * 1024, `the data grew ${bytes1 - bytes0} B for ${saved} notes`);
});

/** POSTs `body` (JSON) to the leader through NGINX from the loopback address `from`; resolves with { status, body, replayed }. */
function postFrom(from, path, body, headers = {}) {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1", port: PORTS.leader, path, method: "POST", localAddress: from, timeout: 15000,
      headers: { origin: ORIGIN.page, "content-type": "application/json", "content-length": Buffer.byteLength(data), ...headers },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { text += d; });
      res.once("end", () => resolve({ status: res.statusCode, body: text, replayed: res.headers["idempotent-replayed"] ?? null }));
      res.once("error", reject);
    });
    req.once("timeout", () => req.destroy(new Error(`no answer from ${path} within 15 s`)));
    req.once("error", reject);
    req.end(data);
  });
}

test("the idempotency store under 50 concurrent keyed writes, each sent twice at once: each note saved once, no 5xx, every repeat answered", async () => {
  // 50 visitors (one loopback address each, so the per-address limit is not what is tested),
  // each sending its note twice at the same instant with one key, as a page whose first
  // attempt timed out would; then once more after all have settled.
  const notes = Array.from({ length: 50 }, (_, i) => ({
    from: `127.0.1.${i + 1}`, key: `load-${randomUUID()}`, note: { text: `concurrent note ${i}`, clientId: randomUUID() },
  }));
  const t0 = Date.now();
  const first = await Promise.all(notes.flatMap((n) => [0, 1].map(() => postFrom(n.from, "/api/notes", n.note, { "idempotency-key": n.key }))));
  const ms = Date.now() - t0;
  const after = await Promise.all(notes.map((n) => postFrom(n.from, "/api/notes", n.note, { "idempotency-key": n.key })));
  const statuses = {};
  for (const a of [...first, ...after]) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
  const stored = await notesLog(s.stack);
  console.log(`50 keyed notes, each twice at once (100 requests in ${ms} ms), then each again: statuses ${JSON.stringify(statuses)}; ${stored.filter((r) => notes.some((n) => n.note.clientId === r.clientId)).length} stored`);
  for (const [i, n] of notes.entries()) {
    const pair = [first[2 * i], first[2 * i + 1]];
    assert.ok(pair.every((a) => a.status === 201 || a.status === 409), `note ${i}: ${pair.map((a) => `${a.status} ${a.body}`).join(" / ")}`);
    const created = pair.filter((a) => a.status === 201);
    assert.ok(created.length >= 1, `note ${i}: neither attempt was answered 201 (${pair.map((a) => a.status)})`);
    assert.ok(created.every((a) => a.body === created[0].body), `note ${i}: two different answers for one key`);
    assert.deepEqual([after[i].status, after[i].body, after[i].replayed], [201, created[0].body, "true"], `note ${i}: the repeat after it settled`);
    assert.equal(stored.filter((r) => r.clientId === n.note.clientId).length, 1, `note ${i} stored ${stored.filter((r) => r.clientId === n.note.clientId).length} times`);
  }
});

test("FLASK_DEBUG=1 does not put the leader in debug mode: /health stays compact, errors are JSON without a traceback", async () => {
  await s.app.stop();
  s.app = await startApp(s.stack, { FLASK_DEBUG: "1" });
  try {
    const body = await (await fetch(`${ORIGIN.leader}/health`, { headers: { origin: ORIGIN.page } })).text();
    assert.equal(body, "{\"status\":\"ok\"}\n", "Flask pretty-printed: debug mode is on");
    const missing = await fetch(`${ORIGIN.leader}/api/no-such-thing`, { headers: { origin: ORIGIN.page } });
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get("content-type") ?? "", /^application\/json/);
    const bad = await fetch(`${ORIGIN.leader}/api/notes`, { method: "POST", headers: { origin: ORIGIN.page, "content-type": "application/json" }, body: "[1, 2]" });
    assert.equal(bad.status, 400);
    const text = await bad.text();
    assert.equal(JSON.parse(text).field, "body");
    assert.doesNotMatch(text, /Traceback|werkzeug/i);
  } finally {
    await s.app.stop();
    s.app = await startApp(s.stack);
  }
});

const FRAMER_PORT = 18530;
test("CSP frame-ancestors 'none': another site cannot frame the page (and its note form)", async () => {
  /** Opens a page on another origin that frames the landing page served under `policy`; true when the framed page ran. */
  async function framedRuns(policy) {
    await s.page?.stop();
    s.page = await startPage(config(), policy, s.stack.site);
    const context = await s.browser.newContext();
    const page = await context.newPage();
    const refused = [];
    page.on("console", (m) => /frame-ancestors/.test(m.text()) && refused.push(m.text()));
    // The other site: a loopback origin of its own (a public one could not frame a loopback page at all).
    const framer = http.createServer((_, res) => { res.writeHead(200, { "Content-Type": "text/html" }); res.end(`<!doctype html><iframe src="${ORIGIN.page}/"></iframe>`); });
    await new Promise((resolve) => framer.listen(FRAMER_PORT, "127.0.0.1", resolve));
    await page.goto(`http://127.0.0.1:${FRAMER_PORT}/`);
    let ran = false;
    for (const end = Date.now() + 5000; Date.now() < end && !ran; await sleep(100)) {
      const frame = page.frames().find((f) => f !== page.mainFrame());
      ran = Boolean(await frame?.evaluate(() => Boolean(window.hub)).catch(() => false));
    }
    await context.close();
    framer.closeAllConnections();
    await new Promise((resolve) => framer.close(resolve));
    return { ran, refused };
  }
  const deployed = await framedRuns(csp());
  assert.match(csp(), /(^|; )frame-ancestors 'none'(;|$)/);
  assert.equal(deployed.ran, false, "the page ran inside another site's frame");
  console.log(`framed under the deployed CSP: blocked (${deployed.refused[0] ?? "no console message"})`);
  // The control: the same page without the directive does run in the frame, so the check above can fail.
  const without = await framedRuns(csp().replace(/frame-ancestors 'none'(; )?/, ""));
  assert.equal(without.ran, true, "control: without frame-ancestors the framed page did not run either");
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
