// The Angular example app (tests/angular, built with the Angular CLI) in headless
// Chromium against the simulator: the provider, the interceptor and the service of
// health-proxy/angular, in leader mode and through a 502 and a blackout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { simAndBrowser } from "./fixture.mjs";
import { readFile, stat } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { ROOT, ports, chaosConfig, serveConfig, sleep } from "./harness.mjs";

const P = ports(18200);
const DIST = `${ROOT}tests/angular/dist/hub/browser`;
const env = simAndBrowser(P, ["--www", DIST]);

const config = (overrides) => chaosConfig(P, { cache: { storage: "none" }, ...overrides });

/** Opens the app; resolves with the page and the ms from navigation to the first API request. */
async function open(cfg) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await serveConfig(page, cfg);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => /Content.Security.Policy/i.test(m.text()) && errors.push(m.text()));
  let firstApi = null;
  const t0 = Date.now();
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (firstApi == null && url.pathname.startsWith("/api/") && [P.leader, P.follower].includes(Number(url.port))) {
      firstApi = { ms: Date.now() - t0, origin: Number(url.port) === P.leader ? "leader" : "follower" };
    }
  });
  await page.goto(`http://127.0.0.1:${P.page}/`);
  await page.locator("#pages li").first().waitFor({ timeout: 10000 });
  return { page, context, errors, firstApi: () => firstApi };
}

const text = (page, sel) => page.locator(sel).textContent();
const state = (page) => page.locator("#state").getAttribute("data-state");

/** Posts a note through the form; resolves with the outcome the app shows. */
async function post(page, note) {
  // Each post in this test gives another text than the one before (note ids grow, and a
  // refusal always follows a success), so wait for the text to change.
  const previous = (await text(page, "#note-result")).trim();
  await page.fill("#note", note);
  await page.click("#send");
  await page.waitForFunction((prev) => {
    const t = document.querySelector("#note-result")?.textContent?.trim();
    return t && t !== "Sending…" && t !== prev;
  }, previous);
  return text(page, "#note-result");
}

async function expectLeaderMode(page, label) {
  await page.waitForFunction(() => document.querySelector("#state")?.dataset.state === "leader", null, { timeout: 8000 });
  await page.click("#refresh");
  await page.waitForFunction(() => document.querySelector("#pages-origin")?.textContent.includes("our server"));
  assert.equal(await page.locator("#pages li").count(), 4, `${label}: the handbook`);
  await page.locator("#hub a").first().waitFor({ timeout: 5000 });
  assert.match(await post(page, `${label} note`), /Saved as note #\d+/, `${label}: the note form`);
}

async function expectFailover(page, mode) {
  await env.sim.leader(mode);
  const before = await env.sim.stats();
  // A critical GET that fails against the leader: the interceptor hands it to proxy.fetch,
  // which lets a probe decide and retries it once on the follower.
  await page.click("#refresh");
  await page.waitForFunction(() => document.querySelector("#pages-origin")?.textContent.includes("follower"), null, { timeout: 8000 });
  assert.equal(await state(page), "emergency");
  assert.equal(await page.locator("#pages li").count(), 4, `${mode}: the critical list from the follower`);
  const after = await env.sim.stats();
  assert.ok((after.leader.byPath["/api/pages"] ?? 0) > (before.leader.byPath["/api/pages"] ?? 0), `${mode}: the read went to the leader first`);
  assert.ok((after.follower.byPath["/api/pages"] ?? 0) > (before.follower.byPath["/api/pages"] ?? 0), `${mode}: and was retried on the follower`);
  assert.match(await post(page, `${mode} note`), /LEADER_UNAVAILABLE/, `${mode}: the note form reports the leader unavailable`);
  assert.equal(await page.locator("#hub").count(), 0, `${mode}: hub links hidden`);
  assert.equal((await env.sim.stats()).follower.writes, 0, "no write reached the follower");
}

test("Angular: leader mode, then 502 and blackout fail over on the wire, and recovery", async () => {
  await env.sim.reset();
  // No periodic probe within the test: failures are found by the requests themselves.
  const { page, context, errors, firstApi } = await open(config({ health: { ...chaosConfig(P).health, intervalMs: 60000 } }));
  const leaderFirst = firstApi();
  assert.equal(leaderFirst?.origin, "leader");
  await expectLeaderMode(page, "leader mode");
  assert.equal((await env.sim.stats()).follower.requests, 0, "the follower got requests while the leader was up");

  for (const mode of ["app-down", "blackout"]) {
    await expectFailover(page, mode);
    await env.sim.leader("up");
    await expectLeaderMode(page, `after ${mode}`);
  }
  const stats = await env.sim.stats();
  assert.equal(stats.follower.writes, 0);
  assert.deepEqual(errors, []);

  // Cold start with the leader blacked out: start() waits for the probe, then the first
  // request goes straight to the follower.
  await env.sim.leader("blackout");
  const dark = await open(config());
  const darkFirst = dark.firstApi();
  assert.equal(darkFirst?.origin, "follower");
  assert.equal(await state(dark.page), "emergency");
  await dark.context.close();
  await env.sim.leader("up");

  // What the package adds to the production bundle.
  const statsJson = JSON.parse(await readFile(`${DIST}/../stats.json`, "utf8"));
  let jsBytes = 0;
  for (const output of Object.values(statsJson.outputs)) {
    for (const [input, info] of Object.entries(output.inputs ?? {})) {
      if (input.includes("node_modules/health-proxy/")) jsBytes += info.bytesInOutput;
    }
  }
  const wasm = await readFile(`${DIST}/health_proxy_bg.wasm`);
  console.log(`Angular: first routed request ${leaderFirst.ms} ms after navigation with the leader up (to the ${leaderFirst.origin}), ${darkFirst.ms} ms with the leader blacked out (to the ${darkFirst.origin}; health.timeoutMs 500).`);
  console.log(`Angular production bundle: health-proxy adds ${jsBytes} B of minified JS (glue + health-proxy/angular) and a ${wasm.length} B wasm (${gzipSync(wasm, { level: 9 }).length} B gzipped).`);
  assert.ok(jsBytes > 0, "the package's JS is not in the bundle");
  assert.ok((await stat(`${DIST}/health_proxy_bg.wasm`)).size > 10000, "the wasm was not copied by the angular.json assets");
  await context.close();
});
