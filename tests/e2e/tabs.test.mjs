// Two tabs of the landing page in one browser context with a poisoned verdict cache, and
// an https page configured with an http leader: each gives the behaviour of the spec.
import { test } from "node:test";
import assert from "node:assert/strict";
import { simAndBrowser } from "./fixture.mjs";
import { ports, chaosConfig, serveConfig, siteFile, sleep } from "./harness.mjs";

const P = ports(18190);
const env = simAndBrowser(P);

// The snapshot start() resolved with (the live one moves on after revalidation).
// The page renders before start() resolves, so wait for it.
const startedWith = async (page) => {
  await page.waitForFunction(() => window.hub?.started);
  return page.evaluate(() => window.hub.started);
};

test("two tabs, a poisoned cache entry: ignored, then shared through storage", async () => {
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
