// The benchmark (`make bench`): headless Chromium against hub-sim with an added network
// delay, printing one table of figures. Not part of the test command: timings on a
// shared machine are for comparing within one run, not for asserting.
//   node bench.mjs [--delay-ms 20] [--reads 200] [--tabs-seconds 30] [--pkg DIR] [--only 1,2,3,4,5] [--parallel 10]
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { ROOT, ports, startSim, launch, sleep } from "./harness.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
// Browser contexts (separate connection pools) reading at once during a blackout.
const PARALLEL = arg("parallel", 10);
const DELAY = arg("delay-ms", 20);
const READS = arg("reads", 200);
const TABS_SECONDS = arg("tabs-seconds", 30);
const pkgArg = process.argv.indexOf("--pkg");
const PKG = pkgArg > 0 ? process.argv[pkgArg + 1] : `${ROOT}pkg`;

const onlyArg = process.argv.indexOf("--only");
const ONLY = onlyArg > 0 ? process.argv[onlyArg + 1].split(",").map(Number) : [1, 2, 3, 4, 5];

const P = ports(18300);
const LEADER = `http://127.0.0.1:${P.leader}`;
const FOLLOWER = `http://127.0.0.1:${P.follower}`;
const PAGE = `http://127.0.0.1:${P.page}/index.html`;
const config = (extra = {}) => ({
  leader: LEADER,
  follower: FOLLOWER,
  routes: [
    { prefix: "/api/pages", critical: true },
    { prefix: "/api/files", critical: true },
    { prefix: "/api/hub", critical: false },
    { prefix: "/api/notes", critical: false },
  ],
  cache: { storage: "none" },
  ...extra,
});

// The bench page comes from the simulator's page server (loopback, like the APIs: Chrome
// refuses loopback requests from a page it cannot place in the local address space).
const sim = await startSim(P, ["--delay-ms", String(DELAY), "--www", `${ROOT}tests/e2e/bench`, "--pkg", PKG]);
const browser = await launch();
const rows = [];
const row = (section, what, value, note = "") => rows.push({ section, what, value, note });
const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const ms = (v) => (v == null ? "—" : `${v.toFixed(v < 10 ? 2 : 0)} ms`);

async function benchPage(context) {
  const page = await context.newPage();
  await page.goto(PAGE);
  await page.waitForFunction(() => window.bench);
  return page;
}

try {
  // 1. package size
  if (ONLY.includes(1)) for (const [file, label] of [["health_proxy_bg.wasm", ".wasm"], ["health_proxy.js", "JS glue"]]) {
    const bytes = await readFile(`${PKG}/${file}`);
    row("1. size", label, `${bytes.length} B`, `${gzipSync(bytes, { level: 9 }).length} B gzipped`);
  }
  if (ONLY.includes(1)) {
    const total = ["health_proxy_bg.wasm", "health_proxy.js"].map(async (f) => gzipSync(await readFile(`${PKG}/${f}`), { level: 9 }).length);
    row("1. size", "wasm + glue", "", `${(await Promise.all(total)).reduce((a, b) => a + b)} B gzipped`);
  }

  // 2. resolve() per call
  if (ONLY.includes(2)) {
    const context = await browser.newContext();
    const page = await benchPage(context);
    const r = await page.evaluate((c) => window.bench.resolveCost(c), config());
    if (r.wasmDistinct != null) {
      row("2. resolve()", "health-proxy, repeated paths", `${r.wasm.toFixed(0)} ns`, `ratio ${(r.wasm / r.js).toFixed(1)}× plain JS; median of 60 batches of 20000 calls`);
      row("2. resolve()", "health-proxy, every path new", `${r.wasmDistinct.toFixed(0)} ns`, `ratio ${(r.wasmDistinct / r.jsDistinct).toFixed(1)}× plain JS on the same new paths`);
      row("2. resolve()", "health-proxy, every path new, method given", `${r.wasmDistinctGet.toFixed(0)} ns`, `not memoised; ratio ${(r.wasmDistinctGet / r.jsDistinct).toFixed(1)}×`);
    } else {
      row("2. resolve()", "health-proxy (wasm)", `${r.wasm.toFixed(0)} ns`, `ratio ${(r.wasm / r.js).toFixed(1)}× plain JS; median of 60 batches of 20000 calls`);
    }
    row("2. resolve()", "plain JavaScript, same rules", `${r.js.toFixed(0)} ns`, "repeated paths");
    row("2. resolve()", "plain JavaScript, every path new", `${r.jsDistinct.toFixed(0)} ns`, "");
    await context.close();
  }

  // 3. init() → first critical read (the page calls start() and fetch() at once)
  if (ONLY.includes(3)) {
    await sim.reset();
    const cached = config({ cache: { storage: "local", key: "bench" } });
    const context = await browser.newContext();
    let page = await benchPage(context);
    const cold = await page.evaluate((c) => window.bench.firstRead(c), cached);
    page = await benchPage(context); // a new page load: the verdict is in localStorage
    const warm = await page.evaluate((c) => window.bench.firstRead(c), cached);
    await context.close();
    await sim.leader("blackout");
    const darkContext = await browser.newContext();
    const darkPage = await benchPage(darkContext);
    const dark = await darkPage.evaluate((c) => window.bench.firstRead(c), config());
    await darkContext.close();
    await sim.leader("up");
    for (const [label, r] of [["warm (cached verdict)", warm], ["cold, leader up", cold], ["cold, leader blacked out", dark]]) {
      row("3. init() → first read", label, `${ms(r.served)} served`, `sent at ${ms(r.sent)}, by the ${r.origin}, verdict from ${r.source}`);
    }
  }

  // 4. a critical read when the leader dies mid-session, per fault
  if (ONLY.includes(4)) {
    const contexts = await Promise.all(Array.from({ length: PARALLEL }, () => browser.newContext()));
    const pages = await Promise.all(contexts.map(benchPage));
    const direct = [];
    for (let i = 0; i < READS; i++) direct.push(await pages[0].evaluate((u) => window.bench.directRead(u), `${FOLLOWER}/api/pages`));
    const d50 = q(direct, 0.5);
    row("4. read, leader dies mid-session", "straight to the healthy follower", `p50 ${ms(d50)}`, `p99 ${ms(q(direct, 0.99))}`);
    for (const fault of ["app-down", "refused", "blackout"]) {
      const times = [];
      let failed = 0;
      // Fast faults one page at a time (parallel pages would share 2 CPU cores); a
      // blackout, which waits on timers, in parallel pages.
      const inUse = fault === "blackout" ? pages : pages.slice(0, 1);
      for (let round = 0; times.length + failed < READS; round++) {
        await sim.leader("up");
        await Promise.all(inUse.map((p) => p.evaluate((c) => window.bench.prepare(c), config())));
        await sim.leader(fault);
        const results = await Promise.all(inUse.map((p) => p.evaluate(() => window.bench.midSessionRead())));
        for (const r of results) (r.ok ? times.push(r.ms) : failed++);
      }
      const label = { "app-down": "502 (app down)", refused: "refused", blackout: "blackout" }[fault];
      row("4. read, leader dies mid-session", label, `p50 ${ms(q(times, 0.5))} (+${ms(q(times, 0.5) - d50)})`, `p99 ${ms(q(times, 0.99))} (+${ms(q(times, 0.99) - d50)}); ${times.length} served, ${failed} failed`);
    }
    await sim.leader("up");
    await Promise.all(contexts.map((c) => c.close()));
  }

  // 5. probes per minute with 1 and 5 tabs; follower traffic while the leader is healthy
  for (const tabs of ONLY.includes(5) ? [1, 5] : []) {
    await sim.reset();
    const context = await browser.newContext();
    const pages = [];
    for (let i = 0; i < tabs; i++) {
      const page = await benchPage(context);
      await page.evaluate((c) => window.bench.keepRunning(c), config({ health: { intervalMs: 5000 }, cache: { storage: "local", key: "tabs" } }));
      pages.push(page);
    }
    const before = await sim.stats();
    await sleep(TABS_SECONDS * 1000);
    const after = await sim.stats();
    const perMinute = (n) => ((n * 60) / TABS_SECONDS).toFixed(1);
    row("5. cost", `leader probes / min, ${tabs} tab${tabs > 1 ? "s" : ""}`, perMinute(after.leader.probes - before.leader.probes), `health.intervalMs 5000, ${TABS_SECONDS} s window`);
    row("5. cost", `follower requests / min, ${tabs} tab${tabs > 1 ? "s" : ""}, leader healthy`, perMinute(after.follower.requests - before.follower.requests), "");
    await context.close();
  }
} finally {
  await browser.close();
  sim.stop();
}

console.log(`\nhealth-proxy benchmark — added delay ${DELAY} ms per response on the leader and the follower, ${READS} reads per fault`);
console.table(rows);
