// The benchmark (`make bench`): headless Chromium against hub-sim with an added network
// delay, printing one table of figures. Not part of the test command: timings on a
// shared machine are for comparing within one run, not for asserting.
//   node bench.mjs [--delay-ms 20] [--reads 200] [--tabs-seconds 30] [--jitter-seconds 30] [--pkg DIR] [--only 1,2,...,12] [--parallel 10] [--reloads 10] [--www-before DIR]
// Sections: 1 size, 2 resolve(), 3 init() → first read, 4 leader dies mid-session, 5 cost
// with 1 and 5 tabs, 6 a warm session's first read into a blackout beside a cockatiel
// peer, 7 a healthy leader on a jittery link, 8 five tabs starting at once, 9 what users
// feel on a slow link (the landing page, before and after, beside a cockatiel page, from an
// S3 + CloudFront stand-in), 10 a reload into a blackout with a cached `leader` verdict
// (with and without the RTT it carries), 11 what proxy.fetch adds to a read on a healthy
// leader, beside the cockatiel peer, 12 the replica (bench-replica.mjs: lag, AWS requests,
// catch-up after an uplink loss).
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { ROOT, ports, startSim, launch, sleep, apiRoutes } from "./harness.mjs";
import { startCdn, TYPES } from "./cdn.mjs";
import { buildSite } from "../../tools/build-site.mjs";
import { replicaBench } from "./bench-replica.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
// Browser contexts (separate connection pools) reading at once during a blackout.
const PARALLEL = arg("parallel", 10);
const DELAY = arg("delay-ms", 20);
const READS = arg("reads", 200);
const TABS_SECONDS = arg("tabs-seconds", 30);
const JITTER_SECONDS = arg("jitter-seconds", 30);
const RELOADS = arg("reloads", 10);
const pkgArg = process.argv.indexOf("--pkg");
const PKG = pkgArg > 0 ? process.argv[pkgArg + 1] : `${ROOT}pkg`;
// Section 9's "before" page files (index.html, app.js, style.css): e.g. www/ of an older revision.
const wwwBeforeArg = process.argv.indexOf("--www-before");
const WWW_BEFORE = wwwBeforeArg > 0 ? process.argv[wwwBeforeArg + 1] : null;

const onlyArg = process.argv.indexOf("--only");
const ONLY = onlyArg > 0 ? process.argv[onlyArg + 1].split(",").map(Number) : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

const P = ports(18300);
// 1.6 Mbps down, 750 kbps up, 150 ms latency (Chromium DevTools' emulateNetworkConditions).
const SLOW = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };
const LEADER = `http://127.0.0.1:${P.leader}`;
const FOLLOWER = `http://127.0.0.1:${P.follower}`;
const PAGE = `http://127.0.0.1:${P.page}/index.html`;
const config = (extra = {}) => ({
  leader: LEADER,
  follower: FOLLOWER,
  routes: apiRoutes(),
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
const notes = [];
const ms = (v) => (v == null ? "—" : `${v.toFixed(v < 10 ? 2 : 0)} ms`);
// The package build's own copies (gzip -9, brotli 11) where it wrote them, as uploaded.
const encoded = async (file, ext) => (await readFile(`${PKG}/${file}.${ext}`).catch(() => null))?.length
  ?? (ext === "gz" ? gzipSync(await readFile(`${PKG}/${file}`), { level: 9 }).length : brotliCompressSync(await readFile(`${PKG}/${file}`)).length);

async function benchPage(context) {
  const page = await context.newPage();
  await page.goto(PAGE);
  await page.waitForFunction(() => window.bench);
  return page;
}

try {
  // 1. package size
  if (ONLY.includes(1)) {
    const sum = { gz: 0, br: 0 };
    for (const [file, label] of [["health_proxy_bg.wasm", ".wasm"], ["health_proxy.js", "JS glue"]]) {
      const bytes = await readFile(`${PKG}/${file}`);
      const [gz, br] = [await encoded(file, "gz"), await encoded(file, "br")];
      sum.gz += gz;
      sum.br += br;
      row("1. size", label, `${bytes.length} B`, `${gz} B gzipped, ${br} B brotli`);
    }
    row("1. size", "wasm + glue", "", `${sum.gz} B gzipped, ${sum.br} B brotli`);
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

  // 11. what proxy.fetch adds to a read on a healthy leader, beside the cockatiel peer
  if (ONLY.includes(11)) {
    const context = await browser.newContext();
    const page = await benchPage(context);
    const r = await page.evaluate(([c, n]) => window.bench.fetchCost(c, n), [config(), READS]);
    const S = "11. read on a healthy leader";
    row(S, "plain fetch", ms(r.plain), `mean of ${READS} reads, body included, interleaved with the two below`);
    row(S, "health-proxy: proxy.fetch", `+${ms(r.proxy - r.plain)}`, `${ms(r.proxy)} per read`);
    row(S, "cockatiel peer", `+${ms(r.peer - r.plain)}`, `${ms(r.peer)} per read; health-proxy's overhead ÷ the peer's: ${((r.proxy - r.plain) / (r.peer - r.plain)).toFixed(2)}×`);
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

  // 5. probes per minute with 1 and 5 tabs; follower traffic while the leader is healthy.
  // 8. the five tabs are opened together (one context, one cache key, no verdict yet):
  //    the leader probes it takes until all five have one.
  const tabRuns = [...(ONLY.includes(5) ? [1] : []), ...(ONLY.includes(5) || ONLY.includes(8) ? [5] : [])];
  for (const tabs of tabRuns) {
    await sim.reset();
    const context = await browser.newContext();
    const tabConfig = config({ health: { intervalMs: 5000 }, cache: { storage: "local", key: "tabs" } });
    const pages = await Promise.all(Array.from({ length: tabs }, () => benchPage(context)));
    const atStart = await sim.stats();
    const sources = await Promise.all(pages.map((p) => p.evaluate(async (c) => {
      await window.bench.keepRunning(c);
      return window.proxy.snapshot().source;
    }, tabConfig)));
    const verdicts = await sim.stats();
    if (tabs === 5) {
      const bySource = Object.entries(sources.reduce((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {})).map(([k, v]) => `${v} ${k}`).join(", ");
      row("8. five tabs at once", "leader probes until all 5 have a verdict", String(verdicts.leader.probes - atStart.leader.probes), `goal ≤ 2; verdict sources: ${bySource}; follower requests ${verdicts.follower.requests - atStart.follower.requests}`);
    }
    const before = await sim.stats();
    await sleep(TABS_SECONDS * 1000);
    const after = await sim.stats();
    const perMinute = (n) => ((n * 60) / TABS_SECONDS).toFixed(1);
    const section = tabs === 5 && !ONLY.includes(5) ? "8. five tabs at once" : "5. cost";
    row(section, `leader probes / min, ${tabs} tab${tabs > 1 ? "s" : ""}`, perMinute(after.leader.probes - before.leader.probes), `health.intervalMs 5000, ${TABS_SECONDS} s window${tabs === 5 ? "; goal: = 1 tab" : ""}`);
    row(section, `follower requests / min, ${tabs} tab${tabs > 1 ? "s" : ""}, leader healthy`, perMinute(after.follower.requests - before.follower.requests), "");
    await context.close();
  }

  // 6. a session with good probes behind it (start + 3 checkNow: the RTT bound of spec §8
  //    has its samples) meets a blackout: its first critical read, beside the cockatiel peer
  //    (breaker after 1 failure, 1.5 s aggressive timeout, follower fallback) with 3 good reads behind it.
  if (ONLY.includes(6)) {
    await sim.reset();
    const contexts = await Promise.all(Array.from({ length: PARALLEL }, () => browser.newContext()));
    const pages = await Promise.all(contexts.map(benchPage));
    const hp = [];
    const peer = [];
    let hpFailed = 0;
    let peerFailed = 0;
    let peerNotFollower = 0;
    const probeRtts = [];
    const slowReads = [];
    while (hp.length + hpFailed < READS) {
      await sim.leader("up");
      const warm = await Promise.all(pages.map((p) => p.evaluate(async (c) => [await window.bench.warmPrepare(c, 3), await window.bench.peerPrepare(c, 3)], config())));
      await sim.leader("blackout");
      const reads = await Promise.all(pages.map((p) => p.evaluate(() => window.bench.midSessionRead())));
      reads.forEach((r, i) => {
        r.ok ? hp.push(r.ms) : hpFailed++;
        probeRtts.push(warm[i][0].latencies);
        if (r.ms > 1000) slowReads.push(warm[i][0].latencies);
      });
      for (const r of await Promise.all(pages.map((p) => p.evaluate(() => window.bench.peerRead())))) {
        r.ok ? peer.push(r.ms) : peerFailed++;
        if (r.ok && r.servedBy !== "follower") peerNotFollower++;
      }
    }
    await sim.leader("up");
    await Promise.all(contexts.map((c) => c.close()));
    const S = "6. warm session, leader blacks out";
    row(S, "health-proxy, start + 3 checkNow()", `p50 ${ms(q(hp, 0.5))}`, `p99 ${ms(q(hp, 0.99))}; goal ≤ 600 ms; ${hp.length} served, ${hpFailed} failed`);
    const rtt = (xs) => xs.map((x) => x.toFixed(0)).join("/");
    const firsts = probeRtts.map((l) => l[0]);
    const rests = probeRtts.flatMap((l) => l.slice(1));
    row(S, "its 4 good probes (start, 3 checkNow)", `first p50 ${ms(q(firsts, 0.5))}`, `first p90 ${ms(q(firsts, 0.9))}, max ${ms(Math.max(...firsts))}; later ones p50 ${ms(q(rests, 0.5))}, max ${ms(Math.max(...rests))}`);
    row(S, "reads > 1 s (no early escape)", String(slowReads.length), slowReads.length ? `their probe RTTs (ms): ${slowReads.slice(0, 4).map(rtt).join("; ")}${slowReads.length > 4 ? "; …" : ""}` : "");
    row(S, "cockatiel peer: breaker(1) + 1.5 s timeout + follower fallback", `p50 ${ms(q(peer, 0.5))}`, `p99 ${ms(q(peer, 0.99))}; ${peer.length} served (${peerNotFollower} not by the follower), ${peerFailed} failed`);
    row(S, "peer ÷ health-proxy", `p50 ${(q(peer, 0.5) / q(hp, 0.5)).toFixed(2)}×`, `p99 ${(q(peer, 0.99) / q(hp, 0.99)).toFixed(2)}×; ${PARALLEL} pages at once per round`);
  }

  // 7. a healthy leader on a jittery link (hub-sim mode `jitter`: hiccups of 0.3–1.2 s that
  //    hold every request): critical reads every 150 ms from one page with a running proxy.
  if (ONLY.includes(7)) {
    await sim.reset();
    const context = await browser.newContext();
    const page = await benchPage(context);
    const warm = await page.evaluate((c) => window.bench.warmPrepare(c, 3), config());
    await sim.leader("jitter");
    const before = await sim.stats();
    const r = await page.evaluate(([every, secs]) => window.bench.readLoop(every, secs), [150, JITTER_SECONDS]);
    const after = await sim.stats();
    await sim.leader("up");
    await context.close();
    const S = "7. healthy leader, jittery link";
    // The escape point of spec §8 with a steady ~20 ms leader: raceAfterMs 250 + the bound's floor 250.
    const ESCAPE = 500;
    const hiccups = after.jitter.hiccupsMs;
    const long = hiccups.filter((h) => h > ESCAPE);
    const byFollower = r.reads.filter((x) => x.by === "follower");
    const failed = r.reads.filter((x) => x.by == null);
    const worst = r.reads.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0 });
    const followerRequests = after.follower.requests - before.follower.requests;
    // The escape point (raceAfterMs + the RFC 6298 bound) as the library computes it, over
    // the same good-probe round trips: before the hiccups, and after each probe in them.
    const points = [];
    let srtt = 0;
    let rttvar = 0;
    let n = 0;
    const addSample = (x) => {
      if (n === 0) [srtt, rttvar] = [x, x / 2];
      else [rttvar, srtt] = [0.75 * rttvar + 0.25 * Math.abs(srtt - x), 0.875 * srtt + 0.125 * x];
      n++;
      return 250 + (n < 3 ? 1500 : Math.ceil(Math.min(1500, Math.max(250, srtt + 4 * rttvar))));
    };
    warm.latencies.forEach(addSample);
    const startPoint = 250 + Math.ceil(Math.min(1500, Math.max(250, srtt + 4 * rttvar)));
    for (const p of r.probes) points.push(addSample(p.ms));
    // Follower-served reads grouped by hiccup (reads started within 1.5 s of each other).
    const groups = [];
    for (const x of byFollower.sort((a, b) => a.at - b.at)) {
      const g = groups.at(-1);
      if (g && x.at - g.at.at(-1) < 1500) g.at.push(x.at);
      else groups.push({ at: [x.at] });
    }
    row(S, "escape point (raceAfterMs + bound)", `${startPoint} ms at the start`, `after each good probe: ${points.join(", ")} ms (probe RTTs ${r.probes.map((p) => p.ms.toFixed(0)).join(", ")} ms); follower reads per hiccup: ${groups.map((g) => g.at.length).join(", ") || "—"}`);
    row(S, "state changes", String(r.changes.length), `must be 0${r.changes.length ? `: ${r.changes.map((c) => `${c.state} at ${(c.at / 1000).toFixed(1)} s`).join(", ")}` : ""}; state at the end ${r.state}`);
    row(S, "follower requests", String(followerRequests), `${byFollower.length} reads served by the follower of ${r.reads.length} (${((100 * followerRequests) / r.reads.length).toFixed(1)} per 100 reads; spec ≤ 1); goal ≤ ${long.length} (one per hiccup > ${ESCAPE} ms)`);
    row(S, "hiccups", `${hiccups.length} total, ${long.length} > ${ESCAPE} ms`, `${hiccups.join(", ")} ms; leader probes ${after.leader.probes - before.leader.probes}; ${JITTER_SECONDS} s, a read every 150 ms`);
    row(S, "worst read", ms(worst.ms), `served by the ${worst.by ?? "nobody"}; p50 ${ms(q(r.reads.map((x) => x.ms), 0.5))}, p99 ${ms(q(r.reads.map((x) => x.ms), 0.99))}; follower-served reads took ${byFollower.length ? `${ms(Math.min(...byFollower.map((x) => x.ms)))}–${ms(Math.max(...byFollower.map((x) => x.ms)))}` : "—"}; ${failed.length} failed`);
  }

  // 9. what users feel on a slow link: navigation → first critical read shown, first and
  //    repeat visits, the landing page (before and after) beside a cockatiel page, all three
  //    from an S3 + CloudFront stand-in (cdn.mjs), throttled by Chromium itself.
  if (ONLY.includes(9)) await slowLink();

  // 10. a reload into a blackout: the last page load (start + 3 checkNow) left a `leader`
  //     verdict with its RTT in localStorage; the leader then went dark; the new page's
  //     first critical read. "Before" is the same entry with its RTT taken out (what a
  //     cache without the RTT gave: the bound is health.timeoutMs without three samples).
  if (ONLY.includes(10)) {
    const S = "10. reload into a blackout, cached leader verdict";
    const reloadConfig = config({ cache: { storage: "local", key: "reload" } });
    for (const [label, withRtt] of [["first critical read, cache with RTT (this version)", true], ["the same, RTT taken out of the entry (before)", false]]) {
      const times = [];
      const origins = {};
      for (let i = 0; i < RELOADS; i++) {
        await sim.reset();
        const context = await browser.newContext();
        const before = await benchPage(context);
        await before.evaluate(async (c) => {
          await window.bench.warmPrepare(c, 3);
          window.proxy.stop();
        }, reloadConfig);
        await before.close();
        if (!withRtt) {
          const setup = await benchPage(context);
          await setup.evaluate(() => {
            const v = JSON.parse(localStorage.getItem("reload"));
            Object.assign(v, { srtt: 0, rttvar: 0, rttSamples: 0 });
            localStorage.setItem("reload", JSON.stringify(v));
          });
          await setup.close();
        }
        await sim.leader("blackout");
        const page = await benchPage(context);
        const r = await page.evaluate((c) => window.bench.firstRead(c), reloadConfig);
        times.push(r.served);
        origins[`${r.origin} (verdict from ${r.source})`] = (origins[`${r.origin} (verdict from ${r.source})`] ?? 0) + 1;
        await context.close();
      }
      const by = Object.entries(origins).map(([k, v]) => `${v} by the ${k}`).join(", ");
      row(S, label, `p50 ${ms(q(times, 0.5))}`, `max ${ms(Math.max(...times))}; ${withRtt ? "goal ≤ 600 ms; " : ""}${RELOADS} reloads: ${by}`);
    }
    await sim.leader("up");
  }

  // 12. the replica: real parts, the shipped sweep (60 s).
  if (ONLY.includes(12)) await replicaBench(row, q);
} finally {
  await browser.close();
  sim.stop();
}

for (const line of notes) console.log(line);
console.log(`\nhealth-proxy benchmark — added delay ${DELAY} ms per response on the leader and the follower, ${READS} reads per fault`);
console.table(rows);

/**
 * 9. The landing page from a host that behaves like S3 behind CloudFront (cdn.mjs), beside
 * a bare page reading through the cockatiel breaker, on a link Chromium throttles:
 * "before", the package uploaded as the README once said (plain files, the wasm
 * uncompressed, everything revalidated), and "after", target/site as build-site.mjs makes
 * it and deploy/site/upload.sh stores it (hashed package files from their brotli
 * copies, immutable; the page and config.json revalidated). First visit (new context) and
 * repeat visit (the same context, navigated again), leader up and blacked out; and the
 * follower reads one page view in an outage costs. With the Angular example app built
 * (tools/angular-build.sh), that app too, stored as deploy/angular/upload.sh
 * stores it (hashed bundles and media/ immutable, the wasm gzipped), first and repeat.
 */
async function slowLink() {
  const P2 = ports(18310);
  const CDN_PORT = 18315;
  const dir = await mkdtemp(join(tmpdir(), "hp-bench-site-"));
  let sim2;
  let cdn;
  try {
    const shipped = JSON.parse(await readFile(`${ROOT}www/config.json`, "utf8"));
    const siteConfig = Buffer.from(JSON.stringify({ ...shipped, leader: `http://127.0.0.1:${P2.leader}`, follower: `http://127.0.0.1:${P2.follower}` }, null, 2));
    const objects = new Map();
    const typeOf = (name) => TYPES[name.split(".").pop()] ?? "application/octet-stream";
    const put = (key, body, meta = {}) => objects.set(key, { body, type: typeOf(key), cacheControl: "no-cache", ...meta });
    // before: www/ and pkg/ as they are, no encoding stored, no lifetime (revalidated).
    const wwwBefore = WWW_BEFORE ?? `${ROOT}www`;
    for (const f of ["index.html", "app.js", "style.css"]) put(`before/${f}`, await readFile(`${wwwBefore}/${f}`));
    for (const f of ["load.js", "health_proxy.js", "health_proxy_bg.wasm"]) put(`before/pkg/${f}`, await readFile(`${PKG}/${f}`));
    put("before/config.json", siteConfig);
    // after: the built site; each hashed package file from its .br copy, immutable.
    const built = buildSite({ pkg: PKG, out: join(dir, "site") });
    const hashedNames = new Set(Object.values(built.hashed).map((n) => `pkg/${n}`));
    for (const f of await walk(built.out)) {
      const key = f.slice(built.out.length + 1);
      if (/\.(gz|br)$/.test(key)) continue;
      if (hashedNames.has(key)) put(`after/${key}`, await readFile(`${f}.br`), { encoding: "br", cacheControl: "public, max-age=31536000, immutable" });
      else put(`after/${key}`, await readFile(f));
    }
    put("after/config.json", siteConfig);
    // the cockatiel page: its files revalidated, compressed by the edge like any JS.
    for (const f of ["peer.html", "peer-app.js", "peer.js", "vendor/cockatiel.js"]) put(`peer/${f}`, await readFile(`${ROOT}tests/e2e/bench/${f}`));
    put("peer/config.json", siteConfig);
    // the Angular example app at the root (its <base href="/">), as angular/upload.sh stores it.
    const NG = `${ROOT}tests/angular/dist/hub/browser`;
    const angular = existsSync(`${NG}/index.html`);
    if (angular) {
      for (const f of await walk(NG)) {
        const key = f.slice(NG.length + 1);
        const year = { cacheControl: "public, max-age=31536000, immutable" };
        if (key.endsWith(".wasm")) put(key, gzipSync(await readFile(f), { level: 9 }), { ...year, encoding: "gzip" });
        else put(key, await readFile(f), /\.(js|css)$|^media\//.test(key) ? year : {});
      }
      const ng = JSON.parse(await readFile(`${NG}/config.json`, "utf8"));
      put("config.json", Buffer.from(JSON.stringify({ ...ng, leader: `http://127.0.0.1:${P2.leader}`, follower: `http://127.0.0.1:${P2.follower}` })));
    } else notes.push("\n9.: the Angular example app is not built (tools/angular-build.sh): its rows are left out.");
    cdn = await startCdn(CDN_PORT, objects);
    sim2 = await startSim(P2, ["--delay-ms", String(DELAY), "--www", `${ROOT}tests/e2e/bench`, "--pkg", PKG]);

    const S = "9. slow link: nav → read shown";
    const SITES = { before: "landing page, before (wasm plain, revalidated)", after: "landing page, after (target/site: brotli, hashed, immutable)", peer: "cockatiel page", angular: "Angular example app (hashed, immutable, wasm gzipped)" };
    const PATHS = { before: "/before/index.html", after: "/after/index.html", peer: "/peer/peer.html", angular: "/" };
    const SHOWN = { angular: "#pages li" };
    const pages = ["before", "after", "peer", ...(angular ? ["angular"] : [])];
    const med = {};
    for (const mode of ["up", "blackout"]) {
      await sim2.leader(mode);
      for (const site of pages) {
        const runs = [];
        for (let i = 0; i < 3; i++) {
          runs.push(await visits(`http://127.0.0.1:${CDN_PORT}${PATHS[site]}`, P2, SHOWN[site]).catch((e) => {
            throw new Error(`9.: ${SITES[site]}, leader ${mode}, run ${i + 1}: ${e.message}`);
          }));
        }
        const median = (k) => [...runs].sort((a, b) => a[k].shown - b[k].shown)[1][k];
        const first = median("first");
        const repeat = median("repeat");
        med[`${site} ${mode}`] = { first, repeat };
        const wire = (v) => v.resources.reduce((a, e) => a + e.transfer, 0);
        row(S, `${SITES[site]}, leader ${mode}`, `first ${ms(first.shown)}, repeat ${ms(repeat.shown)}`,
          `first ${runs.map((r) => r.first.shown.toFixed(0)).join("/")} ms, ${wire(first)} B on the wire; repeat ${runs.map((r) => r.repeat.shown.toFixed(0)).join("/")} ms, ${wire(repeat)} B`);
        if (mode === "up" && site !== "peer") {
          for (const [label, v] of [["first", first], ["repeat", repeat]]) {
            notes.push(`\nwaterfall (${site}, leader up, ${label} visit, median run; ms after navigation start, start→end, bytes on the wire / decoded):`);
            notes.push(`  ${"document".padEnd(40)} ${ms(0)}→${ms(v.doc)}`);
            for (const e of v.resources) notes.push(`  ${e.name.padEnd(40)} ${ms(e.start)}→${ms(e.end)}  ${e.transfer ? `${e.transfer} / ${e.decoded} B` : "cache"}`);
            notes.push(`  ${"first critical read shown".padEnd(40)} ${ms(v.shown)}`);
          }
        }
      }
      await sim2.leader("up");
    }
    for (const mode of ["up", "blackout"]) {
      const peer = med[`peer ${mode}`];
      for (const site of pages.filter((x) => x !== "peer")) {
        const m = med[`${site} ${mode}`];
        const f = m.first.shown / peer.first.shown;
        const r = m.repeat.shown / peer.repeat.shown;
        const goal = mode === "up" && site === "after" ? `; goals ≤ 2.0× first (${f <= 2 ? "met" : "not met"}), ≤ 1.1× repeat (${r <= 1.1 ? "met" : "not met"})` : "";
        row(S, `${site} ÷ cockatiel, leader ${mode}`, `first ${f.toFixed(2)}×, repeat ${r.toFixed(2)}×`, goal.slice(2));
      }
    }
    // One page view in an outage: the follower reads it costs, per path. A first visit,
    // and a reload of a page that had the leader (its verdict cached in localStorage).
    for (const site of ["before", "after"]) {
      for (const cached of [false, true]) {
        const n = await outageView(`http://127.0.0.1:${CDN_PORT}${PATHS[site]}`, sim2, cached);
        row(S, `follower reads, one outage page view (${site}, ${cached ? "reload, cached leader verdict" : "first visit"})`, `/api/pages ${n["/api/pages"]}, /api/files ${n["/api/files"]}`, "goal: each path once; the view lasts until emergency mode + 3 s");
      }
    }
    const wasm = (await readFile(`${PKG}/health_proxy_bg.wasm`)).length;
    const br = await encoded("health_proxy_bg.wasm", "br");
    const at = (b) => ms((b / SLOW.downloadThroughput) * 1000);
    row(S, "the .wasm on that link", `${br} B (brotli) after`, `${wasm} B before: ${at(wasm)} of transfer, brotli ${at(br)}`);
  } finally {
    sim2?.stop();
    await cdn?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function walk(d) {
  const out = [];
  for (const e of await readdir(d, { withFileTypes: true })) out.push(...(e.isDirectory() ? await walk(join(d, e.name)) : [join(d, e.name)]));
  return out;
}

/** A fresh context on the throttled link: the first visit, then a repeat visit (navigated again). */
async function visits(url, p, selector) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", SLOW);
    const first = await visit(page, url, p, selector);
    const repeat = await visit(page, url, p, selector);
    return { first, repeat };
  } finally {
    await context.close();
  }
}

/** One navigation: when the first critical read was shown, and the waterfall. */
async function visit(page, url, p, selector = "#pages strong") {
  await page.goto(url, { waitUntil: "commit" });
  // Polled every frame: the time of the first frame that has the list.
  const handle = await page.waitForFunction((sel) => (document.querySelector(sel) ? performance.now() : false), selector, { polling: "raf", timeout: 30000 });
  const shown = await handle.jsonValue();
  const t = await page.evaluate(() => ({
    doc: performance.getEntriesByType("navigation")[0].responseEnd,
    resources: performance.getEntriesByType("resource").map((e) => ({ url: e.name, start: e.startTime, end: e.responseEnd, transfer: e.transferSize, decoded: e.decodedBodySize })),
  }));
  const who = (u) => (u.includes(`:${p.leader}/`) ? "leader" : u.includes(`:${p.follower}/`) ? "follower" : "page");
  const resources = t.resources.map((e) => ({ ...e, name: `${who(e.url) === "page" ? "" : `${who(e.url)} `}${new URL(e.url).pathname}` }));
  return { shown, doc: t.doc, resources };
}

/**
 * One page view while the leader is dark, on the throttled link, until emergency mode and
 * 3 s more; with `cached`, a reload after a visit that found the leader. The follower's
 * reads by path during that view.
 */
async function outageView(url, sim, cached) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", SLOW);
    await sim.leader("up");
    if (cached) {
      await page.goto(url);
      await page.waitForFunction(() => document.body.dataset.state === "leader" && document.querySelector("#files strong"), null, { timeout: 30000 });
    }
    await sim.leader("blackout");
    const before = await sim.stats();
    await (cached ? page.reload() : page.goto(url));
    await page.waitForFunction(() => document.body.dataset.state === "emergency" && document.querySelector("#pages strong") && document.querySelector("#files strong"), null, { timeout: 30000 });
    await sleep(3000);
    const after = await sim.stats();
    return Object.fromEntries(["/api/pages", "/api/files"].map((p) => [p, (after.follower.byPath[p] ?? 0) - (before.follower.byPath[p] ?? 0)]));
  } finally {
    await sim.leader("up");
    await context.close();
  }
}
