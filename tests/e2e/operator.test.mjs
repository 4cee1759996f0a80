// The operator's page (deploy/leader/operator/, spec §11) on the real leader: NGINX with
// deploy/leader's site in front of Flask under gunicorn. Reports are POSTed through NGINX as
// the browsers send them; the page, opened at /operator/ under its CSP, is signed in with the
// operator's token and must show them: the chart's minutes, the totals, the causes and each
// episode. A screenshot goes to target/operator-page.png (and docs/operator-page.png with
// UPDATE_SCREENSHOTS=1). Also the page's pure functions (per-minute counts, durations).
// Run: (cd tests/e2e && flock /tmp/hp-ports.lock node --test operator.test.mjs); needs pkg/ built.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { ROOT, launch } from "./harness.mjs";
import { ORIGIN, PORTS, OPERATOR_TOKEN, prepare, startApp, startNginx, stopStack } from "./realstack.mjs";
import { perMinute, bars, durationText, causes, totals } from "../../deploy/leader/operator/operator.js";

const MIN = 60_000;
const s = {}; // stack, app, nginx, browser

before(async () => {
  s.stack = await prepare();
  s.app = await startApp(s.stack);
  s.nginx = await startNginx(s.stack);
  s.browser = await launch();
});

after(() => stopStack(s));

/** POSTs `body` to the leader through NGINX as a browser on the page's origin does; { status, body, cors }. */
function post(path, body, headers = {}) {
  const data = typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1", port: PORTS.leader, path, method: "POST", timeout: 10000,
      headers: { origin: ORIGIN.page, "content-type": "application/json", "content-length": Buffer.byteLength(data), ...headers },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { text += d; });
      res.on("end", () => resolve({ status: res.statusCode, body: text, cors: res.headers["access-control-allow-origin"] }));
    });
    req.once("timeout", () => req.destroy(new Error("timeout")));
    req.once("error", reject);
    req.end(data);
  });
}

function report(startedAt, durationMs, probes, counts = {}, extra = {}) {
  return {
    id: randomUUID(), startedAt, durationMs,
    probes: { timeout: 0, network: 0, status: [], body: 0, ...probes },
    followerReads: 0, leaderUnavailable: 0, outcomeUnknown: 0, followerRequests: 0, rttMs: 18, version: "0.1.0", sampleRate: 1,
    ...counts, ...extra,
  };
}

/**
 * Accessibility: axe-core (the one lighthouse, pinned in package.json, runs; injected through
 * DevTools, so the page's CSP stays as served) on what the page shows, WCAG 2.0/2.1 A and AA
 * rules: labels, names, contrast, table headers.
 */
async function accessible(page, what) {
  const axe = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return { passes: r.passes.length, violations: r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`) };
  });
  console.log(`axe-core on /operator/ (${what}): ${axe.passes} rules passed, ${axe.violations.length} violated`);
  assert.deepEqual(axe.violations, [], `${what}: accessibility`);
  assert.ok(axe.passes >= 10, `axe ran ${axe.passes} rules`);
}

test("the page's arithmetic: minutes an episode overlaps, sampled weights, bars, durations, causes", () => {
  const r = (startedAt, durationMs, sampleRate = 1) => ({ startedAt, durationMs, sampleRate });
  // [0:30, 2:00] covers minutes 0 and 1, not 2 (it ends on 2:00 exactly); [1:00, 1:00] its start's minute only.
  assert.deepEqual([...perMinute([r(30_000, 90_000)], 0, 4 * MIN).values], [1, 1, 0, 0]);
  assert.deepEqual([...perMinute([r(MIN, 0)], 0, 4 * MIN).values], [0, 1, 0, 0]);
  assert.deepEqual([...perMinute([r(MIN, 1)], 0, 4 * MIN).values], [0, 1, 0, 0]);
  // Clipped to the period on both sides; a report wholly outside counts nowhere; weights 1/sampleRate.
  assert.deepEqual([...perMinute([r(-5 * MIN, 6.5 * MIN), r(3 * MIN, 9 * MIN, 0.25), r(-9 * MIN, MIN)], 0, 4 * MIN).values], [1, 1, 0, 4]);
  // The period's first minute is the minute `from` falls in.
  const p = perMinute([r(90_000, 1000)], 70_000, 200_000);
  assert.deepEqual([p.start, ...p.values], [MIN, 1, 0, 0]); // minutes 1, 2 and 3 (200 s is in the third)
  assert.deepEqual(bars([1, 3, 0, 2, 5], 2), { size: 3, values: [3, 5] });
  assert.deepEqual(bars([1, 0], 720), { size: 1, values: [1, 0] });
  assert.deepEqual([999, 42_400, 200_000, 3_600_000, 7_500_000, 90_000_000].map(durationText), ["999 ms", "42 s", "3 min 20 s", "1 h", "2 h 5 min", "1 d 1 h"]);
  const rs = [
    { probes: { timeout: 2, network: 0, status: [[502, 3]], body: 0 } },
    { probes: { timeout: 1, network: 0, status: [[502, 1], [504, 1]], body: 1 } },
  ];
  assert.deepEqual(causes(rs).map((c) => [c.cause, c.probes, c.episodes]), [["status 502", 4, 2], ["timeout", 3, 2], ["body", 1, 1], ["status 504", 1, 1]]);
  const t = totals([{ ...rs[0], durationMs: 10, sampleRate: 0.5, followerReads: 1, leaderUnavailable: 0, outcomeUnknown: 0, followerRequests: 2 },
    { ...rs[1], durationMs: 30, sampleRate: 1, followerReads: 2, leaderUnavailable: 1, outcomeUnknown: 1, followerRequests: 3 }]);
  assert.deepEqual(t, { episodes: 2, visitors: 3, sampled: true, longest: 30, median: 20, followerReads: 3, leaderUnavailable: 1, outcomeUnknown: 1, followerRequests: 5 });
});

test("reports POSTed through NGINX are shown by /operator/ with the token: chart, totals, causes, episodes", async () => {
  // A half hour that ended a few minutes ago, on whole minutes.
  const base = Math.floor(Date.now() / MIN) * MIN - 40 * MIN;
  const to = base + 30 * MIN;
  const at = (m, sec = 0) => base + m * MIN + sec * 1000;
  const sent = {
    blackout: report(at(0, 10), 150_000, { timeout: 5 }, { followerReads: 12, leaderUnavailable: 1, followerRequests: 14 }),
    appDown: report(at(1, 5), 45_000, { status: [[502, 3]] }, { followerReads: 3, outcomeUnknown: 1, followerRequests: 4 }),
    refused: report(at(1, 30), 90_000, { network: 4 }, { followerReads: 6, followerRequests: 7 }),
    portal: report(at(10), 300_000, { body: 2 }, { followerReads: 20, leaderUnavailable: 2, followerRequests: 22 }, { rttMs: null }),
    sampled: report(at(20, 15), 60_000, { timeout: 1, status: [[504, 2]] }, { followerReads: 1, followerRequests: 3 }, { sampleRate: 0.5 }),
  };
  // Before the period and after it: not shown.
  const outside = [report(base - 10 * MIN, 60_000, { timeout: 1 }), report(to + MIN, 60_000, { timeout: 1 })];
  for (const r of [...Object.values(sent), ...outside]) {
    const res = await post("/api/reports", r, { "idempotency-key": r.id });
    assert.equal(res.status, 201, res.body);
    assert.equal(res.cors, ORIGIN.page, "no CORS for the page's origin");
  }
  // The same episode again (a retry without the key, then with it): no second row.
  assert.equal((await post("/api/reports", sent.blackout)).status, 200);
  assert.equal((await post("/api/reports", sent.blackout, { "idempotency-key": sent.blackout.id })).status, 201, "the key's first answer replayed");

  const context = await s.browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "UTC", locale: "en-GB" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text()); });
  const response = await page.goto(`${ORIGIN.leader}/operator/#from=${base}&to=${to}`);
  assert.match(response.headers()["content-security-policy"], /^default-src 'none'; script-src 'self';/);
  await page.waitForFunction(() => document.body.dataset.state === "signin");
  assert.equal(await page.isVisible("#view"), false, "data shown before sign-in");
  assert.equal(await page.locator("label[for=token]").count(), 1);
  await page.evaluate(await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8"));
  await accessible(page, "sign-in");

  // A wrong token: refused, said so, nothing kept.
  await page.fill("#token", "not-the-token");
  await page.click("#token-form button[type=submit]");
  await page.locator("#token-error", { hasText: "401" }).waitFor({ timeout: 10000 });
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  await page.fill("#token", OPERATOR_TOKEN);
  await page.click("#token-form button[type=submit]");
  await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 10000 });
  assert.equal(await page.inputValue("#token"), "", "the token stays in the field");

  const shown = await page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent.trim();
    return {
      tiles: Object.fromEntries(["episodes", "longest", "median", "reads", "refused", "unknown", "follower"].map((k) => [k, text(`s-${k}`)])),
      bars: [...document.querySelectorAll("#chart rect.bar")].map((r) => [Number(r.dataset.minute), Number(r.dataset.value)]),
      chartDesc: text("chart-desc"),
      chartNote: text("chart-note"),
      causes: [...document.querySelectorAll("#causes tbody tr")].map((tr) => [tr.dataset.cause, ...[...tr.cells].slice(1).map((c) => c.textContent)]),
      rows: [...document.querySelectorAll("#episodes tbody tr")].map((tr) => ({ id: tr.dataset.id, cells: [...tr.cells].map((c) => c.textContent) })),
      sampling: document.getElementById("sampling").hidden ? "" : text("sampling"),
      status: text("status"),
    };
  });

  // The totals: five episodes (the repeat and the two outside the period are not counted).
  assert.deepEqual(shown.tiles, { episodes: "5", longest: "5 min", median: "1 min 30 s", reads: "42", refused: "3", unknown: "1", follower: "50" });
  // Visitors in emergency per minute: 0:10–2:40, 1:05–1:50, 1:30–3:00; 10:00–15:00; 20:15–21:15 at weight 2.
  const want = [[0, 1], [1, 3], [2, 2], [10, 1], [11, 1], [12, 1], [13, 1], [14, 1], [20, 2], [21, 2]].map(([m, v]) => [at(m), v]);
  assert.deepEqual(shown.bars, want);
  assert.match(shown.chartDesc, /^Peak: 3 visitors in emergency at .*; 10 minutes with at least one\.$/);
  assert.match(shown.chartNote, /One bar per minute\. Estimated: each report counts as 1 ÷ its sample rate\./);
  assert.match(shown.sampling, /5 reports stand for about 6 visitors' episodes/);
  assert.deepEqual(shown.causes, [
    ["timeout", "6", "2"], ["network", "4", "1"], ["status 502", "3", "1"], ["body", "2", "1"], ["status 504", "2", "1"],
  ]);
  // Episodes, newest first: start, duration, causes, reads from AWS, writes refused, unknown, requests to AWS, RTT, version.
  const fmt = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  assert.deepEqual(shown.rows.map((r) => r.id), [sent.sampled.id, sent.portal.id, sent.refused.id, sent.appDown.id, sent.blackout.id]);
  assert.deepEqual(shown.rows.map((r) => r.cells), [
    [fmt.format(sent.sampled.startedAt), "1 min", "timeout ×1, HTTP 504 ×2", "1", "0", "0", "3", "18 ms", "0.1.0 (sampled at 0.5)"],
    [fmt.format(sent.portal.startedAt), "5 min", "wrong body ×2", "20", "2", "0", "22", "–", "0.1.0"],
    [fmt.format(sent.refused.startedAt), "1 min 30 s", "network ×4", "6", "0", "0", "7", "18 ms", "0.1.0"],
    [fmt.format(sent.appDown.startedAt), "45 s", "HTTP 502 ×3", "3", "0", "1", "4", "18 ms", "0.1.0"],
    [fmt.format(sent.blackout.startedAt), "2 min 30 s", "timeout ×5", "12", "1", "0", "14", "18 ms", "0.1.0"],
  ]);
  assert.match(shown.status, /^5 reports from /);

  await accessible(page, "the reports");

  // The screenshot for docs/deploying.md: the page as an operator sees it.
  await mkdir(`${ROOT}target`, { recursive: true });
  const shot = await page.screenshot({ path: `${ROOT}target/operator-page.png`, fullPage: true });
  assert.ok(shot.length > 10_000, `a ${shot.length} B screenshot`);
  if (process.env.UPDATE_SCREENSHOTS === "1") await page.screenshot({ path: `${ROOT}docs/operator-page.png`, fullPage: true });

  // The token is this tab's: a reload keeps it (no sign-in), "Forget" drops it, another tab has none.
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 10000 });
  assert.equal(await page.locator("#episodes tbody tr").count(), 5);
  const other = await context.newPage();
  await other.goto(`${ORIGIN.leader}/operator/`);
  await other.waitForFunction(() => document.body.dataset.state === "signin");
  await page.click("#forget");
  await page.waitForFunction(() => document.body.dataset.state === "signin");
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  assert.deepEqual(problems, [], "errors or CSP violations on the page");
  await context.close();
});

test("a period with no report says so, and a period chosen in the form is read", async () => {
  const context = await s.browser.newContext({ timezoneId: "UTC" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text()); });
  // A quiet hour a week ago (the other test's reports are within the last hour).
  const from = Math.floor(Date.now() / MIN) * MIN - 7 * 24 * 60 * MIN;
  await page.goto(`${ORIGIN.leader}/operator/#from=${from}&to=${from + 60 * MIN}`);
  await page.fill("#token", OPERATOR_TOKEN);
  await page.click("#token-form button[type=submit]");
  await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 10000 });
  assert.equal(await page.textContent("#s-episodes"), "0");
  assert.equal(await page.textContent("#chart-desc"), "No visitor was in emergency in this period.");
  assert.equal(await page.locator("#chart rect.bar").count(), 0);
  // "Last hour" from the buttons: the other test's reports, its five and the two around its period.
  await page.click("button[data-last='60']");
  await page.waitForFunction(() => document.body.dataset.state === "ready" && document.getElementById("s-episodes").textContent !== "0", null, { timeout: 10000 });
  assert.equal(await page.textContent("#s-episodes"), "7");
  assert.match(page.url(), /#from=\d+&to=\d+$/);
  assert.deepEqual(problems, []);
  await context.close();
});
