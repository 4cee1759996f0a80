// The landing page against a leader on a host of its own (realnet.mjs: a network namespace
// behind a veth pair), with the line's faults made by the kernel: blackout, flapping, a far
// but healthy leader, 30 % loss, the link down. A reader and a note poster run throughout;
// per fault the suite prints what the page and the servers saw and asserts what must hold.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { ROOT, launch, sleep } from "./harness.mjs";
import { pageRoutes, pageSettings } from "./fixture.mjs";
import { ORIGIN, FOLLOWER_BASE, FILES, PORTS, OPERATOR_TOKEN, csp, prepare, startApp, startNginx, startFollower, startPage, notesLog, python } from "./realstack.mjs";
import { NET, IN_LEADER, lock, createNet, faults, leftovers, startRelay } from "./realnet.mjs";
import { running, startFaultProxy, startReplica, startReplicator, until } from "./aws.mjs";

const LEADER = `http://${NET.leader}:${PORTS.leader}`;
const STORE = `http://${NET.leader}:${PORTS.store}`;
// The replica's side (issue 30): the fault proxy the replicator reaches AWS through (on the
// visitor's side of the veth, like moto), a second one for an old replicator, and the
// operator's relay to the app on the leader's host (realnet.mjs startRelay).
const RP = { proxy: 18513, slow: 18514, relay: 18515 };
// The replicator's sweep in this suite (60 s shipped): above its longest wait between two
// tries of a copy (10 s) and the AWS client's timeouts, so that "within one sweep" is
// something the retries must earn. The cost scenario sweeps every 2 s, the kill scenario
// every 10 minutes (a replicator.json setting, sweepSeconds).
const SWEEP_S = 15;

/**
 * The page's config.json. Timeouts are the shipped www/config.json's (a probe may take
 * 1 s, a request 2.5 s: enough for two round trips of the far line), only the pace is
 * quicker (re-probe every 1 s, backoff capped at 2 s; 3 s / 4 s shipped) to keep the
 * suite short; every value is one a deployment could use.
 */
const CONFIG = {
  leader: LEADER,
  follower: FOLLOWER_BASE,
  health: { timeoutMs: 1000, intervalMs: 1000, maxBackoffMs: 2000, expect: { status: "ok" } },
  requestTimeoutMs: 2500,
  routes: pageRoutes({ leader: STORE, follower: ORIGIN.bucket }),
  // Flap damping at its default half-life (30 s), as the page ships: a shorter one lets a
  // 30 s flap back onto the leader between suppressions (measured: 6 badge changes at 10 s).
  hysteresis: { successesToUp: 2 },
  ...pageSettings(),
  // Spec §11: one report per outage episode, to the leader's recipe (deploy/leader/reports.py).
  reports: { path: "/api/reports" },
};

/**
 * The configured pace. Detection: a probe is due within intervalMs and its deadline is at
 * most 3 × timeoutMs (spec §3), plus 1 s for the follower probe and the browser. Recovery:
 * a probe still open when the line came back (≤ 3 × timeoutMs), then successesToUp probes
 * each within maxBackoffMs + timeoutMs, plus 1 s.
 */
const { timeoutMs, intervalMs, maxBackoffMs } = CONFIG.health;
const PACE = {
  detectMs: intervalMs + 3 * timeoutMs + 1000,
  recoverMs: 3 * timeoutMs + CONFIG.hysteresis.successesToUp * (maxBackoffMs + timeoutMs) + 1000,
  // Flap damping (spec §2) holds a line that left the leader more than once in a few
  // half-lives on the follower for up to two half-lives more (any phase: one session runs them all).
  flapHoldMs: 2 * 30000, // two of the default half-lives
};

/**
 * The known defects, printed as figures today. Each is asserted once its `limit` (the most
 * allowed) is a number: set it to `fixed` when the fix is in. REALNET_EXPECT_FIXED=1
 * asserts every `fixed` now (a fix's branch can try itself against all of them).
 */
const KNOWN = {
  notSavedButInFlask: { limit: 0, fixed: 0, what: "notes the page called not saved that Flask has (all phases)" },
  failedReadsUnderLoss: { limit: 0, fixed: 0, what: "critical reads failed under loss while the follower was up" },
  badgeChangesWhileFlapping: { limit: 3, fixed: 2, what: "badge changes while flapping and until back on the leader (issue 21: at most 3)" },
  farLeaderBadgeChanges: { limit: 0, fixed: 0, what: "badge changes for a far but healthy leader" },
};
function known(name, value) {
  const { limit, fixed, what } = KNOWN[name];
  const max = process.env.REALNET_EXPECT_FIXED ? fixed : limit;
  if (max != null) assert.ok(value <= max, `${what}: ${value} (at most ${max})`);
}

const PHASES = [
  { name: "blackout 10 s", fault: faults.blackout(), holdMs: 10000, down: true },
  { name: "flapping 2.5 s × 6", fault: faults.blackout(), flap: { periodMs: 2500, cycles: 6 } },
  // A line that turns far mid-session: the first probes across the switch teach the RTT
  // estimator the new line (settleMs); from then on the far line is steady for 62 s.
  { name: "far: 400 ms one way, 1 Mbit/s", fault: faults.far(400, 1), settleMs: 10000, holdMs: 72000, downloadAtMs: 40000 },
  { name: "30 % loss 20 s", fault: faults.loss(30), holdMs: 20000, downloadAtMs: 10000 },
  { name: "link down 10 s", fault: faults.linkDown(), holdMs: 10000, down: true },
];

const s = {}; // lock, stack, app, nginx, follower, page, browser, fault (the one in effect)

before(async () => {
  s.lock = await lock();
  await createNet(); // throws, saying why, where namespaces can't be made: never a skip
  s.stack = await prepare({ host: NET.leader, exec: IN_LEADER });
  s.app = await startApp(s.stack);
  s.nginx = await startNginx(s.stack);
  // The replicator runs on the leader's host and reaches AWS (moto, on the visitor's side)
  // across the veth: the line's faults cut its uplink too.
  s.replica = await startReplica(s.stack, CONFIG, { motoPort: PORTS.aws, motoHost: NET.host, leader: `http://127.0.0.1:${PORTS.app}`, sweepSeconds: SWEEP_S, proxyPort: RP.proxy });
  s.relay = await startRelay(RP.relay, { host: "127.0.0.1", port: PORTS.app });
  s.follower = await startFollower(s.replica.endpoint);
  s.page = await startPage(CONFIG, csp(ORIGIN.follower, LEADER), s.stack.site);
  s.browser = await launch();
});

after(async () => {
  const steps = [() => s.fault?.clear(), () => s.browser?.close(), () => s.page?.stop(), () => s.follower?.stop(), () => s.relay?.stop(), () => s.replica?.stop()];
  for (const step of steps) {
    try { await step(); } catch (e) { console.log(`teardown: ${e.message}`); }
  }
  // The guardian stops NGINX, gunicorn and the queue consumer, removes the namespace, the
  // veth pair, the route and the nftables table, and only then releases the lock.
  await s.lock?.release();
  await s.stack?.remove();
  const left = leftovers();
  console.log(`After teardown: namespaces ${JSON.stringify(left.netns)}, veth ${JSON.stringify(left.veth)}, nftables ${JSON.stringify(left.tables)}, routes ${JSON.stringify(left.routes)}`);
  assert.deepEqual(left, { netns: [], veth: [], tables: [], routes: [] }, "teardown left part of the network behind");
});

// Runs in the page: every badge change, every CSP violation, a reader and a note poster.
function startTraffic() {
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  const c = (window.rn = { reads: [], writes: [], changes: [], stop: false });
  new MutationObserver(() => {
    const state = document.body.dataset.state;
    if (c.changes.at(-1)?.state !== state) c.changes.push({ t: Date.now(), state });
  }).observe(document.body, { attributes: true, attributeFilter: ["data-state"] });
  c.changes.push({ t: Date.now(), state: document.body.dataset.state });
  (async () => {
    while (!c.stop) {
      for (const [kind, read] of [["pages", window.hub.readPages], ["files", window.hub.readFiles]]) {
        const t = Date.now();
        const r = await read();
        c.reads.push({ kind, t, end: Date.now(), ok: r.ok, origin: r.origin, code: r.code });
      }
      await pause(200);
    }
  })();
  (async () => {
    for (let n = 0; !c.stop; n++) {
      const t = Date.now();
      const r = await window.hub.postNote(`realnet note ${n}`, crypto.randomUUID()); // the leader takes UUIDs only
      c.writes.push({ t, end: Date.now(), ok: r.ok, code: r.code, message: r.message, clientId: r.clientId, key: r.idempotencyKey, text: `realnet note ${n}` });
      await pause(500); // under the recipe's write limit (2 a second from one address)
    }
  })();
}

const stateOf = (page) => page.evaluate(() => document.body.dataset.state);
async function waitState(page, want, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await stateOf(page)) === want) return true;
    await sleep(25);
  }
  return false;
}

/**
 * In `want`, and still there once every probe sent while the line was bad has ended (its
 * deadline is at most 3 × timeoutMs): such a probe can fail after the line is restored, and
 * the page rightly acts on it (a CI run left the leader 1 s after the loss ended).
 */
async function waitSettled(page, want, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!(await waitState(page, want, end - Date.now()))) return false;
    await sleep(3 * CONFIG.health.timeoutMs);
    if ((await stateOf(page)) === want) return true;
  }
  return false;
}

/** Clicks the first file link (state and link read together) and waits for the download. */
async function download(page, timeout = 15000) {
  const started = page.waitForEvent("download", { timeout });
  const at = await page.evaluate(() => {
    const a = document.querySelector("#files a.file-link");
    a?.click();
    return { state: document.body.dataset.state, href: a?.href ?? null };
  });
  if (!at.href) {
    started.catch(() => {});
    return { ...at, url: null, error: "no file link" };
  }
  try {
    const dl = await started;
    const bytes = await readFile(await dl.path());
    return { ...at, url: dl.url(), name: dl.suggestedFilename(), bytes };
  } catch (e) {
    return { ...at, url: null, error: e.message.split("\n")[0] };
  }
}

const followerCounts = () => {
  const f = s.follower.stats;
  return { reads: f.reads, health: f.health, writes: f.writes, preflightWrites: f.preflightWrites, preflightReads: f.preflightReads };
};

async function runPhase(page, phase) {
  const r = { phase, downloads: [], before: followerCounts() };
  r.applied = Date.now();
  s.fault = phase.fault;
  if (phase.flap) {
    for (let i = 0; i < phase.flap.cycles; i++) {
      await phase.fault.apply();
      await sleep(phase.flap.periodMs);
      await phase.fault.clear();
      if (i + 1 < phase.flap.cycles) await sleep(phase.flap.periodMs);
    }
  } else {
    await phase.fault.apply();
    if (phase.settleMs) {
      await sleep(phase.settleMs);
      r.settled = followerCounts();
      r.settledAt = Date.now();
    }
    if (phase.down) {
      // In the fault: the page shows the follower, and its file links are the AWS bucket's.
      if (await waitState(page, "emergency", PACE.detectMs + 5000)) {
        await sleep(1200);
        r.downloads.push({ when: "fault", ...(await download(page)) });
      }
    } else if (phase.downloadAtMs) {
      await sleep(phase.downloadAtMs - (Date.now() - r.applied));
      r.downloads.push({ when: "fault", ...(await download(page)) });
    }
    await sleep(phase.holdMs - (Date.now() - r.applied));
    r.clearedSaid = await phase.fault.clear();
  }
  s.fault = null;
  r.cleared = Date.now();
  r.backOnLeader = await waitSettled(page, "leader", PACE.recoverMs + PACE.flapHoldMs + 10000);
  await sleep(1200); // the refresh the change started, and a round of the reader
  r.downloads.push({ when: "after", ...(await download(page)) });
  r.end = Date.now();
  r.after = followerCounts();
  return r;
}

/**
 * The operator page (deploy/leader/operator/, served by the leader's NGINX) over this run's
 * reports, rendered as tests/e2e/operator.test.mjs renders it: its screenshot goes to
 * target/operator-page-realnet.png, and to docs/operator-page.png with UPDATE_SCREENSHOTS=1.
 */
async function operatorPage(from, to, count) {
  const context = await s.browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "UTC", locale: "en-GB" });
  try {
    const page = await context.newPage();
    const minute = 60_000;
    await page.goto(`${LEADER}/operator/#from=${Math.floor(from / minute) * minute}&to=${Math.ceil(to / minute) * minute}`);
    await page.waitForFunction(() => document.body.dataset.state === "signin");
    await page.fill("#token", OPERATOR_TOKEN);
    await page.click("#token-form button[type=submit]");
    await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 10000 });
    const status = await page.evaluate(() => document.getElementById("status").textContent.trim());
    const rows = await page.evaluate(() => document.querySelectorAll("#episodes tbody tr").length);
    await mkdir(`${ROOT}target`, { recursive: true });
    const shot = await page.screenshot({ path: `${ROOT}target/operator-page-realnet.png`, fullPage: true });
    if (process.env.UPDATE_SCREENSHOTS === "1") await page.screenshot({ path: `${ROOT}docs/operator-page.png`, fullPage: true });
    return { status, rows, count, shotBytes: shot.length };
  } finally {
    await context.close();
  }
}

/** The page's emergency episodes from its badge changes: into `emergency`, until the next `leader`. */
function emergencyEpisodes(changes) {
  const out = [];
  let start = null;
  for (const x of changes) {
    if (x.state === "emergency" && start == null) start = x.t;
    else if (x.state === "leader" && start != null) {
      out.push({ start, end: x.t });
      start = null;
    }
  }
  return out;
}

const ms = (v) => (v == null ? "—" : `${Math.round(v)} ms`);
const storeOf = (url) => (url == null ? null : url.startsWith(`${STORE}/files/`) ? "leader store" : url.startsWith(`${ORIGIN.bucket}/files/`) ? "AWS bucket" : url);
const rightStore = { leader: "leader store", emergency: "AWS bucket" };

test("real network: the leader behind a veth pair, the line cut by the kernel", async () => {
  const context = await s.browser.newContext({ acceptDownloads: true });
  await context.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push({ t: Date.now(), blocked: e.blockedURI, directive: e.violatedDirective }));
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => /Content.Security.Policy/i.test(m.text()) && errors.push(m.text()));
  const testStart = Date.now();
  const response = await page.goto(`${ORIGIN.page}/`);
  assert.equal(response.headers()["content-security-policy"], csp(ORIGIN.follower, LEADER));
  assert.match(response.headers()["content-security-policy"], new RegExp(`connect-src 'self' ${LEADER} `), "the CSP names the leader's real origin");
  assert.ok(await waitState(page, "leader", 15000), `the page never reached the leader at ${LEADER}`);
  await page.evaluate(startTraffic);
  await sleep(3000); // the RTT estimator's first samples, and traffic on the leader

  const rows = [];
  for (const phase of PHASES) rows.push(await runPhase(page, phase));

  const c = await page.evaluate(() => { window.rn.stop = true; return { reads: window.rn.reads, writes: window.rn.writes, changes: window.rn.changes, csp: window.cspViolations }; });
  await sleep(3000); // the last requests finish; a note's retransmitted bytes land
  c.writes = await page.evaluate(() => window.rn.writes); // with the answers that came in meanwhile
  // Issue 20: every note whose outcome was unknown is sent again with its key, as the page's
  // "Send again" does (a 409 while the first still runs is unknown again: try once more).
  const resent = await page.evaluate(async () => {
    const out = [];
    for (const w of window.rn.writes.filter((w) => w.code === "OUTCOME_UNKNOWN")) {
      let r;
      for (let i = 0; i < 5; i++) {
        r = await window.hub.postNote(w.text, w.clientId, w.key);
        if (r.ok) break;
        await new Promise((done) => setTimeout(done, 500));
      }
      out.push({ clientId: w.clientId, key: w.key, ok: r.ok, code: r.code });
    }
    return out;
  });
  // Spec §11: the leader's stored reports, read as the operator page does (the suite's
  // operator token). Each is sent when the verdict returns to leader, which every phase
  // waited for: a short wait only for the last one's answer.
  const readReports = async () => {
    const res = await fetch(`${LEADER}/api/reports?from=${testStart}&to=${Date.now() + 1}&limit=100`, { headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` } });
    assert.equal(res.status, 200, `GET /api/reports: ${res.status}`);
    return (await res.json()).reports;
  };
  let reports = await readReports();
  for (let i = 0; i < 10 && reports.length < emergencyEpisodes(c.changes).length; i++) {
    await sleep(500);
    reports = await readReports();
  }
  const operator = await operatorPage(testStart, Date.now(), reports.length).catch((e) => ({ error: e.message.split("\n")[0] }));
  const log = await notesLog(s.stack);
  const inFlask = new Map();
  for (const n of log) inFlask.set(n.clientId, (inFlask.get(n.clientId) ?? 0) + 1);
  await context.close();

  // ---- per fault: what the page did, what the servers saw ----
  const table = [];
  for (const r of rows) {
    const within = (x) => x.t >= r.applied && x.t < r.end;
    const reads = c.reads.filter(within);
    const writes = c.writes.filter(within);
    const changes = c.changes.filter((x) => x.t >= r.applied && x.t < r.end);
    const left = changes.find((x) => x.state !== "leader");
    const stateAtClear = c.changes.filter((x) => x.t < r.cleared).at(-1)?.state;
    const back = c.changes.find((x) => x.t >= r.cleared && x.state === "leader");
    r.detectMs = left ? left.t - r.applied : null;
    r.recoverMs = stateAtClear === "leader" ? 0 : back ? back.t - r.cleared : null;
    r.badgeChanges = changes.length;
    r.reads = { made: reads.length, ok: reads.filter((x) => x.ok).length, leader: reads.filter((x) => x.ok && x.origin === "leader").length, follower: reads.filter((x) => x.ok && x.origin === "follower").length };
    r.failedReads = reads.filter((x) => !x.ok);
    r.worstReadMs = Math.max(0, ...reads.map((x) => x.end - x.t));
    r.notes = {
      acked: writes.filter((w) => w.ok).length,
      refused: writes.filter((w) => !w.ok && w.code === "LEADER_UNAVAILABLE").length,
      // Today a write that got no answer is LEADER_UNAVAILABLE too ("did not answer"): it was sent.
      refusedAfterSending: writes.filter((w) => !w.ok && w.code === "LEADER_UNAVAILABLE" && !/was not sent/.test(w.message ?? "")).length,
      unknown: writes.filter((w) => !w.ok && w.code === "OUTCOME_UNKNOWN").length,
      other: writes.filter((w) => !w.ok && w.code !== "LEADER_UNAVAILABLE" && w.code !== "OUTCOME_UNKNOWN").length,
      // What the page calls not saved (or not sent): anything but saved and "could not confirm".
      notSavedButInFlask: writes.filter((w) => !w.ok && w.code !== "OUTCOME_UNKNOWN" && inFlask.has(w.clientId)).length,
    };
    r.follower = Object.fromEntries(Object.keys(r.after).map((k) => [k, r.after[k] - r.before[k]]));
    if (r.settled) {
      // The steady line: from the end of the settling to the line's restoration.
      const steady = reads.filter((x) => x.t >= r.settledAt && x.t < r.cleared);
      r.steady = {
        ms: r.cleared - r.settledAt,
        reads: steady.length,
        atFollower: steady.filter((x) => x.ok && x.origin === "follower").length,
        // The follower's own counts over the same span (a read raced there and lost counts too).
        followerRequests: r.after.reads - r.settled.reads + r.after.health - r.settled.health,
        switchRequests: r.settled.reads - r.before.reads + r.settled.health - r.before.health,
      };
    }
    r.csp = c.csp.filter(within).length;
    table.push({
      fault: r.phase.name,
      "fault → badge": r.detectMs == null ? "no change" : ms(r.detectMs),
      "recovery → leader": r.recoverMs === 0 ? "stayed" : ms(r.recoverMs),
      "critical reads ok/made": `${r.reads.ok}/${r.reads.made}`,
      "leader/follower": `${r.reads.leader}/${r.reads.follower}`,
      "worst read": ms(r.worstReadMs),
      "badge changes": r.badgeChanges,
      "follower reads/probes": `${r.follower.reads}/${r.follower.health}`,
      "notes ack/refused (sent)/unknown/other": `${r.notes.acked}/${r.notes.refused} (${r.notes.refusedAfterSending})/${r.notes.unknown}/${r.notes.other}`,
      "'not saved' in Flask": r.notes.notSavedButInFlask,
      "follower writes/preflights": `${r.follower.writes}/${r.follower.preflightWrites}`,
      downloads: r.downloads.map((d) => `${d.state}→${storeOf(d.url) ?? `failed (${d.error})`}`).join(", "),
      CSP: r.csp,
    });
  }
  console.log(`\nReal network: leader ${LEADER} in namespace ${NET.ns} (veth ${NET.hostIf}/${NET.leaderIf}), follower ${ORIGIN.follower}, page ${ORIGIN.page}`);
  console.log(`Config: health timeoutMs ${timeoutMs}, intervalMs ${intervalMs}, maxBackoffMs ${maxBackoffMs}, requestTimeoutMs ${CONFIG.requestTimeoutMs}, successesToUp ${CONFIG.hysteresis.successesToUp}; pace: detect ≤ ${PACE.detectMs} ms, recover ≤ ${PACE.recoverMs} ms`);
  console.table(table);
  const acked = c.writes.filter((w) => w.ok);
  console.log(`Notes: ${c.writes.length} posted, ${acked.length} acknowledged; Flask's log holds ${log.length} (${[...inFlask.values()].filter((n) => n > 1).length} doubled); ${c.writes.filter((w) => !w.ok && w.code !== "OUTCOME_UNKNOWN" && inFlask.has(w.clientId)).length} the page called not saved are in it; ${resent.length} with an unknown outcome sent again with their keys, ${resent.filter((r) => r.ok).length} acknowledged.`);
  for (const r of rows.filter((r) => r.failedReads.length)) {
    console.log(`Failed reads in "${r.phase.name}": ${r.failedReads.map((x) => `${x.kind} ${x.code} after ${x.end - x.t} ms`).join("; ")}`);
  }
  const far = rows.find((r) => r.phase.fault === PHASES[2].fault);
  if (far?.clearedSaid) console.log(`Queue consumer: ${far.clearedSaid}`);
  if (far?.steady) {
    const st = far.steady;
    console.log(`Far line: ${far.phase.settleMs} ms after the switch, ${st.switchRequests} follower request(s); then ${Math.round(st.ms / 1000)} s steady: ${st.reads} reads, ${st.atFollower} served by the follower, ${st.followerRequests} follower request(s) (reads and probes)`);
  }

  // ---- what must hold today ----
  assert.deepEqual(errors, [], "the page threw or broke its Content-Security-Policy");
  assert.deepEqual(c.csp, [], "CSP violations");
  const f = s.follower.stats;
  assert.equal(f.writes, 0, "a write reached the follower");
  assert.equal(f.preflightWrites, 0, "a write's preflight reached the follower");
  assert.ok(acked.length >= 20, `only ${acked.length} notes acknowledged`);
  for (const w of acked) assert.equal(inFlask.get(w.clientId), 1, `acknowledged note ${w.clientId} is in Flask's log ${inFlask.get(w.clientId) ?? 0} times`);
  for (const [id, n] of inFlask) assert.equal(n, 1, `note ${id} is in Flask's log ${n} times`);
  for (const r of resent) {
    assert.ok(r.key, `note ${r.clientId}: an unknown outcome without a key (writes.idempotencyKey is on)`);
    assert.ok(r.ok, `note ${r.clientId} sent again with its key was not acknowledged (${r.code})`);
    assert.equal(inFlask.get(r.clientId), 1, `note ${r.clientId}, sent again with its key, is in Flask's log ${inFlask.get(r.clientId) ?? 0} times`);
  }
  const sent = new Set(c.writes.map((w) => w.clientId));
  for (const id of inFlask.keys()) assert.ok(sent.has(id), `Flask logged ${id}, which the page never sent`);
  for (const w of c.writes.filter((w) => !w.ok && /was not sent/.test(w.message ?? ""))) {
    assert.ok(!inFlask.has(w.clientId), `note ${w.clientId} was refused as not sent but reached Flask`);
  }
  for (const r of rows) {
    const name = r.phase.name;
    assert.equal(r.follower.writes + r.follower.preflightWrites, 0, `${name}: writes or write preflights at the follower`);
    assert.ok(r.backOnLeader, `${name}: the page was not back on the leader ${PACE.recoverMs + PACE.flapHoldMs + 10000} ms after the line was`);
    assert.ok(r.recoverMs != null && r.recoverMs <= PACE.recoverMs + PACE.flapHoldMs, `${name}: back on the leader after ${ms(r.recoverMs)} (pace ${PACE.recoverMs} ms + damping ${PACE.flapHoldMs} ms)`);
    if (r.phase.down) {
      assert.ok(r.detectMs != null && r.detectMs <= PACE.detectMs, `${name}: the badge changed after ${ms(r.detectMs)} (pace ${PACE.detectMs} ms)`);
      assert.equal(r.downloads[0]?.state, "emergency", `${name}: no download while on the follower`);
    }
    assert.ok(r.reads.made > 0, `${name}: the reader made no read`);
    for (const d of r.downloads) {
      if (d.url == null && d.when === "fault" && !r.phase.down) continue; // under loss: printed above
      assert.ok(d.url, `${name}: the ${d.when} download failed: ${d.error}`);
      assert.equal(storeOf(d.url), rightStore[d.state], `${name}: in state ${d.state} the file came from ${d.url}`);
      assert.ok(FILES[d.name]?.equals(d.bytes), `${name}: the downloaded bytes of ${d.name} differ`);
    }
    assert.equal(r.downloads.at(-1).state, "leader", `${name}: the last download was not on the leader`);
  }
  // ---- spec §11: one report per emergency episode, at the leader, none at the follower ----
  // The suite's own episodes: from the page's change to `emergency` to its next change to
  // `leader` (an `offline` between them is the same episode, as in src/model/report.rs).
  const episodes = emergencyEpisodes(c.changes).map((e) => ({ ...e, phase: rows.find((r) => e.start >= r.applied && e.start < r.end)?.phase.name ?? "outside the faults" }));
  const sorted = [...reports].sort((a, b) => a.startedAt - b.startedAt);
  const fmtCauses = (p) => `timeout ${p.timeout}, network ${p.network}, status ${JSON.stringify(p.status)}, body ${p.body}`;
  console.log(`Reports at the leader (GET /api/reports): ${reports.length}; emergency episodes on the page: ${episodes.length} (${rows.map((r) => `${r.phase.name}: ${episodes.filter((e) => e.phase === r.phase.name).length}`).join(", ")})`);
  sorted.forEach((rep, i) => {
    const e = episodes[i];
    console.log(`  report ${rep.id.slice(0, 8)} ${e?.phase ?? "no episode"}: start ${e ? `${rep.startedAt - e.start >= 0 ? "+" : ""}${rep.startedAt - e.start} ms from the badge` : rep.startedAt}, durationMs ${rep.durationMs} (page ${e ? e.end - e.start : "—"} ms), probes {${fmtCauses(rep.probes)}}, followerReads ${rep.followerReads}, leaderUnavailable ${rep.leaderUnavailable}, outcomeUnknown ${rep.outcomeUnknown}, followerRequests ${rep.followerRequests}, rttMs ${rep.rttMs}, version ${rep.version}, sampleRate ${rep.sampleRate}`);
  });
  assert.equal(reports.length, episodes.length, `reports at the leader ${reports.length}, emergency episodes on the page ${episodes.length}`);
  assert.equal(new Set(reports.map((r) => r.id)).size, reports.length, "two reports with one episode id");
  for (const r of rows) {
    if (r.phase.down) assert.ok(episodes.some((e) => e.phase === r.phase.name), `${r.phase.name}: no emergency episode on the page`);
  }
  // Duration within one probe interval of the page's own record: the episode starts at the
  // first failed probe's round (failuresToDown 1: the round that turns the badge) and ends
  // at the round that brings it back, each a DOM update away from the badge.
  sorted.forEach((rep, i) => {
    const e = episodes[i];
    assert.ok(Math.abs(rep.startedAt - e.start) <= intervalMs, `report ${rep.id} (${e.phase}) started ${rep.startedAt - e.start} ms from the page's change to emergency (at most ${intervalMs})`);
    assert.ok(Math.abs(rep.durationMs - (e.end - e.start)) <= intervalMs, `report ${rep.id} (${e.phase}): durationMs ${rep.durationMs}, the page's episode ${e.end - e.start} ms (within ${intervalMs})`);
  });
  const blackout = sorted.filter((rep, i) => episodes[i].phase === PHASES[0].name);
  assert.equal(blackout.length, 1, "the blackout's reports");
  for (const rep of blackout) {
    assert.ok(rep.probes.timeout > 0, `blackout report: no timeout counted (${fmtCauses(rep.probes)})`);
    assert.deepEqual([rep.probes.network, rep.probes.status, rep.probes.body], [0, [], 0], `blackout report: causes other than timeout (${fmtCauses(rep.probes)})`);
  }
  assert.equal(operator.error, undefined, `the operator page over this run's reports: ${operator.error}`);
  console.log(`Operator page over these reports: "${operator.status}", ${operator.rows} episode rows; screenshot target/operator-page-realnet.png (${operator.shotBytes} B)`);
  assert.equal(operator.rows, reports.length, `the operator page shows ${operator.rows} episodes of ${reports.length} reports`);
  // The follower (the Lambda behind the adapter) got no report: no POST, no preflight of one, no GET of the path.
  assert.equal(s.follower.stats.writes + s.follower.stats.preflightWrites, 0, "a report (or another write) reached the follower");
  assert.equal(s.follower.stats.paths?.["/api/reports"] ?? 0, 0, "the follower was asked for /api/reports");

  // ---- the known defects: figures today, assertions once KNOWN says so ----
  known("notSavedButInFlask", rows.reduce((n, r) => n + r.notes.notSavedButInFlask, 0));
  known("failedReadsUnderLoss", rows[3].failedReads.length);
  known("badgeChangesWhileFlapping", rows[1].badgeChanges);
  known("farLeaderBadgeChanges", rows[2].badgeChanges);
  // Issue 21: a far but healthy leader costs the follower nothing once the line is known.
  const st = rows[2].steady;
  assert.ok(st.ms >= 60000, `far line held steady only ${st.ms} ms`);
  assert.equal(st.followerRequests, 0, `far leader, steady line: ${st.followerRequests} follower request(s) in ${st.ms} ms`);
  assert.equal(st.atFollower, 0, `far leader, steady line: ${st.atFollower} read(s) served by the follower`);
  // At the switch, spec §8's early escape may send one read per open confirmation probe to
  // the follower while the estimator still holds the near line's round trips.
  assert.ok(st.switchRequests <= 1, `far leader, the switch: ${st.switchRequests} follower requests (at most 1)`);
  // Spec §8: the early escape's cost on a healthy leader is at most 1 follower request per 100 reads.
  assert.ok(rows[2].follower.reads * 100 <= rows[2].reads.made, `far leader: ${rows[2].follower.reads} follower reads for ${rows[2].reads.made} reads (at most 1 per 100)`);
});

// Issue 30, scenario 1: the replicator (in the leader's namespace) copies an operator's edit
// across the veth; 2 s after the edit's answer the line goes dark; the page in emergency
// reads the handbook from the follower and shows the edit, "as of" when the leader answered.
test("replica: an edit, 2 s, blackout: the page in emergency shows the edit with its \"as of\"", async () => {
  const context = await s.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${ORIGIN.page}/`);
  assert.ok(await waitState(page, "leader", 15000), "the page never reached the leader");
  const title = `Expenses (edited ${Date.now()})`;
  const r = await fetch(`${LEADER}/api/pages/2`, {
    method: "PUT", headers: { "content-type": "application/json", authorization: `Bearer ${OPERATOR_TOKEN}` },
    body: JSON.stringify({ title, body: "Submit receipts within 45 days through the hub." }),
  });
  assert.equal(r.status, 200, await r.text());
  await sleep(2000);
  s.fault = faults.blackout();
  await s.fault.apply();
  try {
    assert.ok(await waitState(page, "emergency", 15000), "the page did not leave the leader in the blackout");
    const read = await page.evaluate(() => window.hub.readPages());
    assert.equal(read.origin, "follower", JSON.stringify(read));
    const shown = await page.evaluate(() => ({ pages: document.getElementById("pages").textContent, origin: document.getElementById("pages-origin").textContent }));
    assert.ok(shown.pages.includes(title), `the follower's handbook lacks the edit made 2 s before the blackout: ${shown.pages.slice(0, 200)}`);
    const { DynamoDBClient, GetItemCommand } = await import("@aws-sdk/client-dynamodb");
    const db = new DynamoDBClient({ endpoint: s.replica.endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    const { Item } = await db.send(new GetItemCommand({ TableName: "acme-hub-replica", Key: { path: { S: "/api/pages" } } }));
    const at = new Date(Number(Item.answeredAt.N));
    const hhmm = `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
    assert.equal(shown.origin, `from AWS (follower), as of ${hhmm}`);
    console.log(`replica scenario 1: the edit at the follower through the blackout, shown "${shown.origin}"`);
  } finally {
    await s.fault.clear();
    s.fault = null;
    await context.close();
  }
});

// ---- Issue 30, scenarios 2–6: the replicator in the leader's namespace reaches AWS through
// the fault proxy (which counts every AWS request by kind); the operator's edits and the
// notes go to the app on the leader's host (the relay: NGINX allows 2 writes a second per
// address, a burst of 100 is a script on the host); the follower is read as visitors read it.

const stamp = Date.now(); // each run's titles are its own
const AUTH = { "content-type": "application/json", authorization: `Bearer ${OPERATOR_TOKEN}` };

/** The operator's edit of page `id`; resolves when the app has answered it. */
async function edit(id, title, body = `body of ${title}`) {
  const r = await fetch(`${s.relay.url}/api/pages/${id}`, { method: "PUT", headers: AUTH, body: JSON.stringify({ title, body }) });
  assert.ok(r.ok, `PUT /api/pages/${id}: ${r.status} ${await r.text()}`);
}

/** The leader's answer (through NGINX, as visitors get it): body and data version. */
async function atLeader(path = "/api/pages") {
  const r = await fetch(`${LEADER}${path}`);
  return { text: await r.text(), version: Number(r.headers.get("x-data-version") ?? -1) };
}

/** The follower's answer (API Gateway + the Lambda reading moto): status, body, version. */
async function atFollower(path = "/api/pages") {
  const r = await fetch(`${FOLLOWER_BASE}${path}`);
  return { status: r.status, text: await r.text(), version: Number(r.headers.get("x-replica-version") ?? -1) };
}

/** Reads the follower every 100 ms; records every version that went down. */
function watcher() {
  const w = { reads: 0, down: [], last: -1, stop: false };
  w.done = (async () => {
    while (!w.stop) {
      const f = await atFollower().catch(() => null);
      if (f?.status === 200) {
        w.reads++;
        if (f.version < w.last) w.down.push([w.last, f.version]);
        w.last = Math.max(w.last, f.version);
      }
      await sleep(100);
    }
  })();
  w.end = async () => { w.stop = true; await w.done; return w; };
  return w;
}

const sweepsOf = (r) => (r.output().match(/sweep: \d+ changed/g) ?? []).length;

/**
 * The replicator stopped (SIGTERM) and started again in the leader's namespace with
 * `sweepSeconds` (its settings file rewritten; its state, cursor and schedule on disk kept).
 */
async function restartReplicator(sweepSeconds) {
  await s.replica.replicator.kill();
  return startAgain(sweepSeconds);
}
async function startAgain(sweepSeconds) {
  const settings = JSON.parse(await readFile(s.replica.settings, "utf8"));
  await writeFile(s.replica.settings, JSON.stringify({ ...settings, sweepSeconds }));
  s.replica.replicator = startReplicator(s.replica.settings, s.replica.proxy.endpoint, "replicator", IN_LEADER);
  return running(s.replica.replicator, /replicating .* the next in \d+ s/, "the replicator's start");
}

test("replica, the uplink alone lost (the AWS port dropped in the leader's namespace): 20 edits read from the leader, all at the follower within one sweep of the return", async () => {
  const context = await s.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${ORIGIN.page}/`);
  assert.ok(await waitState(page, "leader", 15000), "the page never reached the leader");
  const rep = s.replica.replicator;
  const from = rep.mark();
  s.fault = faults.uplink(RP.proxy);
  await s.fault.apply();
  const cutAt = Date.now();
  const before = s.replica.proxy.total();
  const titles = [];
  let back;
  let cutMs;
  try {
    // Twenty pages of their own: every edit must arrive, not only the last.
    for (let i = 0; i < 20; i++) {
      const title = `uplink ${i} ${stamp}`;
      await edit(100 + i, title);
      titles.push(title);
      const read = await page.evaluate(() => window.hub.readPages());
      assert.equal(read.origin, "leader", `edit ${i}: the visitor's read ${JSON.stringify(read)}`);
      const shown = await page.evaluate(() => document.getElementById("pages").textContent);
      assert.ok(shown.includes(title), `edit ${i}: the visitor does not see "${title}"`);
      await sleep(100);
    }
    // The line stays cut until a copy that read all 20 edits has failed too: the second
    // error line after the last edit (the first may end a copy begun before it).
    const afterEdits = rep.mark();
    await until(() => (rep.since(afterEdits).match(/copy \/api\/pages FAILED/g) ?? []).length >= 2, 60000, "two error lines from the replicator after the last edit, its uplink cut", 200);
    cutMs = Date.now() - cutAt;
    const f = await atFollower();
    assert.deepEqual(titles.filter((t) => f.text.includes(t)), [], "edits reached the follower across a cut uplink");
  } finally {
    await s.fault.clear();
    s.fault = null;
    back = Date.now();
  }
  const during = s.replica.proxy.total() - before;
  await until(async () => {
    const text = (await atFollower()).text;
    return titles.every((t) => text.includes(t));
  }, SWEEP_S * 1000, `every edit at the follower within one sweep (${SWEEP_S} s) of the uplink's return`, 100);
  const caughtUp = Date.now() - back;
  assert.equal((await atFollower()).text, (await atLeader()).text, "the follower's handbook is not the leader's");
  const errors = rep.since(from).split("\n").filter((l) => /FAILED|sweep stopped/.test(l));
  console.log(`replica scenario 2 (uplink lost ${cutMs} ms): 20 edits, each read from the leader by the page; ${errors.length} replicator error lines, AWS requests that reached the proxy while cut ${during}; every edit at the follower ${caughtUp} ms after the return (sweep ${SWEEP_S} s)`);
  console.log(`  e.g. ${errors[0]?.slice(0, 200)}`);
  await context.close();
});

test("replica, the replicator SIGKILLed in a burst of 100 edits and restarted: each page's last version, carried by the outbox; a watcher never sees a version go down", async () => {
  // The restarted replicator's next sweep is 10 minutes off (the schedule is kept on disk),
  // and it is killed with nothing pending: what it copies after the restart it can only
  // learn from the outbox, the rows the app wrote in each edit's own transaction while the
  // replicator was dead.
  const before = await restartReplicator(600);
  // A sweep cut short earlier (the uplink scenario) is tried again within 5 s of it, whatever
  // the interval: that one runs first, so that none is due during the burst.
  const next = Number(/the next in (\d+) s/.exec(before.output())[1]);
  if (next < 540) await until(() => sweepsOf(before) >= 1, (next + 10) * 1000, "the sweep that was due", 100);
  const w = watcher();
  const last = {};
  let atKill = 0;
  let atRestart = 0;
  let rep;
  let want;
  try {
    await sleep(1000);
    for (let i = 0; i < 100; i++) {
      const id = 200 + (i % 5);
      last[id] = `burst ${i} ${stamp}`;
      await edit(id, last[id]);
      if (i === 49) {
        // Killed once it has copied edit 49: nothing is pending on its disk (checked), so
        // what it copies after the restart can only come from the outbox.
        const v = (await atLeader()).version;
        await until(async () => (await atFollower()).version >= v, 3000, "edit 49 at the follower", 20);
        await sleep(200);
        await s.replica.replicator.kill("SIGKILL");
        atKill = w.reads;
        const { state } = JSON.parse(await readFile(s.replica.settings, "utf8"));
        const pending = await python("import sqlite3, sys\nprint(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM pending').fetchone()[0])", state);
        assert.equal(pending.trim(), "0", "the killed replicator had copies pending on its disk");
      }
    }
    want = await atLeader();
    const stale = await atFollower();
    assert.ok(stale.version < want.version, `the follower had version ${stale.version} of ${want.version} before the restart: nothing was left to carry`);
    atRestart = w.reads;
    const restarted = Date.now();
    rep = await startAgain(600);
    await until(async () => (await atFollower()).version >= want.version, 5000, "the burst's last edit at the follower after the restart", 50);
    const lag = Date.now() - restarted;
    const took = /outbox \S+ at start: (\d+) rows past row (\d+)/.exec(rep.output());
    assert.ok(took && Number(took[1]) >= 50, `the restarted replicator did not take the 50 edits made while it was dead from the outbox: ${rep.output().slice(0, 1500)}`);
    assert.equal(sweepsOf(rep), 0, "the restarted replicator swept: the outbox was not what carried the edits");
    const f = await atFollower();
    assert.equal(f.text, want.text, "the follower's handbook is not the leader's");
    const pages = JSON.parse(f.text).pages;
    for (const [id, title] of Object.entries(last)) assert.equal(pages.find((p) => p.id === Number(id))?.title, title, `page ${id}`);
    await sleep(1000);
    await w.end();
    console.log(`replica scenario 3 (SIGKILL): 100 edits of 5 pages, killed after 50; the restarted replicator took ${took[1]} outbox rows past row ${took[2]} and had the last version (${want.version}) at the follower ${lag} ms after its start, with no sweep; watcher ${w.reads} reads (${atKill} before the kill, ${w.reads - atRestart} after the restart), versions down ${w.down.length}`);
    assert.ok(atKill >= 3 && w.reads - atRestart >= 3, `the watcher read ${atKill} times before the kill, ${w.reads - atRestart} after the restart`);
    assert.deepEqual(w.down, [], "a version went down");
  } finally {
    await w.end();
    await restartReplicator(SWEEP_S);
  }
});

test("replica, two replicators at once (an old one left behind, its line to AWS slow): never backwards", async () => {
  const settings = JSON.parse(await readFile(s.replica.settings, "utf8"));
  const file = join(s.stack.dir, "old-replicator.json");
  // Its own state (an old install), and its AWS client's timeouts set for a slow line.
  await writeFile(file, JSON.stringify({ ...settings, state: join(s.stack.dir, "old-replicator.sqlite3"), awsConnectTimeout: 5, awsReadTimeout: 10 }));
  const proxy = await startFaultProxy(RP.slow, s.replica.endpoint, NET.host);
  const old = startReplicator(file, proxy.endpoint, "old replicator", IN_LEADER);
  // Its line made slow by the kernel: what the leader's host sends to its proxy is held 1 s,
  // so each of its copies lands after newer ones.
  const slow = faults.slowPort(RP.slow, 1000);
  const w = watcher();
  try {
    await running(old, /sweep: \d+ changed/, "the old replicator's first sweep", 30000);
    await slow.apply();
    // An edit every 400 ms for 8 s: the old one copies several times meanwhile, each copy
    // older than the follower's by the time it lands, and a copy that replaced a newer one
    // would stand for up to 400 ms, long enough for the watcher to see it.
    let lastTitle;
    for (let i = 0; i < 20; i++) {
      lastTitle = `two ${i} ${stamp}`;
      await edit(300, lastTitle);
      await sleep(400);
    }
    const want = await atLeader();
    await until(async () => (await atFollower()).version >= want.version, 5000, "the last edit at the follower", 50);
    await sleep(4000); // the old one's copies, each a second or more late, have landed or been refused
    const f = await atFollower();
    assert.equal(f.version, want.version, "an older copy replaced the last one");
    assert.equal(JSON.parse(f.text).pages.find((p) => p.id === 300)?.title, lastTitle);
    await w.end();
    const refused = (old.output().match(/already newer/g) ?? []).length;
    console.log(`replica scenario 4 (two replicators): the old one's AWS requests ${JSON.stringify(proxy.counts)}, its copies refused as already newer ${refused}; watcher ${w.reads} reads, versions down ${w.down.length}`);
    if (!refused) console.log(old.output().split("\n").filter((l) => !/credentials|endpoint for/.test(l)).join("\n"));
    assert.deepEqual(w.down, [], "a version went down");
    assert.ok(refused > 0, "none of the old replicator's copies came late: the scenario did not happen");
  } finally {
    await w.end();
    await old.kill();
    await slow.clear();
    await proxy.stop();
  }
});

test("replica, AWS throttling: 30 % of AWS requests throttled for 20 s: every change copied, none lost", async () => {
  const p = s.replica.proxy;
  const rep = s.replica.replicator;
  const from = rep.mark();
  const w = watcher();
  const names = [];
  let edits = 0;
  try {
    p.reset();
    p.faults.throttle = 0.3;
    try {
      const end = Date.now() + 20_000;
      while (Date.now() < end) {
        // Ten pages and a file every fifth edit: each change on its own, none superseding another.
        await edit(400 + (edits % 10), `throttled ${edits} ${stamp}`);
        if (edits % 5 === 4) {
          const name = `throttled-${stamp}-${edits}.txt`;
          await writeFile(join(s.stack.dir, "files", name), `file ${edits} of a throttled run\n`);
          names.push(name);
        }
        edits++;
        await sleep(200);
      }
    } finally {
      p.faults.throttle = 0;
    }
    const ended = Date.now();
    const during = { counts: { ...p.counts }, injected: { ...p.injected } };
    assert.ok(during.injected.throttle >= 10, `only ${during.injected.throttle} requests throttled: the fault did not happen`);
    const pages = await atLeader();
    const files = await atLeader("/api/files");
    await until(async () => (await atFollower()).text === pages.text && (await atFollower("/api/files")).text === files.text,
      SWEEP_S * 1000 + 5000, "every change at the follower within one sweep of the throttling's end", 200);
    const caughtUp = Date.now() - ended;
    // Each file in the bucket, its bytes the store's (the follower's list is not the objects).
    const { S3Client, HeadObjectCommand } = await import("@aws-sdk/client-s3");
    const s3 = new S3Client({ endpoint: s.replica.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    const { createHash } = await import("node:crypto");
    const missing = [];
    for (const name of names) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: "acme-hub-files", Key: `files/${name}` })).catch((e) => ({ error: e.name }));
      const bytes = await readFile(join(s.stack.dir, "files", name));
      if (head.error || head.Metadata?.sha256 !== createHash("sha256").update(bytes).digest("hex") || head.ContentDisposition !== "attachment") missing.push(name);
    }
    await w.end();
    const failed = rep.since(from).split("\n").filter((l) => l.includes("FAILED")).length;
    console.log(`replica scenario 5 (throttling): ${edits} edits of 10 pages and ${names.length} files in 20 s; AWS requests ${JSON.stringify(during.counts)}, throttled ${during.injected.throttle}; replicator error lines (after the AWS client's own retries) ${failed}; all at the follower ${caughtUp} ms after the throttling ended; watcher ${w.reads} reads, versions down ${w.down.length}`);
    assert.deepEqual(missing, [], "files not in the bucket as the store holds them");
    assert.deepEqual(w.down, [], "a version went down");
  } finally {
    await w.end();
  }
});

test("replica, cost: 1,000 notes → 0 AWS requests; 5 idle sweeps → 0; 100 edits → one write each at most", async () => {
  const p = s.replica.proxy;
  // Five idle sweeps at the shipped 60 s would be five minutes: the replicator sweeps every
  // 2 s here (replicator.json's sweepSeconds), the same sweep at a shorter interval.
  const rep = await restartReplicator(2);
  try {
    await until(() => sweepsOf(rep) >= 1, 10000, "a sweep", 100);
    await sleep(300);
    p.reset();
    const sweeps0 = sweepsOf(rep);
    let next = 0;
    const post = async () => {
      while (next < 1000) {
        const i = next++;
        const r = await fetch(`${s.relay.url}/api/notes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: `cost note ${i}`, clientId: randomUUID() }) });
        assert.equal(r.status, 201, await r.text());
      }
    };
    await Promise.all(Array.from({ length: 8 }, post));
    const sweeps1 = sweepsOf(rep);
    await until(() => sweepsOf(rep) >= sweeps1 + 1, 10000, "a sweep after the notes", 100);
    const notes = p.total();
    const sweeps2 = sweepsOf(rep);
    await until(() => sweepsOf(rep) >= sweeps2 + 5, 20000, "5 idle sweeps", 100);
    const idle = p.total() - notes;
    console.log(`replica scenario 6 (cost): 1,000 notes and ${sweeps2 - sweeps0} sweeps -> ${notes} AWS requests; ${sweepsOf(rep) - sweeps2} idle sweeps (every 2 s) -> ${idle}`);
    assert.equal(notes, 0, `AWS requests for 1,000 notes: ${JSON.stringify(p.counts)}`);
    assert.equal(idle, 0, `AWS requests for idle sweeps: ${JSON.stringify(p.counts)}`);

    p.reset();
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) {
      await sleep(Math.max(0, t0 + i * 200 - Date.now())); // 5 a second
      await edit(500 + (i % 10), `cost ${i} ${stamp}`);
    }
    const want = await atLeader();
    await until(async () => (await atFollower()).version >= want.version, 5000, "the last edit at the follower", 50);
    await sleep(2500); // and a sweep after it
    const writes = p.counts.PutItem ?? 0;
    console.log(`replica scenario 6 (cost): 100 edits at 5/s -> ${writes} writes; AWS requests ${JSON.stringify(p.counts)}`);
    assert.ok(writes >= 1 && writes <= 100, `100 edits cost ${writes} PutItem`);
    assert.deepEqual(Object.keys(p.counts), ["PutItem"], `AWS requests other than the items' writes: ${JSON.stringify(p.counts)}`);
  } finally {
    await restartReplicator(SWEEP_S);
  }
});
