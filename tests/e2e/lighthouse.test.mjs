// Lighthouse (npm) on the landing page and on the demo console, both served by the
// simulator, in the system's headless Chromium: the page holds still (Cumulative Layout
// Shift < 0.1), accessibility 100, best practices 100. The figures are printed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, cp, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import lighthouse from "lighthouse";
import { ROOT, ports, startSim } from "./harness.mjs";

const P = ports(18680);
const DEBUG_PORT = 18689;
const env = {};

before(async () => {
  env.dir = await mkdtemp(join(tmpdir(), "hp-lighthouse-"));
  // www/ as it ships, its config.json pointed at this test's leader and follower.
  const www = join(env.dir, "www");
  await cp(`${ROOT}www`, www, { recursive: true });
  const config = JSON.parse(await readFile(`${ROOT}www/config.json`, "utf8"));
  await writeFile(join(www, "config.json"), JSON.stringify({ ...config, leader: `http://127.0.0.1:${P.leader}`, follower: `http://127.0.0.1:${P.follower}` }));
  env.sim = await startSim(P, ["--www", www]);
  env.chromium = await startChromium(join(env.dir, "profile"));
});

after(async () => {
  if (env.chromium && env.chromium.exitCode === null) {
    // Its profile is written until it exits: remove the directory after that.
    const exited = new Promise((resolve) => env.chromium.once("exit", resolve));
    env.chromium.kill("SIGTERM");
    await exited;
  }
  env.sim?.stop();
  if (env.dir) await rm(env.dir, { recursive: true, force: true, maxRetries: 5 });
});

/** Headless Chromium with a fresh profile, waiting for its DevTools endpoint. */
function startChromium(profile) {
  const child = spawn(process.env.CHROMIUM ?? "/usr/bin/chromium", [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`,
    `--remote-debugging-port=${DEBUG_PORT}`, "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chromium did not start: ${err}`)), 20000);
    child.stderr.on("data", (d) => {
      err += d;
      if (/DevTools listening on ws:/.test(err)) { clearTimeout(timer); resolve(child); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`chromium exited ${code}: ${err}`)); });
  });
}

async function audit(url) {
  const result = await lighthouse(url, {
    port: DEBUG_PORT,
    output: "json",
    logLevel: "error",
    onlyCategories: ["performance", "accessibility", "best-practices"],
    // Throttled for real (Lighthouse's mobile link and CPU), not simulated afterwards: on
    // loopback at full speed the lists arrive before the first paint and nothing can shift.
    throttlingMethod: "devtools",
  });
  const lhr = result.lhr;
  assert.equal(lhr.runtimeError, undefined, JSON.stringify(lhr.runtimeError));
  const score = (c) => Math.round(lhr.categories[c].score * 100);
  const cls = lhr.audits["cumulative-layout-shift"].numericValue;
  const failing = Object.values(lhr.audits)
    .filter((a) => a.score !== null && a.score < 1 && ["binary", "numeric"].includes(a.scoreDisplayMode))
    .map((a) => a.id);
  console.log(`lighthouse ${lhr.lighthouseVersion}, ${url} (${lhr.configSettings.formFactor}): CLS ${cls.toFixed(3)}, performance ${score("performance")}, accessibility ${score("accessibility")}, best practices ${score("best-practices")}; audits below 1: ${failing.join(", ") || "none"}`);
  const shifts = (lhr.audits["layout-shifts"]?.details?.items ?? []).map((i) => `${i.score?.toFixed(3)} ${i.node?.selector ?? i.node?.snippet ?? "?"}`);
  if (shifts.length) console.log(`  layout shifts: ${shifts.join("; ")}`);
  return { cls, accessibility: score("accessibility"), bestPractices: score("best-practices"), failing };
}

for (const [name, path] of [["the landing page", "/"], ["the demo console", "/demo/"]]) {
  test(`Lighthouse on ${name}: CLS < 0.1, accessibility 100, best practices 100`, async () => {
    await env.sim.reset();
    const r = await audit(`http://127.0.0.1:${P.page}${path}`);
    assert.ok(r.cls < 0.1, `CLS ${r.cls}`);
    assert.equal(r.accessibility, 100, `accessibility: ${r.failing.join(", ")}`);
    assert.equal(r.bestPractices, 100, `best practices: ${r.failing.join(", ")}`);
  });
}
