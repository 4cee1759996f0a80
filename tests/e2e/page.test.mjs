// The landing page's own rules, against the simulator: what counts as a saved note, hub
// links on the leader's origin, the fatal screen, and file links that follow the verdict.
import { test } from "node:test";
import assert from "node:assert/strict";
import { simAndBrowser, pageRoutes } from "./fixture.mjs";
import { ports, chaosConfig, serveConfig } from "./harness.mjs";

const P = ports(18520);
const env = simAndBrowser(P);
const LEADER = `http://127.0.0.1:${P.leader}`;
const FOLLOWER = `http://127.0.0.1:${P.follower}`;
const config = () => chaosConfig(P, { routes: pageRoutes() });

async function open(cfg = config()) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await serveConfig(page, cfg);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${P.page}/`);
  return { context, page, errors };
}

const waitState = (page, state) => page.waitForFunction((s) => document.body.dataset.state === s, state, { timeout: 10000 });

test("a note answered 200 (Flask's default) is saved; a 200 web page in its place is not", async () => {
  await env.sim.reset();
  const { context, page } = await open();
  await waitState(page, "leader");
  const answer = {};
  await page.route(`${LEADER}/api/notes`, (route) => (route.request().method() === "POST" ? route.fulfill(answer) : route.fallback()));

  Object.assign(answer, { status: 200, contentType: "application/json", body: '{"id":7}', headers: { "access-control-allow-origin": "*" } });
  let r = await page.evaluate(() => window.hub.postNote("answered 200"));
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(await page.textContent("#note-result"), "Saved as note #7.");

  Object.assign(answer, { status: 200, contentType: "text/html", body: "<h1>Sign in to the hotel Wi-Fi</h1>" });
  r = await page.evaluate(() => window.hub.postNote("answered by a captive portal"));
  assert.equal(r.ok, false);
  assert.equal(r.code, "UNEXPECTED_ANSWER");
  assert.match(await page.textContent("#note-result"), /^Not confirmed — something other than our server answered/);

  await page.unroute(`${LEADER}/api/notes`);
  r = await page.evaluate(() => window.hub.postNote("answered 201 by the simulator"));
  assert.equal(r.ok, true);
  await context.close();
});

test("a note with no answer is 'could not confirm', never 'Not saved', and Send again resends it with the same key", async () => {
  await env.sim.reset();
  const { context, page, errors } = await open();
  await waitState(page, "leader");
  // The posts reach the network and no answer ever comes (a line gone silent).
  const held = [];
  await page.route(`${LEADER}/api/notes`, (route) => (route.request().method() === "POST" ? held.push(route) : route.fallback()));
  // From a script: classified, with the key it sent.
  const r = await page.evaluate(() => window.hub.postNote("classified"));
  assert.deepEqual([r.ok, r.code, typeof r.idempotencyKey], [false, "OUTCOME_UNKNOWN", "string"], JSON.stringify(r));
  assert.equal(r.idempotencyKey, held[0].request().headers()["idempotency-key"]);
  // From the form: what a person sees.
  await page.fill("#note-text", "are you there?");
  await page.click("#note-send");
  // The click hid the button of the first note; it comes back with this one's outcome.
  await page.waitForSelector("#note-again", { state: "visible", timeout: 10000 });
  const shown = await page.textContent("#note-result");
  assert.equal(shown, "We could not confirm this note — it may have been saved. Sending it again is safe: it will not be saved twice.");
  assert.equal(held.length, 2);
  const key = held[1].request().headers()["idempotency-key"];
  assert.match(key ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "the post carried no key");
  assert.notEqual(key, r.idempotencyKey, "each note has its own key");
  assert.equal(await page.isVisible("#note-again"), true, "no Send again button");
  assert.equal(await page.inputValue("#note-text"), "are you there?", "the text was cleared as if saved");

  // The line is back: Send again posts the same note with the same key.
  await page.unroute(`${LEADER}/api/notes`);
  await page.click("#note-again");
  await page.waitForFunction(() => /^Saved/.test(document.getElementById("note-result").textContent), null, { timeout: 10000 });
  assert.equal(await page.isVisible("#note-again"), false);
  assert.equal(await page.inputValue("#note-text"), "", "the saved note's text stays in the form");
  const stats = await env.sim.stats();
  assert.deepEqual(stats.leader.writeKeys, [key], "Send again did not resend with the note's first key");
  const notes = await env.sim.notes();
  assert.deepEqual(notes.map((n) => n.text), ["are you there?"]);
  assert.deepEqual(errors, []);
  for (const route of held) await route.abort().catch(() => {});
  await context.close();
});

test("hub links the leader sends as relative paths point at the leader, not the page's origin", async () => {
  await env.sim.reset();
  const { context, page } = await open();
  await waitState(page, "leader");
  await page.waitForSelector("#hub:not([hidden]) #hub-links a");
  const hrefs = await page.$$eval("#hub-links a", (as) => as.map((a) => a.href));
  assert.ok(hrefs.length > 0);
  for (const href of hrefs) assert.ok(href.startsWith(`${LEADER}/hub/`), href);
  await context.close();
});

test("INVALID_CONFIG: the fatal message names the field and the note form is disabled", async () => {
  const { context, page } = await open({ ...config(), leader: "not a url" });
  await page.waitForSelector("#fatal:not([hidden])");
  assert.match(await page.textContent("#fatal"), /INVALID_CONFIG/);
  assert.equal(await page.isDisabled("#note-send"), true);
  assert.equal(await page.isDisabled("#note-text"), true);
  assert.match(await page.textContent("#note-why"), /Posting is unavailable/);
  await context.close();
});

test("each file is a link to proxy.resolve(), redrawn on every state change", async () => {
  await env.sim.reset();
  const { context, page, errors } = await open();
  const links = () => page.$$eval("#files a.file-link", (as) => as.map((a) => a.href));
  const waitLinks = (prefix) => page.waitForFunction((p) => {
    const as = [...document.querySelectorAll("#files a.file-link")];
    return as.length > 0 && as.every((a) => a.href.startsWith(p));
  }, prefix, { timeout: 10000 });
  await waitState(page, "leader");
  await waitLinks(`${LEADER}/files/`);
  const onLeader = await links();
  assert.deepEqual(onLeader, await page.evaluate(() => [...document.querySelectorAll("#files a.file-link")].map((a) => window.hub.proxy.resolve(new URL(a.href).pathname))));

  await env.sim.leader("app-down");
  await waitState(page, "emergency");
  // Redrawn by the state change itself: no new /api/files answer is needed for the hrefs.
  assert.ok((await links()).every((h) => h.startsWith(`${FOLLOWER}/files/`)), (await links()).join());
  assert.equal((await links()).length, onLeader.length);

  await env.sim.leader("refused");
  await env.sim.follower("down");
  await waitState(page, "offline");
  assert.deepEqual(await links(), []);
  assert.equal(await page.$$eval("#files li", (lis) => lis.length), onLeader.length, "the files stay listed while offline");
  assert.match(await page.textContent("#files"), /can't be downloaded right now/);

  await env.sim.leader("up");
  await env.sim.follower("up");
  await waitState(page, "leader");
  await waitLinks(`${LEADER}/files/`);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a page view in an outage reads each list once, at the follower; back on the leader, once more there", async () => {
  await env.sim.reset();
  await env.sim.leader("blackout");
  const before = await env.sim.stats();
  const count = (s, side, path) => (s[side].byPath[path] ?? 0) - (before[side].byPath[path] ?? 0);
  const { context, page, errors } = await open();
  await waitState(page, "emergency");
  await page.waitForSelector("#pages strong");
  await page.waitForSelector("#files strong");
  await new Promise((r) => setTimeout(r, 2500)); // probes go on; no list is read again
  let s = await env.sim.stats();
  assert.deepEqual([count(s, "follower", "/api/pages"), count(s, "follower", "/api/files")], [1, 1], JSON.stringify(s.follower.byPath));
  assert.match(await page.textContent("#pages-origin"), /follower/);

  const atSwitch = await env.sim.stats();
  const since = (s, path) => (s.leader.byPath[path] ?? 0) - (atSwitch.leader.byPath[path] ?? 0);
  await env.sim.leader("up");
  await waitState(page, "leader");
  await page.waitForFunction(() => /our server/.test(document.getElementById("pages-origin").textContent) && /our server/.test(document.getElementById("files-origin").textContent));
  await new Promise((r) => setTimeout(r, 1500));
  s = await env.sim.stats();
  assert.deepEqual([count(s, "follower", "/api/pages"), count(s, "follower", "/api/files")], [1, 1], "no follower read after the switch back");
  assert.deepEqual([since(s, "/api/pages"), since(s, "/api/files"), since(s, "/api/hub/links")], [1, 1, 1], JSON.stringify(s.leader.byPath));
  assert.deepEqual(errors, []);
  await context.close();
});

test("data from any follower base is labelled the follower's: a host written in capitals, a route's own base", async () => {
  await env.sim.reset();
  await env.sim.leader("blackout");
  const cfg = config();
  // The browser reports the follower's host in lower case; /api/files has a base of its own.
  cfg.follower = `http://LOCALHOST:${P.follower}`;
  cfg.routes = cfg.routes.map((r) => (r.prefix === "/api/files" ? { ...r, follower: `${FOLLOWER}/` } : r));
  const { context, page, errors } = await open(cfg);
  await waitState(page, "emergency");
  const [pages, files] = await page.evaluate(() => Promise.all([window.hub.readPages(), window.hub.readFiles()]));
  assert.deepEqual([pages.origin, files.origin], ["follower", "follower"], JSON.stringify([pages, files]));
  assert.match(await page.textContent("#pages-origin"), /follower/);
  assert.match(await page.textContent("#files-origin"), /follower/);
  const s = await env.sim.stats();
  assert.ok(s.follower.byPath["/api/pages"] > 0 && s.follower.byPath["/api/files"] > 0, JSON.stringify(s.follower.byPath));
  assert.deepEqual(errors, []);
  await context.close();
});

test("a store error on a file link opens in a tab of its own: the landing page stays", async () => {
  await env.sim.reset();
  const { context, page } = await open();
  await waitState(page, "leader");
  await page.waitForSelector("#files a.file-link");
  await context.route(`${LEADER}/files/**`, (route) => route.fulfill({ status: 404, contentType: "text/html", body: "<h1>404 Not Found</h1>" }));
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#files a.file-link >> nth=0")]);
  await popup.waitForLoadState();
  assert.match(await popup.textContent("h1"), /404/);
  assert.equal(page.url(), `http://127.0.0.1:${P.page}/`);
  assert.equal(await page.evaluate(() => document.body.dataset.state), "leader");
  await context.close();
});

test("a reload into an outage with a cached leader verdict reads each list once, at the follower", async () => {
  await env.sim.reset();
  const { context, page, errors } = await open();
  await waitState(page, "leader");
  await page.waitForSelector("#files strong");
  await env.sim.leader("blackout");
  const before = await env.sim.stats();
  const count = (s, path) => (s.follower.byPath[path] ?? 0) - (before.follower.byPath[path] ?? 0);
  await page.reload(); // the verdict "leader" is in localStorage: the reads go to the dark leader first
  await waitState(page, "emergency");
  await page.waitForFunction(() => /follower/.test(document.getElementById("pages-origin").textContent) && /follower/.test(document.getElementById("files-origin").textContent));
  await new Promise((r) => setTimeout(r, 2500));
  const s = await env.sim.stats();
  assert.deepEqual([count(s, "/api/pages"), count(s, "/api/files")], [1, 1], JSON.stringify(s.follower.byPath));
  assert.deepEqual(errors, []);
  await env.sim.leader("up");
  await context.close();
});
