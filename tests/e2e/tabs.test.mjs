// Two tabs of the landing page in one browser context with a poisoned verdict cache, and
// an https page configured with an http leader: each gives the behaviour of the spec.
import { test } from "node:test";
import assert from "node:assert/strict";
import { simAndBrowser } from "./fixture.mjs";
import { ports, chaosConfig, serveConfig, siteFile, sleep, launch } from "./harness.mjs";

const P = ports(18190);
const env = simAndBrowser(P);

// The snapshot start() resolved with (the live one moves on after revalidation).
// The page renders before start() resolves, so wait for it.
const startedWith = async (page) => {
  await page.waitForFunction(() => window.hub?.started);
  return page.evaluate(() => window.hub.started);
};

// Spec §6: a cached verdict for another leader, of another version, expired (or from the
// future), or not parseable is ignored. Each case is the entry a page would start from
// (an emergency verdict, so taking it shows) with one thing wrong; the first case is the
// entry as it is, taken, so that each other one fails only the check it is named for.
const CACHE_CASES = [
  ["a good entry (taken)", (e) => e],
  ["another leader", (e) => ({ ...e, leader: "http://127.0.0.1:1" })],
  ["another version", (e) => ({ ...e, v: e.v + 1 })],
  ["expired", (e) => ({ ...e, checkedAt: e.checkedAt - 60000 })],
  ["checked in the future", (e) => ({ ...e, checkedAt: e.checkedAt + 60000 })],
  ["not parseable", (e) => JSON.stringify(e).slice(0, -1)],
];

test("a cached verdict is taken only when it is about this leader, of this version, in date and parseable", async () => {
  const got = {};
  const want = {};
  for (const [name, poison] of CACHE_CASES) {
    const config = chaosConfig(P, { cache: { storage: "local", key: "tabs-poison", ttlMs: 30000 } });
    const context = await env.browser.newContext();
    await serveConfig(context, config);
    // The entry the package writes (src/model/cache.rs), checked a second ago.
    const entry = { v: 2, leader: config.leader, state: "emergency", checkedAt: Date.now() - 1000, leaderLatencyMs: 12,
      srtt: 0, rttvar: 0, rttSamples: 0, penalty: 0, penaltyAt: 0 };
    const poisoned = poison(entry);
    const text = typeof poisoned === "string" ? poisoned : JSON.stringify(poisoned);
    await context.addInitScript(([key, text]) => localStorage.setItem(key, text), [config.cache.key, text]);
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${P.page}/`);
    const s = await startedWith(page);
    // What start() resolved with, and whether the page threw.
    got[name] = [s.source, s.state, errors.join("; ")];
    want[name] = name === CACHE_CASES[0][0] ? ["cache", "emergency", ""] : ["probe", "leader", ""];
    await context.close();
  }
  assert.deepEqual(got, want);
});

test("two tabs, an unparseable cache entry: ignored, then shared through storage", async () => {
  const config = chaosConfig(P);
  const context = await env.browser.newContext();
  await serveConfig(context, config);
  // Before any script of the first tab runs, the verdict cache holds garbage.
  await context.addInitScript(([key]) => {
    // Once per browser context: localStorage is shared by the tabs, sessionStorage is not.
    if (!localStorage.getItem("poisoned-once")) {
      localStorage.setItem(key, '{"v":1,"leader":"http://127.0.0.1:1","state":"emergency","checkedAt":1e99,"leaderLatencyMs":"x"');
      localStorage.setItem("poisoned-once", "1");
    }
  }, [config.cache.key]);

  const first = await context.newPage();
  const errors = [];
  first.on("pageerror", (e) => errors.push(e.message));
  await first.goto(`http://127.0.0.1:${P.page}/`);
  await first.waitForFunction(() => document.body.dataset.state === "leader");
  const s1 = await startedWith(first);
  assert.equal(s1.source, "probe", "the poisoned entry must not be used");
  assert.equal(s1.state, "leader");

  // The second tab finds the first tab's fresh verdict and starts from it at once.
  // The first tab keeps probing on its interval, so the leader's count moves anyway: count
  // the second tab's own probes. It is not the prober, so it sends none.
  const second = await context.newPage();
  second.on("pageerror", (e) => errors.push(e.message));
  const secondProbes = [];
  second.on("request", (r) => new URL(r.url()).pathname.startsWith("/health") && secondProbes.push(r.url()));
  await second.goto(`http://127.0.0.1:${P.page}/`);
  await second.waitForFunction(() => document.body.dataset.state === "leader");
  const s2 = await startedWith(second);
  assert.equal(s2.source, "cache", "the second tab should start from the shared cached verdict");
  await sleep(1500); // longer than the interval (1000 ms): a revalidation of its own would show
  assert.deepEqual(secondProbes, [], "the second tab probed on its own");

  // Both route to the leader and show its content.
  for (const page of [first, second]) {
    const r = await page.evaluate(() => window.hub.readPages());
    assert.deepEqual([r.ok, r.origin], [true, "leader"]);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test("an https page with an http leader shows the clear INVALID_CONFIG error", async () => {
  const context = await env.browser.newContext({ ignoreHTTPSErrors: true });
  // The page's own origin is https: served by the test from the built files.
  await context.route("https://hub.example/**", async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === "/config.json") return route.fulfill({ json: chaosConfig(P) });
    const { body, contentType } = await siteFile(path);
    return route.fulfill({ body, contentType, headers: { "content-security-policy": "script-src 'self' 'wasm-unsafe-eval'" } });
  });
  const page = await context.newPage();
  await page.goto("https://hub.example/");
  const fatal = page.locator("#fatal");
  await fatal.waitFor({ state: "visible" });
  const text = await fatal.textContent();
  assert.match(text, /INVALID_CONFIG/);
  assert.match(text, /leader is http: but this page is served over https:/);
  assert.match(text, /mixed content/);
  assert.equal(await page.evaluate(() => document.body.dataset.state), "error");
  await context.close();
});

// Playwright's switches that keep background pages at full speed: dropped for this test.
const BACKGROUNDING = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows", "--disable-back-forward-cache"];

test("a visible tab keeps a fresh verdict while the prober's tab is frozen", async () => {
  const browser = await launch({ ignoreDefaultArgs: BACKGROUNDING });
  try {
    await env.sim.reset();
    const context = await browser.newContext();
    const health = { ...chaosConfig(P).health, timeoutMs: 500, intervalMs: 1000, maxBackoffMs: 1000 };
    await serveConfig(context, chaosConfig(P, { health, cache: { storage: "local", key: "tabs-frozen", ttlMs: 30000 } }));
    // A timer of the page's own: it stops when the page is really frozen.
    await context.addInitScript(() => { window.__ticks = 0; setInterval(() => window.__ticks++, 100); });
    const open = async () => {
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${P.page}/`);
      await page.waitForFunction(() => document.body.dataset.state === "leader");
      return page;
    };
    const prober = await open();
    const visible = await open();
    // The first tab holds the lock: the second lives on its verdicts.
    await visible.waitForFunction(() => window.hub.proxy.snapshot().source === "peer", null, { timeout: 5000 });
    const cdp = await context.newCDPSession(prober);

    // Chromium's own freeze first; headless Chromium may ignore it, so count the ticks.
    let ticks = await prober.evaluate(() => window.__ticks);
    await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
    await sleep(500);
    const lifecycleTicks = await Promise.race([prober.evaluate(() => window.__ticks), sleep(2000).then(() => null)]);
    const lifecycle = lifecycleTicks === null ? "froze it" : `left it running (${lifecycleTicks - ticks} ticks of 100 ms in 500 ms)`;
    // Then the debugger's pause: no script of that page runs until it is resumed.
    ticks = lifecycleTicks ?? ticks;
    await cdp.send("Debugger.enable");
    await cdp.send("Debugger.pause");
    const frozenAt = Date.now();
    const probesBefore = (await env.sim.stats()).leader.probes;
    let oldest = 0;
    const ages = [];
    while (Date.now() - frozenAt < 10000) {
      await sleep(500);
      const at = await visible.evaluate(() => window.hub.proxy.snapshot().checkedAt);
      const age = Date.now() - at;
      ages.push(age);
      if (Date.now() - frozenAt > 2000) oldest = Math.max(oldest, age);
    }
    const during = (await env.sim.stats()).leader.probes - probesBefore;
    const last = await visible.evaluate(() => window.hub.proxy.snapshot());
    await cdp.send("Debugger.resume");
    await cdp.send("Page.setWebLifecycleState", { state: "active" });
    await sleep(300);
    const frozenTicks = (await prober.evaluate(() => window.__ticks)) - ticks;
    console.log(`frozen prober: Page.setWebLifecycleState ${lifecycle}; paused 10 s by the debugger (${frozenTicks} ticks of its 100 ms timer meanwhile, counting the ones after the resume); the visible tab's verdict age every 0.5 s: ${ages.join(" ")} ms; ${during} leader probe(s); last verdict ${last.state} from ${last.source}`);
    assert.ok(frozenTicks <= 10, `the prober's page was not frozen: ${frozenTicks} ticks`);
    assert.ok(last.checkedAt > frozenAt, "the visible tab got no verdict while the prober was frozen");
    assert.equal(last.state, "leader");
    // Twice the prober's longest gap and a round, spread by up to a half, then one ask: ≤ 5.5 s.
    assert.ok(oldest <= 7000, `the visible tab's verdict aged ${oldest} ms`);
    // Back from the freeze, the prober carries on and both tabs stay on the leader.
    await sleep(1500);
    for (const page of [prober, visible]) assert.equal(await page.evaluate(() => document.body.dataset.state), "leader");
    await context.close();
  } finally {
    await browser.close();
  }
});
