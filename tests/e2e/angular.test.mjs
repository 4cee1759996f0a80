// The Angular example app (tests/angular: built and prerendered with the Angular CLI) in
// headless Chromium against the simulator: health-proxy/angular's backend and service
// after an auth interceptor, through a 502 and a blackout, the prerendered page, and the
// time from navigation to the first list with the leader up and blacked out.
// ANGULAR_BEFORE_DIST=<dist/hub/browser of another build> also measures that build, in
// the same run, on its own simulator (tools/angular-before-after.sh).
import { test } from "node:test";
import assert from "node:assert/strict";
import { simAndBrowser, angularRoutes } from "./fixture.mjs";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { ROOT, ports, chaosConfig, serveConfig, startSim } from "./harness.mjs";

const P = ports(18200);
const DIST = `${ROOT}tests/angular/dist/hub/browser`;
const env = simAndBrowser(P, ["--www", DIST]);

/** docs/angular/public/config.json's routes (the fixture's angularRoutes), no verdict cache. */
const config = (p, overrides = {}) => chaosConfig(p, { cache: { storage: "none" }, ...overrides, routes: angularRoutes() });

/** Opens the app and waits for the handbook list. */
async function open(cfg) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await serveConfig(page, cfg);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // CSP violations, and Angular's own errors (NG0xxx: a hydration mismatch, a provider mistake).
  page.on("console", (m) => /Content.Security.Policy|NG0\d/i.test(m.text()) && errors.push(m.text()));
  await page.goto(`http://127.0.0.1:${P.page}/`);
  await page.locator("#pages li").first().waitFor({ timeout: 10000 });
  return { page, context, errors };
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
  const note = `${label} note ${Date.now()}`;
  assert.match(await post(page, note), /Saved as note #\d+/, `${label}: the note form`);
  assert.ok((await env.sim.notes()).some((n) => n.text === note), `${label}: the note reached the leader`);
  // The auth interceptor ran before the backend sent the request to the leader.
  await page.click("#whoami-check");
  await page.waitForFunction(() => /token=demo-token/.test(document.querySelector("#whoami")?.textContent ?? ""), null, { timeout: 5000 });
}

async function expectFailover(page, mode) {
  await env.sim.leader(mode);
  const before = await env.sim.stats();
  // A critical GET that fails against the leader: the backend hands it to proxy.fetch,
  // which lets a probe decide and retries it once on the follower.
  await page.click("#refresh");
  await page.waitForFunction(() => document.querySelector("#pages-origin")?.textContent.includes("follower"), null, { timeout: 8000 });
  // The follower may have answered through §8's early escape, before the probe's verdict.
  await page.waitForFunction(() => document.querySelector("#state")?.dataset.state === "emergency", null, { timeout: 5000 });
  assert.equal(await page.locator("#pages li").count(), 4, `${mode}: the critical list from the follower`);
  const after = await env.sim.stats();
  assert.ok((after.leader.byPath["/api/pages"] ?? 0) > (before.leader.byPath["/api/pages"] ?? 0), `${mode}: the read went to the leader first`);
  assert.ok((after.follower.byPath["/api/pages"] ?? 0) > (before.follower.byPath["/api/pages"] ?? 0), `${mode}: and was retried on the follower`);
  assert.match(await post(page, `${mode} note`), /LEADER_UNAVAILABLE/, `${mode}: the note form reports the leader unavailable`);
  assert.equal(await page.locator("#hub").count(), 0, `${mode}: hub links hidden`);
  assert.equal((await env.sim.stats()).follower.writes, 0, "no write reached the follower");
}

test("Angular: the prerendered index.html holds no verdict: state unknown, decided in the browser", async () => {
  const html = await readFile(`${DIST}/index.html`, "utf8");
  assert.match(html, /ng-server-context="ssg"/, "index.html was not prerendered");
  assert.match(html, /id="state"[^>]*data-state="unknown"[^>]*>Checking…</);
  for (const verdict of ["Offline", "OFFLINE", "Emergency", "LEADER_UNAVAILABLE", "NOT_READY", "was not sent", "Could not load", "our server", "follower"]) {
    assert.ok(!html.includes(verdict), `the prerendered page says ${JSON.stringify(verdict)}`);
  }
});

test("Angular: leader mode, then 502 and blackout fail over on the wire, and recovery", async () => {
  await env.sim.reset();
  // No periodic probe within the test: failures are found by the requests themselves.
  const { page, context, errors } = await open(config(P, { health: { ...chaosConfig(P).health, intervalMs: 60000 } }));
  await expectLeaderMode(page, "leader mode");
  assert.equal((await env.sim.stats()).follower.requests, 0, "the follower got requests while the leader was up");

  for (const mode of ["app-down", "blackout"]) {
    await expectFailover(page, mode);
    await env.sim.leader("up");
    await expectLeaderMode(page, `after ${mode}`);
  }
  assert.equal((await env.sim.stats()).follower.writes, 0);
  assert.deepEqual(errors, []);
  await context.close();
});

/**
 * A cold load: ms from navigation to the first handbook entry on screen, with the state
 * and the origin label at that moment (a fresh context, no cached verdict).
 */
async function coldLoad(p, cfg) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await serveConfig(page, cfg);
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (!document.querySelector("#pages li")) return;
      globalThis.__listShown = {
        ms: performance.now(),
        state: document.querySelector("#state")?.dataset.state,
        origin: document.querySelector("#pages-origin")?.textContent ?? "",
      };
      observer.disconnect();
    }).observe(document, { subtree: true, childList: true });
  });
  await page.goto(`http://127.0.0.1:${p.page}/`);
  await page.waitForFunction(() => globalThis.__listShown, null, { timeout: 15000 });
  const shown = await page.evaluate(() => globalThis.__listShown);
  await context.close();
  return { ...shown, ms: Math.round(shown.ms) };
}

/**
 * Up and blacked out, `runs` cold loads of each build, interleaved so that the load of
 * the shared machine falls on all builds alike; the median ms and the last load's details.
 */
async function measure(builds, runs = 5) {
  const results = builds.map(() => ({}));
  for (const mode of ["up", "blackout"]) {
    for (const b of builds) await b.sim.leader(mode);
    const loads = builds.map(() => []);
    for (let i = 0; i < runs; i++) {
      for (const [k, b] of builds.entries()) {
        // Default probe timeout and race delay: what a cold load into a dark leader costs as shipped.
        loads[k].push(await coldLoad(b.p, config(b.p, { health: { ...chaosConfig(b.p).health, timeoutMs: 1500 } })));
      }
    }
    for (const [k, l] of loads.entries()) {
      const sorted = l.map((x) => x.ms).sort((a, b) => a - b);
      results[k][mode] = { ms: sorted[Math.floor(runs / 2)], all: l.map((x) => x.ms), last: l.at(-1) };
    }
  }
  for (const b of builds) await b.sim.leader("up");
  return results;
}

test("Angular: a cold load renders at once; with the leader blacked out the list comes from the follower before any verdict", async () => {
  await env.sim.reset();
  const builds = [{ name: "this build", sim: env.sim, p: P }];
  const beforeDist = process.env.ANGULAR_BEFORE_DIST;
  if (beforeDist) {
    const q = ports(18600);
    builds.push({ name: `before (${beforeDist})`, sim: await startSim(q, ["--www", beforeDist]), p: q });
  }
  let results;
  try {
    results = await measure(builds);
  } finally {
    builds[1]?.sim.stop();
  }
  const line = (name, r) => `${name}: leader up ${r.up.ms} ms (${r.up.all.join(", ")}), blacked out ${r.blackout.ms} ms (${r.blackout.all.join(", ")})`;
  console.log(`Angular: navigation → first list shown, median of 5 (health.timeoutMs 1500, raceAfterMs 250):\n${builds.map((b, k) => `  ${line(b.name, results[k])}`).join("\n")}`);
  const after = results[0];
  assert.match(after.up.last.origin, /our server/, "leader up: the list from the leader");
  // §8 cold start: the read raced to the follower while the probe (timeoutMs 1500) was
  // still open, so the page showed the list in state "unknown", not after a verdict.
  assert.match(after.blackout.last.origin, /follower/, "blacked out: the list from the follower");
  assert.equal(after.blackout.last.state, "unknown", "blacked out: the list waited for a verdict");
  assert.ok(after.blackout.ms < 1500, `blacked out: ${after.blackout.ms} ms, not before the probe timeout`);
});

test("Angular: a page view in an outage reads the handbook once, at the follower; back on the leader, once there", async () => {
  await env.sim.reset();
  await env.sim.leader("blackout");
  const before = await env.sim.stats();
  const { page, context, errors } = await open(config(P));
  await page.waitForFunction(() => document.querySelector("#state")?.dataset.state === "emergency", null, { timeout: 8000 });
  await new Promise((r) => setTimeout(r, 2500)); // probes go on; the list is not read again
  let s = await env.sim.stats();
  assert.equal((s.follower.byPath["/api/pages"] ?? 0) - (before.follower.byPath["/api/pages"] ?? 0), 1, JSON.stringify(s.follower.byPath));
  const atSwitch = s;
  await env.sim.leader("up");
  await page.waitForFunction(() => document.querySelector("#pages-origin")?.textContent.includes("our server"), null, { timeout: 8000 });
  await new Promise((r) => setTimeout(r, 1500));
  s = await env.sim.stats();
  assert.equal((s.leader.byPath["/api/pages"] ?? 0) - (atSwitch.leader.byPath["/api/pages"] ?? 0), 1, "one read on the leader after the switch back");
  assert.equal(s.follower.byPath["/api/pages"], atSwitch.follower.byPath["/api/pages"], "no follower read after the switch back");
  assert.deepEqual(errors, []);
  await context.close();
});

test("Angular: what the package adds to the production bundle", async () => {
  const statsJson = JSON.parse(await readFile(`${DIST}/../stats.json`, "utf8"));
  let jsBytes = 0;
  for (const [name, output] of Object.entries(statsJson.outputs)) {
    // The browser's JS, not the prerendering server's files nor the wasm (media/).
    if (!name.endsWith(".js") || !existsSync(`${DIST}/${name}`)) continue;
    for (const [input, info] of Object.entries(output.inputs ?? {})) {
      if (input.includes("node_modules/health-proxy/")) jsBytes += info.bytesInOutput;
    }
  }
  // main.ts imports it with { loader: 'file' }: the builder emits it under a content-hashed name.
  const names = (await readdir(`${DIST}/media`)).filter((n) => /^health_proxy_bg-[A-Z0-9]{8}\.wasm$/.test(n));
  assert.equal(names.length, 1, `media/: ${names}`);
  const wasm = await readFile(`${DIST}/media/${names[0]}`);
  console.log(`Angular production bundle: health-proxy adds ${jsBytes} B of minified JS (glue + health-proxy/angular) and a ${wasm.length} B wasm (${gzipSync(wasm, { level: 9 }).length} B gzipped).`);
  assert.ok(jsBytes > 0, "the package's JS is not in the bundle");
  assert.ok(wasm.length > 10000, "the wasm is not the package's");
  assert.ok(!existsSync(`${DIST}/health_proxy_bg.wasm`), "a wasm under a fixed name as well");
});
