// The chaos suite: the real landing page in headless Chromium makes a steady stream of
// critical reads and writes while a scripted timeline switches the simulated leader
// through the faults of spec §7. Assertions come from the page and from the simulator.
import { test } from "node:test";
import assert from "node:assert/strict";
import { simAndBrowser } from "./fixture.mjs";
import { ports, chaosConfig, serveConfig, sleep } from "./harness.mjs";

const P = ports(18180);
const env = simAndBrowser(P, ["--slow-ms", "3000", "--flap-ms", "2000"]);

// Each phase: what the simulator does, how long, and the state the page must reach.
const TIMELINE = [
  { name: "up", leader: "up", follower: "up", ms: 4000, expect: "leader" },
  { name: "app down (502)", leader: "app-down", ms: 5000, expect: "emergency" },
  { name: "up again", leader: "up", ms: 6000, expect: "leader" },
  { name: "blackout (hang)", leader: "blackout", ms: 6000, expect: "emergency" },
  { name: "up again", leader: "up", ms: 6000, expect: "leader" },
  { name: "flapping", leader: "flapping", ms: 8000, expect: null },
  // Flapping may end in either state; back on the leader first, so that "slow" is
  // measured from the leader.
  { name: "up again", leader: "up", ms: 6000, expect: "leader" },
  { name: "slow", leader: "slow", ms: 6000, expect: "emergency" },
  { name: "both down: offline", leader: "refused", follower: "down", ms: 5000, expect: "offline" },
  { name: "up again", leader: "up", follower: "up", ms: 7000, expect: "leader" },
];
const DETECT_BOUND_MS = 6000;
// The codes of a write refused before anything was sent (spec §2): only the leader takes
// writes (LEADER_UNAVAILABLE), or the client is cut off (OFFLINE).
const NOT_SENT = new Set(["LEADER_UNAVAILABLE", "OFFLINE"]);
// Every request settles (spec §4): a write by requestTimeoutMs (1500) plus the probe round
// that judges its failure (health.timeoutMs 500, leader then follower), with room for load.
const SETTLE_BOUND_MS = 10000;

// Runs in the page: two loops of critical reads, one of writes, and a recorder of what
// the page shows (state badge, hub links, write button), all with timestamps.
function startTraffic() {
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  // `inFlight`: the writes sent and not yet settled, for the end of the run.
  const c = (window.chaos = { reads: [], writes: [], ui: [], stop: false, inFlight: new Set() });
  const readLoop = async () => {
    while (!c.stop) {
      const t = Date.now();
      const r = await window.hub.readPages();
      c.reads.push({ t, end: Date.now(), state: window.hub.proxy.state, ...r });
      await pause(100);
    }
  };
  const writeLoop = async () => {
    for (let n = 0; !c.stop; n++) {
      const t = Date.now();
      c.inFlight.add(`chaos-${n}`);
      const r = await window.hub.postNote(`chaos note ${n}`, `chaos-${n}`);
      c.inFlight.delete(`chaos-${n}`);
      c.writes.push({ t, end: Date.now(), ...r });
      await pause(300);
    }
  };
  // Settles once every loop has seen `stop` and its last request has settled.
  c.done = Promise.all([readLoop(), readLoop(), writeLoop()]);
  let last = "";
  const sample = () => {
    const ui = {
      state: document.body.dataset.state,
      hub: !document.getElementById("hub").hidden,
      writeDisabled: document.getElementById("note-send").disabled,
      badge: document.getElementById("status-text").textContent,
    };
    const key = JSON.stringify(ui);
    if (key !== last) c.ui.push({ t: Date.now(), ...ui });
    last = key;
  };
  c.sampler = setInterval(sample, 20);
}

const fmt = (ms) => (ms == null ? "—" : `${Math.round(ms)} ms`);

test("chaos: the landing page through every fault, with reads and writes throughout", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await serveConfig(page, chaosConfig(P));
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => /Content.Security.Policy/i.test(m.text()) && pageErrors.push(m.text()));
  const response = await page.goto(`http://127.0.0.1:${P.page}/`);
  // The page runs under the strict policy a CloudFront deployment would set.
  assert.match(response.headers()["content-security-policy"], /script-src 'self' 'wasm-unsafe-eval'/);
  await page.waitForFunction(() => document.body.dataset.state === "leader", null, { timeout: 10000 });
  await page.evaluate(startTraffic);

  const rows = [];
  const started = Date.now();
  for (const phase of TIMELINE) {
    const at = Date.now();
    if (phase.leader) await env.sim.leader(phase.leader);
    if (phase.follower) await env.sim.follower(phase.follower);
    let settledAt = null;
    let followerReadsAtSettle = null;
    while (Date.now() - at < phase.ms) {
      await sleep(50);
      if (settledAt == null && phase.expect) {
        const state = await page.evaluate(() => document.body.dataset.state);
        if (state === phase.expect) {
          settledAt = Date.now();
          if (phase.expect === "leader") {
            await sleep(300); // reads already in flight to the follower may still land
            followerReadsAtSettle = (await env.sim.stats()).follower.reads;
          }
        }
      }
    }
    const end = Date.now();
    const stats = await env.sim.stats();
    const ui = await page.evaluate(() => ({
      state: document.body.dataset.state,
      hub: !document.getElementById("hub").hidden,
      writeDisabled: document.getElementById("note-send").disabled,
    }));
    rows.push({ phase, at, end, settledAt, followerReadsAtSettle, followerReadsAtEnd: stats.follower.reads, ui });
  }
  const total = Date.now() - started;
  // The records are judged once every request the page started has settled: a write still
  // in flight at the stop is in the leader's log but not yet in the page's records.
  const c = await page.evaluate(async (boundMs) => {
    const chaos = window.chaos;
    chaos.stop = true;
    clearInterval(chaos.sampler);
    const inFlightAtStop = [...chaos.inFlight];
    const settled = await Promise.race([chaos.done.then(() => true), new Promise((r) => setTimeout(() => r(false), boundMs))]);
    return { reads: chaos.reads, writes: chaos.writes, ui: chaos.ui, inFlightAtStop, settled, unsettled: [...chaos.inFlight] };
  }, SETTLE_BOUND_MS);
  await sleep(2000); // a write the page gave up on (OUTCOME_UNKNOWN) may still land on the leader
  const stats = await env.sim.stats();
  const log = await env.sim.notes();

  // ---- figures ----
  // The first read served by the other origin than before the switch, within the phase.
  const firstOtherOrigin = (row) => {
    if (row.phase.expect === "offline") return null;
    const before = originAt(c.reads, row.at);
    const r = c.reads.find((r) => r.t >= row.at && r.end <= row.end && r.ok && r.origin !== before);
    return r ? { ms: r.end - row.at, origin: r.origin } : null;
  };
  const stateAt = (t) => c.ui.filter((u) => u.t <= t).at(-1)?.state;
  const table = rows.map((row) => {
    const other = firstOtherOrigin(row);
    const already = row.phase.expect && stateAt(row.at) === row.phase.expect;
    const changes = c.ui.filter((u, i) => u.t >= row.at && u.t < row.end && i > 0 && u.state !== c.ui[i - 1].state).length;
    return {
      phase: row.phase.name,
      "page state": row.ui.state,
      "switch → state": already ? "(already)" : row.settledAt ? fmt(row.settledAt - row.at) : row.phase.expect ? "not reached" : "—",
      "switch → read from other origin": other ? `${fmt(other.ms)} (${other.origin})` : "—",
      "state changes": changes,
      "hub links": row.ui.hub ? "shown" : "hidden",
      "post note": row.ui.writeDisabled ? "disabled" : "enabled",
    };
  });
  console.log("\nChaos timeline (leader faults, scripted):");
  console.table(table);

  const offline = rows.find((r) => r.phase.expect === "offline");
  const offlineEnd = c.ui.find((u) => u.t > offline.at && u.state !== "offline" && c.ui.some((v) => v.t <= u.t && v.t >= offline.at && v.state === "offline"))?.t ?? offline.end;
  const inOffline = (r) => r.t >= offline.at && r.t < offlineEnd;
  const counted = c.reads.filter((r) => !inOffline(r));
  const served = counted.filter((r) => r.ok);
  const rate = served.length / counted.length;
  const failed = counted.filter((r) => !r.ok);
  const ackedIds = c.writes.filter((w) => w.ok).map((w) => w.clientId);
  const byCode = {};
  for (const w of c.writes) {
    const key = w.ok ? "acknowledged (201)" : w.code;
    byCode[key] = (byCode[key] ?? 0) + 1;
  }
  const logIds = log.map((n) => n.clientId).filter((id) => id.startsWith("chaos-"));
  const counts = new Map();
  for (const id of logIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  // Told apart by code, never by wording (spec §2): refused before anything was sent;
  // sent, or maybe sent, with no answer; or answered with a status (the page's HTTP_nnn).
  const notSent = c.writes.filter((w) => !w.ok && NOT_SENT.has(w.code));
  const unknown = c.writes.filter((w) => !w.ok && w.code === "OUTCOME_UNKNOWN");
  const answered = c.writes.filter((w) => !w.ok && /^HTTP_5\d\d$/.test(w.code));
  const unknownLanded = unknown.filter((w) => counts.has(w.clientId)).length;

  console.log(`Critical reads: ${served.length} of ${counted.length} served outside the offline window (${(rate * 100).toFixed(2)}%); ${c.reads.filter(inOffline).length} reads in the offline window.`);
  if (failed.length) console.log("Reads not served:", failed.map((r) => `${new Date(r.t).toISOString().slice(17, 23)} ${r.code}: ${r.message}`));
  console.log("Writes:", byCode, `— ${ackedIds.length} acknowledged, all in the leader's log once; ${notSent.length} refused before sending; ${unknown.length} with unknown outcome, ${unknownLanded} of them found in the leader's log; ${answered.length} answered with a 5xx.`);
  console.log(`Follower: ${stats.follower.reads} reads, ${stats.follower.writes} writes, ${stats.follower.preflightWriteMethods} write preflights. Leader: ${stats.leader.writes} writes, ${stats.leader.probes} probes.`);
  console.log(`Timeline took ${(total / 1000).toFixed(1)} s; writes in flight at the stop, waited for: ${c.inFlightAtStop.length ? c.inFlightAtStop.join(", ") : "none"}.`);

  // ---- assertions ----
  assert.deepEqual(pageErrors, [], "the page threw or broke its Content-Security-Policy");
  assert.ok(c.settled, `requests still unsettled ${SETTLE_BOUND_MS} ms after the stop (writes: ${c.unsettled.join(", ") || "none"})`);
  for (const row of rows) {
    if (!row.phase.expect) continue;
    assert.ok(row.settledAt, `${row.phase.name}: the page never showed ${row.phase.expect}`);
    assert.ok(row.settledAt - row.at <= DETECT_BOUND_MS, `${row.phase.name}: ${row.settledAt - row.at} ms to show ${row.phase.expect}`);
    assert.equal(row.ui.state, row.phase.expect, `${row.phase.name}: state at the end of the phase`);
    const leader = row.phase.expect === "leader";
    assert.equal(row.ui.hub, leader, `${row.phase.name}: hub links ${leader ? "shown" : "hidden"}`);
    assert.equal(row.ui.writeDisabled, !leader, `${row.phase.name}: the write action ${leader ? "enabled" : "disabled"}`);
    if (leader && row.followerReadsAtSettle != null) {
      assert.equal(row.followerReadsAtEnd, row.followerReadsAtSettle, `${row.phase.name}: the follower saw reads while the leader was up`);
    }
  }
  assert.ok(counted.length >= 200, `only ${counted.length} reads`);
  assert.ok(rate >= 0.999, `critical reads served ${(rate * 100).toFixed(2)}% < 99.9%`);
  assert.equal(stats.follower.writes, 0, "a write reached the follower");
  assert.equal(stats.follower.preflightWriteMethods, 0, "a write preflight reached the follower");
  for (const id of ackedIds) assert.equal(counts.get(id), 1, `acknowledged write ${id} is in the leader's log ${counts.get(id) ?? 0} times`);
  for (const [id, n] of counts) assert.equal(n, 1, `write ${id} duplicated in the leader's log`);
  for (const w of notSent) assert.ok(!counts.has(w.clientId), `write ${w.clientId} was refused as not sent but reached the leader`);
  const recorded = new Set(c.writes.map((w) => w.clientId));
  for (const id of counts.keys()) assert.ok(recorded.has(id), `the leader logged ${id}, which the page never sent`);
  for (const w of c.writes) {
    assert.ok(w.ok || notSent.includes(w) || unknown.includes(w) || answered.includes(w), `write ${w.clientId} failed with ${w.code}: neither refused before sending, nor OUTCOME_UNKNOWN, nor a 5xx answer`);
  }
  // Traffic went back to the leader at the end.
  const last = c.reads.filter((r) => r.t > rows.at(-1).settledAt + 300);
  assert.ok(last.length > 0 && last.every((r) => r.origin === "leader"), "reads did not return to the leader");
  await context.close();
});

function originAt(reads, t) {
  const before = reads.filter((r) => r.end <= t && r.ok);
  return before.at(-1)?.origin ?? "leader";
}
