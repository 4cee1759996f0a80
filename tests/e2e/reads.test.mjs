// One read per path per page view, whatever the timing: the landing page loaded cold (no
// cached verdict) into a leader that hangs, with www/config.json's own timers, on a fast
// line and on slow ones. Every follower read is a billed AWS request; the simulator counts
// them by path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { simAndBrowser } from "./fixture.mjs";
import { ROOT, ports, serveConfig, sleep, startSim } from "./harness.mjs";

const P = ports(18660);
const env = simAndBrowser(P);
const LISTS = ["/api/pages", "/api/files"];
// The Angular example app as tests/tools/angular-build.sh builds it (test.sh's earlier step).
const NG = ports(18670);
const NG_DIST = `${ROOT}tests/angular/dist/hub/browser`;

/** www/config.json as deployed, pointed at this test's leader and follower. */
async function deployedConfig() {
  const config = JSON.parse(await readFile(`${ROOT}www/config.json`, "utf8"));
  return { ...config, leader: `http://127.0.0.1:${P.leader}`, follower: `http://127.0.0.1:${P.follower}` };
}

// The bench's slow link (tests/e2e/bench.mjs): 150 ms each way, 1.6 Mbit/s down.
const SLOW = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };

/**
 * A fresh visitor's view while the leader hangs: until emergency mode with both lists
 * shown, then 3 s more (the probes go on; nothing may read a list again). Returns the reads
 * of each list at the follower and at the leader during the view.
 */
async function coldOutageView({ throttle = null, delayMs = 0 } = {}) {
  await env.sim.reset();
  await env.sim.leader("blackout");
  await env.sim.delay(delayMs);
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await serveConfig(page, await deployedConfig());
    if (throttle) {
      const cdp = await context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", throttle);
    }
    const before = await env.sim.stats();
    await page.goto(`http://127.0.0.1:${P.page}/`);
    await page.waitForFunction(
      () => document.body.dataset.state === "emergency" && document.querySelector("#pages strong") && document.querySelector("#files strong"),
      null,
      { timeout: 30000 },
    );
    await sleep(3000);
    const after = await env.sim.stats();
    const reads = (side) => LISTS.map((p) => (after[side].byPath[p] ?? 0) - (before[side].byPath[p] ?? 0));
    const shown = await page.evaluate(() => [document.getElementById("pages-origin").textContent, document.getElementById("files-origin").textContent]);
    return { follower: reads("follower"), leader: reads("leader"), shown, errors, byPath: after.follower.byPath };
  } finally {
    await context.close();
    await env.sim.delay(0);
  }
}

for (const [name, options] of [
  ["a fast line", {}],
  ["a throttled link (150 ms, 1.6 Mbit/s)", { throttle: SLOW }],
  ["servers 300 ms away (the simulator's delay)", { delayMs: 300 }],
]) {
  test(`a cold page view into a hanging leader reads each list once at the follower: ${name}`, async () => {
    const r = await coldOutageView(options);
    assert.deepEqual(r.follower, [1, 1], `follower reads of ${LISTS.join(", ")}: ${JSON.stringify(r.byPath)}`);
    // The leader was asked first (no verdict yet, spec §8), once per list.
    assert.deepEqual(r.leader, [1, 1], `leader reads of ${LISTS.join(", ")}`);
    assert.deepEqual(r.shown, ["from AWS (follower)", "from AWS (follower)"]);
    assert.deepEqual(r.errors, []);
  });
}

// The Angular example app the same way: its own config.json as shipped, the handbook only.
test("the Angular example app: a cold view into a hanging leader reads the handbook once at the follower", { skip: !existsSync(`${NG_DIST}/index.html`) && "the Angular app is not built (tests/tools/angular-build.sh)" }, async () => {
  const sim = await startSim(NG, ["--www", NG_DIST]);
  try {
    for (const options of [{}, { throttle: SLOW }, { delayMs: 300 }]) {
      await sim.reset();
      await sim.leader("blackout");
      await sim.delay(options.delayMs ?? 0);
      const context = await env.browser.newContext(); // a fresh visitor: no cached verdict
      const page = await context.newPage();
      const shipped = JSON.parse(await readFile(`${ROOT}tests/angular/public/config.json`, "utf8"));
      await serveConfig(page, { ...shipped, leader: `http://127.0.0.1:${NG.leader}`, follower: `http://127.0.0.1:${NG.follower}` });
      if (options.throttle) {
        const cdp = await context.newCDPSession(page);
        await cdp.send("Network.enable");
        await cdp.send("Network.emulateNetworkConditions", options.throttle);
      }
      const before = await sim.stats();
      await page.goto(`http://127.0.0.1:${NG.page}/`);
      await page.waitForFunction(() => document.querySelector("#state")?.dataset.state === "emergency" && document.querySelector("#pages li"), null, { timeout: 30000 });
      await sleep(3000);
      const after = await sim.stats();
      const n = (after.follower.byPath["/api/pages"] ?? 0) - (before.follower.byPath["/api/pages"] ?? 0);
      assert.equal(n, 1, `${JSON.stringify(options)}: follower reads of /api/pages: ${JSON.stringify(after.follower.byPath)}`);
      await context.close();
    }
  } finally {
    await sim.delay(0);
    sim.stop();
  }
});
