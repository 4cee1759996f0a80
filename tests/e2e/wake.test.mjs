// Spec §9: the landing page follows the browser's own news — the network going away and
// coming back (Chromium's DevTools network emulation), a page shown again after its
// verdict aged — at once, not at the next probe interval, and five tabs waking together
// cost the leader one probe.
import { test } from "node:test";
import assert from "node:assert/strict";
import { simAndBrowser } from "./fixture.mjs";
import { ports, chaosConfig, serveConfig, sleep } from "./harness.mjs";

const P = ports(18240);
const env = simAndBrowser(P);
// A long interval: every probe in these tests is one the events caused.
const config = (key) =>
  chaosConfig(P, {
    health: { timeoutMs: 1000, intervalMs: 60000, maxBackoffMs: 2000, expect: '"status":"ok"' },
    cache: { storage: "local", key, ttlMs: 30000 },
  });

// Headless Chromium keeps every page visible (CDP focus emulation off, another tab in
// front, a minimized window: all tried, none changes document.visibilityState), so the
// page's visibility is set the way the browser reports it: the property and the event.
// The clock moves forward as it does over a laptop's sleep.
const INIT = () => {
  const realNow = Date.now;
  window.__skewMs = 0;
  Date.now = () => realNow() + window.__skewMs;
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", { get: () => (hidden ? "hidden" : "visible") });
  Object.defineProperty(Document.prototype, "hidden", { get: () => hidden });
  window.__setHidden = (h) => {
    hidden = h;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  window.__changes = [];
  // Every request this page starts, and when (performance.now()), to tell its own probes apart.
  window.__fetches = [];
  const realFetch = window.fetch;
  window.fetch = function (input, init) {
    window.__fetches.push([String(input instanceof Request ? input.url : input), performance.now()]);
    return realFetch.call(this, input, init);
  };
};

async function openTab(context) {
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${P.page}/`);
  await page.waitForFunction(() => window.hub?.started && document.body.dataset.state === "leader");
  await page.evaluate(() => window.hub.proxy.onChange((s) => window.__changes.push([s.state, performance.now()])));
  return page;
}

/** ms from `t0` (the page's performance.now()) until the page reached `state`. */
async function timeTo(page, state, t0, timeout = 5000) {
  await page.waitForFunction((s) => document.body.dataset.state === s, state, { timeout, polling: 5 });
  const at = await page.evaluate((s) => window.__changes.findLast(([st]) => st === s)?.[1], state);
  return at - t0;
}

test("offline at once, without a probe; back online: one probe, leader again", async () => {
  await env.sim.reset();
  const context = await env.browser.newContext();
  await serveConfig(context, config("wake-offline"));
  await context.addInitScript(INIT);
  const page = await openTab(context);
  const cdp = await context.newCDPSession(page);
  const conditions = (offline) => ({ offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  const before = await env.sim.stats();
  const t0 = await page.evaluate(() => performance.now());
  await cdp.send("Network.emulateNetworkConditions", conditions(true));
  const toOffline = await timeTo(page, "offline", t0);
  const refused = await page.evaluate(() => window.hub.proxy.fetch("/api/pages").then(() => "sent", (e) => e.code));
  const during = await env.sim.stats();

  const t1 = await page.evaluate(() => performance.now());
  await cdp.send("Network.emulateNetworkConditions", conditions(false));
  const toLeader = await timeTo(page, "leader", t1);
  await sleep(300);
  const after = await env.sim.stats();
  console.log(`offline event → state offline in ${toOffline.toFixed(0)} ms; online event → state leader in ${toLeader.toFixed(0)} ms (leader RTT on loopback; probes: ${after.leader.probes - during.leader.probes})`);

  assert.ok(toOffline < 100, `offline took ${toOffline} ms`);
  assert.equal(refused, "OFFLINE");
  assert.equal(during.leader.probes, before.leader.probes, "going offline made no probe");
  assert.equal(during.leader.requests, before.leader.requests, "nothing was sent while offline");
  assert.equal(after.leader.probes - during.leader.probes, 1, "coming back made one probe");
  assert.ok(toLeader < 500, `back to leader took ${toLeader} ms`);
  await context.close();
});

test("shown again: an old verdict is re-probed at once, a young one is not", async () => {
  await env.sim.reset();
  const context = await env.browser.newContext();
  await serveConfig(context, config("wake-visible"));
  await context.addInitScript(INIT);
  const page = await openTab(context);
  const probes = async () => (await env.sim.stats()).leader.probes;

  // A short absence: the verdict is younger than health.intervalMs, no probe.
  let before = await probes();
  await page.evaluate(() => { window.__setHidden(true); window.__setHidden(false); });
  await sleep(400);
  assert.equal(await probes(), before, "a young verdict must not be re-probed");

  // A long one (the clock moves past the interval) during which the leader went down.
  await page.evaluate(() => window.__setHidden(true));
  await env.sim.leader("app-down");
  await page.evaluate(() => { window.__skewMs += 61000; });
  before = await probes();
  const t0 = await page.evaluate(() => performance.now());
  await page.evaluate(() => window.__setHidden(false));
  const took = await timeTo(page, "emergency", t0);
  console.log(`shown after the interval with the leader down: emergency in ${took.toFixed(0)} ms, ${(await probes()) - before} leader probe(s)`);
  assert.equal((await probes()) - before, 1);
  assert.ok(took < 1000, `${took} ms`);
  await env.sim.leader("up");
  await context.close();
});

// Playwright's Chromium runs with the back/forward cache off, so the restore's event is
// dispatched as the browser dispatches it: a PageTransitionEvent, `persisted` true.
test("restored from the back/forward cache: an old verdict is re-probed at once; a pageshow that is no restore is ignored", async () => {
  await env.sim.reset();
  const context = await env.browser.newContext();
  await serveConfig(context, config("wake-bfcache"));
  await context.addInitScript(INIT);
  const page = await openTab(context);
  const probes = async () => (await env.sim.stats()).leader.probes;
  const pageshow = (persisted) =>
    page.evaluate((p) => window.dispatchEvent(new PageTransitionEvent("pageshow", { persisted: p })), persisted);

  // The clock moves past the interval, as over a stay in the cache.
  await page.evaluate(() => { window.__skewMs += 61000; });
  const before = await probes();
  await pageshow(false);
  await sleep(400);
  assert.equal(await probes(), before, "a pageshow that is not a restore must not probe");
  await pageshow(true);
  for (let i = 0; i < 30 && (await probes()) === before; i++) await sleep(100);
  assert.equal((await probes()) - before, 1, "a restore with an old verdict must probe once");
  await context.close();
});

test("five tabs shown together make one probe", async () => {
  await env.sim.reset();
  const context = await env.browser.newContext();
  await serveConfig(context, config("wake-five"));
  await context.addInitScript(INIT);
  const tabs = [];
  for (let i = 0; i < 5; i++) tabs.push(await openTab(context));
  // Longer than a round (2 × health.timeoutMs): a tab that would probe because its
  // question went unanswered has done so by now, before the wake-up is measured.
  await sleep(2500);
  const leaderHealth = `http://127.0.0.1:${P.leader}/health`;
  // The tabs opened one after another: the first probed, the others started from its
  // verdict (the cache) and, while it stays fresh, probe nothing (spec §6).
  const opening = await Promise.all(tabs.map((t) => t.evaluate((url) => window.__fetches.filter(([u]) => u.startsWith(url)).map(([, at]) => Math.round(at)), leaderHealth)));
  assert.equal(opening.flat().length, 1, `leader probes made while the tabs opened, per tab (ms since its load): ${JSON.stringify(opening)}`);
  await Promise.all(tabs.map((t) => t.evaluate(() => { window.__setHidden(true); window.__skewMs += 61000; })));
  await env.sim.leader("app-down");
  const before = (await env.sim.stats()).leader.probes;
  await Promise.all(tabs.map((t) => t.evaluate(() => { window.__shownAt = performance.now(); window.__setHidden(false); })));
  await Promise.all(tabs.map((t) => t.waitForFunction(() => document.body.dataset.state === "emergency", null, { timeout: 4000 })));
  await sleep(500);
  const made = (await env.sim.stats()).leader.probes - before;
  // The leader probes each tab started before it learnt the verdict: the wake's cost. A
  // prober re-probes a dark leader 0.5–1 s after its verdict (backoff); on a loaded machine
  // that retry can land before the last tab shows the state, so it is not counted here.
  const perTab = await Promise.all(tabs.map((t) => t.evaluate((url) => {
    const at = window.__changes.find(([st]) => st === "emergency")?.[1] ?? Infinity;
    return window.__fetches.filter(([u, t]) => u.startsWith(url) && t <= at && t >= window.__shownAt).length;
  }, leaderHealth)));
  const sources = await Promise.all(tabs.map((t) => t.evaluate(() => window.hub.proxy.snapshot().source)));
  // On a failure, each tab's own requests and state changes (ms after it was shown) say
  // which tab probed and when: a tab whose question went unanswered for a whole round
  // (2 × health.timeoutMs) probes by design; one that probed sooner is a defect.
  const trace = await Promise.all(tabs.map((t) => t.evaluate(() => JSON.stringify({
    requests: window.__fetches.filter(([, at]) => at >= window.__shownAt - 5).map(([u, at]) => [new URL(u, location.href).port + new URL(u, location.href).pathname, Math.round(at - window.__shownAt)]),
    changes: window.__changes.map(([st, at]) => [st, Math.round(at - window.__shownAt)]),
  }))));
  console.log(`five tabs shown together: ${made} leader probe(s) at the leader, ${perTab.join("+")} started before each tab's verdict; sources ${sources.join(", ")}`);
  assert.equal(perTab.reduce((a, b) => a + b, 0), 1, `probes started before each tab's verdict: ${perTab.join(", ")}; per tab: ${trace.join(" | ")}`);
  assert.ok(made >= 1, "the leader saw no probe");
  await env.sim.leader("up");
  await context.close();
});
