// Spec §4 "When the package cannot start", end to end with the leader up: the landing page
// and the Angular app, with the wasm missing (404) and blocked by a CSP without
// 'wasm-unsafe-eval', keep working through the loader's leader-only stand-in (handbook,
// files, a note saved, nothing to the follower), show the notice and name the cause in the
// console; a wasm served as text/plain still runs the real proxy (the glue's fallback).
// The Angular build names its wasm media/health_proxy_bg-<hash>.wasm: the routes match both names.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import http from "node:http";
import { ROOT, ports, chaosConfig, serveConfig, startSim, launch } from "./harness.mjs";
import { pageRoutes, angularRoutes } from "./fixture.mjs";

const PAGE = ports(18560);
const APP = ports(18570);
const NOTICE = /Automatic failover is unavailable on this page/;
// The simulator's CSP (deploy/site's) less 'wasm-unsafe-eval'.
const NO_WASM_CSP =
  "default-src 'self'; script-src 'self'; connect-src 'self' http://127.0.0.1:* http://localhost:*; img-src 'self' data:; style-src 'self'";

/**
 * The simulator's page origin served again on `port` with another CSP: a real server (a
 * document fulfilled by the browser's request interception would not count as loopback,
 * and Chromium's local network access checks would then block its requests to the leader).
 */
function withPolicy(p, port, policy) {
  const server = http.createServer(async (req, res) => {
    const upstream = await fetch(`http://127.0.0.1:${p.page}${req.url}`, { headers: { accept: req.headers.accept ?? "*/*" } });
    const headers = Object.fromEntries(upstream.headers);
    for (const h of ["content-encoding", "content-length", "transfer-encoding"]) delete headers[h]; // fetch decoded it
    res.writeHead(upstream.status, { ...headers, "content-security-policy": policy });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

const env = {};
before(async () => {
  env.page = await startSim(PAGE);
  env.app = await startSim(APP, ["--www", `${ROOT}tests/angular/dist/hub/browser`]);
  env.pageNoWasm = await withPolicy(PAGE, PAGE.page + 6, NO_WASM_CSP);
  env.appNoWasm = await withPolicy(APP, APP.page + 6, NO_WASM_CSP);
  env.browser = await launch();
});
after(async () => {
  await env.browser?.close();
  env.page?.stop();
  env.app?.stop();
  env.pageNoWasm?.close();
  env.appNoWasm?.close();
});

const CASES = [
  {
    name: "the wasm 404s",
    direct: true,
    cause: /answered HTTP 404.*deploy the package's files/,
    prepare: (page) => page.route("**/health_proxy_bg*.wasm", (r) => r.fulfill({ status: 404, contentType: "text/plain", body: "Not Found" })),
  },
  {
    name: "the CSP lacks 'wasm-unsafe-eval'",
    direct: true,
    cause: /add 'wasm-unsafe-eval' to script-src/,
    port: 6, // the page through withPolicy(NO_WASM_CSP)
    prepare: async () => {},
  },
  {
    name: "the wasm is served as text/plain",
    direct: false,
    cause: /application\/wasm/,
    prepare: async (page) => {
      const body = await readFile(`${ROOT}pkg/health_proxy_bg.wasm`);
      await page.route("**/health_proxy_bg*.wasm", (r) => r.fulfill({ status: 200, contentType: "text/plain", body }));
    },
  },
];

async function open(sim, p, cfg, c) {
  await sim.reset();
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await serveConfig(page, cfg);
  const origin = `http://127.0.0.1:${p.page + (c.port ?? 0)}`;
  await c.prepare(page);
  const consoleText = [];
  const uncaught = [];
  page.on("console", (m) => consoleText.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => uncaught.push(e.message));
  const before = await sim.stats();
  await page.goto(`${origin}/`);
  return { context, page, consoleText, uncaught, before };
}

/** What reached the follower since the page opened: nothing, in every case. */
async function assertFollowerUntouched(sim, before, label) {
  const after = await sim.stats();
  assert.equal(after.follower.requests - before.follower.requests, 0, `${label}: requests reached the follower`);
}

function assertCause(c, consoleText, label) {
  const errors = consoleText.filter((t) => t.startsWith("error: health-proxy:"));
  if (c.direct) {
    assert.equal(errors.length, 1, `${label}: one console error: ${consoleText.join("\n")}`);
    assert.match(errors[0], /automatic failover is unavailable on this page/);
    assert.match(errors[0], c.cause, label);
  } else {
    assert.equal(errors.length, 0, `${label}: ${errors.join("\n")}`);
    assert.ok(consoleText.some((t) => c.cause.test(t)), `${label}: the glue's warning names the type: ${consoleText.join("\n")}`);
  }
}

for (const c of CASES) {
  test(`landing page, leader up, ${c.name}: handbook, files and a note from the leader, nothing to the follower`, async () => {
    const cfg = chaosConfig(PAGE, { routes: pageRoutes() });
    const { context, page, consoleText, uncaught, before } = await open(env.page, PAGE, cfg, c);
    const want = c.direct ? "direct" : "leader";
    await page.waitForFunction((s) => document.body.dataset.state === s, want, { timeout: 10000 });
    await page.locator("#pages li strong").first().waitFor({ timeout: 10000 });
    await page.locator("#files li a.file-link").first().waitFor({ timeout: 10000 });
    assert.equal(await page.textContent("#pages-origin"), "from our server");
    assert.equal(await page.textContent("#files-origin"), "from our server");
    const href = await page.getAttribute("#files li a.file-link", "href");
    assert.ok(href.startsWith(cfg.leader + "/files/"), href);
    assert.equal(await page.isVisible("#notice"), c.direct, `${c.name}: the notice`);
    if (c.direct) assert.match(await page.textContent("#notice"), NOTICE);
    assert.equal(await page.isVisible("#fatal"), false);

    const note = `cannot-start ${c.name} ${Date.now()}`;
    await page.fill("#note-text", note);
    await page.click("#note-send");
    await page.waitForFunction(() => /^Saved as note #\d+/.test(document.querySelector("#note-result")?.textContent ?? ""), null, { timeout: 5000 });
    assert.ok((await env.page.notes()).some((n) => n.text === note), "the note reached the leader");

    assertCause(c, consoleText, c.name);
    assert.deepEqual(uncaught, []);
    await assertFollowerUntouched(env.page, before, c.name);
    await context.close();
  });
}

for (const c of CASES) {
  test(`Angular app, leader up, ${c.name}: handbook and a note from the leader, nothing to the follower`, async () => {
    const cfg = chaosConfig(APP, { cache: { storage: "none" }, routes: angularRoutes() });
    const { context, page, consoleText, uncaught, before } = await open(env.app, APP, cfg, c);
    const want = c.direct ? "direct" : "leader";
    await page.waitForFunction((s) => document.querySelector("#state")?.dataset.state === s, want, { timeout: 10000 });
    await page.locator("#pages li").first().waitFor({ timeout: 10000 });
    await page.click("#refresh");
    await page.waitForFunction(() => document.querySelector("#pages-origin")?.textContent.includes("our server"), null, { timeout: 5000 });
    assert.equal(await page.locator("#pages li").count(), 4);
    assert.equal(await page.isVisible("#notice"), c.direct, `${c.name}: the notice`);
    if (c.direct) assert.match(await page.textContent("#notice"), NOTICE);

    const note = `ng cannot-start ${c.name} ${Date.now()}`;
    await page.fill("#note", note);
    await page.click("#send");
    await page.waitForFunction(() => /Saved as note #\d+/.test(document.querySelector("#note-result")?.textContent ?? ""), null, { timeout: 5000 });
    assert.ok((await env.app.notes()).some((n) => n.text === note), "the note reached the leader");

    assertCause(c, consoleText, c.name);
    assert.deepEqual(uncaught, []);
    await assertFollowerUntouched(env.app, before, c.name);
    await context.close();
  });
}
