// Issue 33's traps on the real stack (realstack.mjs: NGINX + Flask under gunicorn as the
// leader, the API Gateway + Lambda stand-in as the follower reading moto's replica), as a
// visitor of the landing page meets them:
// (a) both sides stop answering with no browser `offline` event, then return: the
//     visitor's next read succeeds at once, not at the next backoff probe;
// (b) writes.idempotencyKey against an NGINX whose CORS does not allow the header: one
//     console warning naming it, and none against the shipped config;
// (c) a cold page view while the leader hangs reads each path once from the follower.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, sleep } from "./harness.mjs";
import { pageRoutes, pageSettings } from "./fixture.mjs";
import { ORIGIN, FOLLOWER_BASE, startStack, stopStack, startNginx, startPage, accessLog, notesLog } from "./realstack.mjs";

const s = {}; // the running stack: stack (temp dir), app, nginx, replica, follower, page, browser
const TIMEOUT_MS = 500; // health.timeoutMs; the follower probe's deadline is the same (engine/probe.rs)

/** The page's config for this stack, as realstack.test.mjs's, with the library's default backoff cap (60 s). */
function config(overrides = {}) {
  return {
    leader: ORIGIN.leader,
    follower: FOLLOWER_BASE,
    health: { timeoutMs: TIMEOUT_MS, intervalMs: 1000, expect: { status: "ok" } },
    requestTimeoutMs: 1500,
    routes: pageRoutes({ leader: ORIGIN.store, follower: ORIGIN.bucket }),
    hysteresis: { successesToUp: 2, halfLifeMs: 1000 },
    ...pageSettings(),
    ...overrides,
  };
}

before(() => startStack(s, config()));

after(() => stopStack(s));

/** A fresh browser context on the landing page; `console` collects the console's warnings. */
async function openPage(cfg = config()) {
  await s.page?.stop();
  s.page = await startPage(cfg, undefined, s.stack.site);
  const context = await s.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  const warnings = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  await page.goto(`${ORIGIN.page}/`);
  await page.waitForFunction(() => window.hub);
  return { context, page, errors, warnings };
}

const stateOf = (page) => page.evaluate(() => document.body.dataset.state);
async function waitState(page, want, ms = 10000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(25)) {
    if ((await stateOf(page)) === want) return Date.now();
  }
  return null;
}

// Runs in the page: a visitor reading the handbook every 250 ms, each read with its start and end.
function startVisitor() {
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  const c = (window.vis = { reads: [], stop: false });
  (async () => {
    while (!c.stop) {
      const t = Date.now();
      const r = await window.hub.readPages();
      c.reads.push({ t, end: Date.now(), ok: r.ok, origin: r.origin, code: r.code });
      await pause(250);
    }
  })();
}

const VISIT_MS = 250; // the visitor's pause between reads
const MIN_GAP_MS = 1000; // spec §2: requests start at most one probe round a second (model/offline.rs)
const OUTAGE_MS = 15000; // the issue's measurement: both sides silent for 15 s

test("both sides silent without an `offline` event, then back: the visitor's next read succeeds at once", async () => {
  const { context, page, errors } = await openPage();
  assert.ok(await waitState(page, "leader"), "the page never reached the leader");
  assert.equal(await page.evaluate(() => navigator.onLine), true);
  await page.evaluate(startVisitor);
  await sleep(1000);
  // The uplink drops: nothing answers on either side (NGINX's processes stopped, the
  // follower's requests held); the browser's interface is untouched, so no `offline` event.
  const cutAt = Date.now();
  s.nginx.freeze();
  s.follower.hang();
  let back;
  try {
    assert.ok(await waitState(page, "offline", 8000), "the page never showed offline with both sides silent");
    await sleep(OUTAGE_MS - (Date.now() - cutAt));
  } finally {
    s.nginx.thaw();
    s.follower.resume();
    back = Date.now(); // the line's return
  }
  let first = null;
  for (const end = back + 70000; Date.now() < end && !first; await sleep(50)) {
    const reads = await page.evaluate(() => window.vis.reads);
    first = reads.find((r) => r.ok && r.end >= back) ?? null;
  }
  const reads = await page.evaluate(() => { window.vis.stop = true; return window.vis.reads; });
  await context.close();
  const during = reads.filter((r) => r.t >= cutAt + 8000 && r.end < back);
  const afterBack = reads.filter((r) => r.end >= back && (!first || r.end <= first.end));
  const figure = first && first.end - back;
  console.log(`\n(a) both sides silent ${OUTAGE_MS / 1000} s (no offline event), a read every ${VISIT_MS} ms: `
    + `time from the line's return to the first successful read: ${figure == null ? "none within 70 s" : `${figure} ms`} `
    + `(served by the ${first?.origin ?? "—"}); reads after the return until then: ${afterBack.map((r) => (r.ok ? "ok" : r.code)).join(", ")}`);
  assert.deepEqual(errors, []);
  assert.ok(during.length > 0 && during.every((r) => !r.ok), "the reads in the outage's tail did not all fail: the outage did not take");
  assert.ok(first, "no read succeeded within 70 s of the line's return");
  // The request that finds `offline` waits for a probe round: health.timeoutMs for the
  // leader, the same for the follower. A read that joins a round begun before the line's
  // return is refused by it; the next, within a second of that round, waits for the next
  // round (at most one a second, spec §2) instead of being refused; that round's probe and
  // the read itself take a few ms on loopback (200 allowed): the bound from the line's
  // return is the sum, whatever the visitor's pace.
  const bound = TIMEOUT_MS + TIMEOUT_MS + MIN_GAP_MS + 200;
  assert.ok(figure <= bound, `the first read after the line's return succeeded ${figure} ms after it (bound ${bound} ms)`);
});

/** acme-hub.conf as rendered for this stack, with its Access-Control-Allow-Headers line replaced by `line` (null: as shipped). */
async function leaderCors(line) {
  const file = join(s.stack.dir, "conf.d", "acme-hub.conf");
  s.shipped ??= await readFile(file, "utf8");
  let text = s.shipped;
  if (line) {
    const re = /^(\s*)add_header Access-Control-Allow-Headers [^\n]*$/m;
    assert.match(s.shipped, re, "acme-hub.conf has no Access-Control-Allow-Headers line");
    text = s.shipped.replace(re, `$1${line}`);
    assert.notEqual(text, s.shipped);
  }
  await s.nginx.stop();
  await writeFile(file, text);
  s.nginx = await startNginx(s.stack);
}

/** Opens a fresh page, posts `n` notes a visitor's pace apart; resolves with their outcomes and the console's warnings from the library. */
async function postNotes(n) {
  const { context, page, errors, warnings } = await openPage();
  assert.ok(await waitState(page, "leader"), "the page never reached the leader");
  const results = [];
  for (let i = 0; i < n; i++) {
    results.push(await page.evaluate((i) => window.hub.postNote(`cors note ${i}`), i));
    await sleep(700); // under the recipe's write limit
  }
  await sleep(1500); // the probe after the last failure, and its warning
  const state = await stateOf(page);
  await context.close();
  return { results, state, errors, warnings: warnings.filter((w) => /health-proxy/.test(w)) };
}

test("writes.idempotencyKey against a leader whose CORS omits the header: one console warning naming it; none as shipped", async () => {
  const before = (await accessLog(s.stack)).length;
  await leaderCors('add_header Access-Control-Allow-Headers "content-type" always;');
  let refused;
  try {
    refused = await postNotes(3);
  } finally {
    await leaderCors(null);
  }
  const preflights = (await accessLog(s.stack)).slice(before).filter((a) => a.method === "OPTIONS" && a.acrm === "POST").length;
  const shipped = await postNotes(3);
  const saved = new Set((await notesLog(s.stack)).map((n) => n.clientId));
  console.log(`\n(b) Access-Control-Allow-Headers "content-type": ${refused.results.filter((r) => r.ok).length} of 3 notes saved, ${preflights} POST preflights at NGINX, `
    + `state ${refused.state}; library warnings: ${refused.warnings.length} ${JSON.stringify(refused.warnings)}`);
  console.log(`(b) as shipped ("content-type, idempotency-key"): ${shipped.results.filter((r) => r.ok).length} of 3 notes saved; library warnings: ${shipped.warnings.length}`);
  assert.deepEqual([...refused.errors, ...shipped.errors], []);
  // The trap took: no note reached Flask, the probes found the leader up all along.
  assert.ok(refused.results.every((r) => !r.ok && !saved.has(r.clientId)), "a note got through the refused preflight");
  assert.ok(preflights >= 1, "no POST preflight reached NGINX");
  assert.equal(refused.state, "leader");
  assert.equal(refused.warnings.length, 1, `expected one warning, got ${JSON.stringify(refused.warnings)}`);
  assert.match(refused.warnings[0], /Access-Control-Allow-Headers/);
  assert.match(refused.warnings[0], /\bIdempotency-Key\b/);
  // The shipped recipe allows the header: every note saved, nothing to warn about.
  assert.ok(shipped.results.every((r) => r.ok && saved.has(r.clientId)), `notes against the shipped config: ${JSON.stringify(shipped.results)}`);
  assert.deepEqual(shipped.warnings, []);
});

/** www/config.json as deployed (its timers), on this stack's origins: the files' route gets the store and the bucket. */
async function deployedConfig() {
  const shipped = JSON.parse(await readFile(join(ROOT, "www/config.json"), "utf8"));
  const routes = shipped.routes.map((r) => (r.prefix === "/files" ? { ...r, leader: ORIGIN.store, follower: ORIGIN.bucket } : r));
  return { ...shipped, leader: ORIGIN.leader, follower: FOLLOWER_BASE, routes };
}

test("a cold page view with the deployed config while the leader hangs reads each path once from the follower (fast, slow link, follower far away)", async () => {
  const cfg = await deployedConfig();
  const runs = [];
  // As reads.test.mjs against the simulator: a fast line, a throttled link, a follower 300 ms away.
  // What is counted is what reaches (and is billed by) AWS: the Lambda's replica answers carry
  // Cache-Control max-age=30, so a repeat read of a path within 30 s is the browser cache's.
  for (const [name, slow, delayMs] of [["no throttling", false, 0], ["slow link", true, 0], ["follower 300 ms away", false, 300]]) {
    s.nginx.freeze();
    s.follower.delay(delayMs);
    try {
      await s.page?.stop();
      s.page = await startPage(cfg, undefined, s.stack.site);
      const context = await s.browser.newContext();
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(e.message));
      if (slow) {
        // A slow mobile link: 150 ms each way, 1.6 Mbit/s down, 750 kbit/s up.
        const cdp = await context.newCDPSession(page);
        await cdp.send("Network.enable");
        await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 150, downloadThroughput: 200000, uploadThroughput: 93750 });
      }
      s.follower.stats.paths = {};
      const reads0 = s.follower.stats.reads;
      await page.goto(`${ORIGIN.page}/`);
      const emergency = await waitState(page, "emergency", 15000);
      await sleep(6000); // the probes go on; nothing may read a list again (the issue saw the second read within 6 s of the load)
      // The rows the follower's answers put in the lists (not "Loading…", not "Could not load").
      const ui = await page.evaluate(() => Object.fromEntries(["pages", "files"].map((id) => [id,
        [...document.getElementById(id).querySelectorAll("li")].filter((li) => !/Loading…|Could not/.test(li.textContent)).length])));
      runs.push({ name, emergency: Boolean(emergency), paths: { ...s.follower.stats.paths }, reads: s.follower.stats.reads - reads0, ui, errors });
      await context.close();
    } finally {
      s.follower.delay(0);
      s.nginx.thaw();
    }
  }
  for (const r of runs) console.log(`\n(c) cold view, leader hanging, ${r.name}: follower reads per path ${JSON.stringify(r.paths)} (${r.reads} in all); the page shows ${r.ui.pages} pages, ${r.ui.files} files`);
  for (const r of runs) {
    const { name } = r;
    assert.deepEqual(r.errors, [], name);
    assert.ok(r.emergency, `${name}: the page never showed emergency`);
    assert.ok(r.ui.pages > 0 && r.ui.files > 0, `${name}: the page shows no handbook or no files`);
    assert.deepEqual(r.paths, { "/api/pages": 1, "/api/files": 1 }, `${name}: follower reads per path`);
  }
});
