// The benchmark page: loads the package and exposes measurements to tests/e2e/bench.mjs.
import init, { HealthProxy } from "/pkg/health_proxy.js";
import { breakerRead } from "./peer.js";

const wasmReady = { done: false };

/** A plain-JavaScript implementation of the same routing rules, for comparison. */
export function makePlainResolver(config) {
  const trim = (u) => u.replace(/\/+$/, "");
  const leader = trim(config.leader);
  const follower = trim(config.follower);
  const routes = (config.routes ?? [])
    .map((r) => ({ prefix: r.prefix === "/" ? "/" : trim(r.prefix), critical: r.critical }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  const dotDot = /(^|\/)(\.|%2e){2}(\/|$)/i;
  return function resolve(state, input, method = "GET") {
    let rel;
    if (input.startsWith("/")) rel = input;
    else {
      const base = [leader, follower].find((b) => input.toLowerCase().startsWith(b) && /^($|[/?#])/.test(input.slice(b.length)));
      if (!base) throw new Error("INVALID_PATH");
      rel = input.slice(base.length);
      if (!rel.startsWith("/")) rel = "/" + rel;
    }
    if (rel.startsWith("//") || rel.includes("\\") || /[\u0000-\u001f\u007f-\u009f]/.test(rel)) throw new Error("INVALID_PATH");
    const end = rel.search(/[?#]/);
    const path = end < 0 ? rel : rel.slice(0, end);
    if (dotDot.test(path)) throw new Error("INVALID_PATH");
    const read = method === "GET" || method === "HEAD";
    const route = routes.find((r) => r.prefix === "/" || path === r.prefix || path.startsWith(r.prefix + "/"));
    const critical = route ? route.critical : Boolean(config.defaultCritical);
    if (state === "leader") return leader + rel;
    if (state === "emergency" && read && critical) return follower + rel;
    throw new Error(state === "offline" ? "OFFLINE" : state === "unknown" ? "NOT_READY" : read ? "FEATURE_UNAVAILABLE" : "LEADER_UNAVAILABLE");
  };
}

async function ensureWasm() {
  if (!wasmReady.done) {
    await init();
    wasmReady.done = true;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

window.bench = {
  /** ns per call of proxy.resolve and of the plain-JS resolver: medians over batches. */
  async resolveCost(config, batches = 60, perBatch = 20000) {
    await ensureWasm();
    const proxy = new HealthProxy(config);
    await proxy.start();
    const plain = makePlainResolver(config);
    const inputs = ["/api/pages/7?lang=en", "/api/files", "/api/hub/links", "/api/notes"];
    for (const i of inputs) {
      if (proxy.resolve(i) !== plain(proxy.state, i)) throw new Error(`the two resolvers disagree on ${i}`);
    }
    // Distinct strings defeat the memo: every call copies its string across the boundary.
    const distinct = Array.from({ length: perBatch }, (_, n) => `/api/pages/${n}?lang=en`);
    let sink = 0;
    const wasmNs = [];
    const wasmDistinctNs = [];
    const wasmDistinctGetNs = [];
    const jsNs = [];
    const jsDistinctNs = [];
    for (let b = 0; b < batches; b++) {
      let t = performance.now();
      for (let n = 0; n < perBatch; n++) sink += proxy.resolve(inputs[n & 3]).length;
      wasmNs.push(((performance.now() - t) * 1e6) / perBatch);
      t = performance.now();
      for (let n = 0; n < perBatch; n++) sink += proxy.resolve(distinct[n]).length;
      wasmDistinctNs.push(((performance.now() - t) * 1e6) / perBatch);
      t = performance.now();
      for (let n = 0; n < perBatch; n++) sink += proxy.resolve(distinct[n], "GET").length;
      wasmDistinctGetNs.push(((performance.now() - t) * 1e6) / perBatch);
      const state = proxy.state;
      t = performance.now();
      for (let n = 0; n < perBatch; n++) sink += plain(state, inputs[n & 3]).length;
      jsNs.push(((performance.now() - t) * 1e6) / perBatch);
      t = performance.now();
      for (let n = 0; n < perBatch; n++) sink += plain(state, distinct[n]).length;
      jsDistinctNs.push(((performance.now() - t) * 1e6) / perBatch);
    }
    proxy.stop();
    proxy.free();
    return { wasm: median(wasmNs), wasmDistinct: median(wasmDistinctNs), wasmDistinctGet: median(wasmDistinctGetNs), js: median(jsNs), jsDistinct: median(jsDistinctNs), sink };
  },

  /**
   * Mean ms per critical read (body included) on a healthy leader: a plain `fetch`, then
   * `proxy.fetch` and the cockatiel peer, interleaved so that load hits all three alike.
   */
  async fetchCost(config, reads = 200) {
    await ensureWasm();
    const proxy = new HealthProxy(config);
    await proxy.start();
    const peer = breakerRead(config, "/api/pages");
    const url = `${config.leader.replace(/\/+$/, "")}/api/pages`;
    const runs = {
      plain: async () => (await fetch(url, { cache: "no-store" })).json(),
      proxy: async () => (await proxy.fetch("/api/pages", { cache: "no-store" })).json(),
      peer: () => peer(),
    };
    const sum = { plain: 0, proxy: 0, peer: 0 };
    for (const run of Object.values(runs)) await run(); // connections open, code warm
    for (let i = 0; i < reads; i++) {
      for (const [name, run] of Object.entries(runs)) {
        const t = performance.now();
        await run();
        sum[name] += performance.now() - t;
      }
    }
    proxy.stop();
    proxy.free();
    return Object.fromEntries(Object.entries(sum).map(([name, ms]) => [name, ms / reads]));
  },

  /** init() → the first critical read: when it was sent and when it was served. */
  async firstRead(config) {
    const t0 = performance.now();
    await ensureWasm();
    const proxy = new HealthProxy(config);
    const started = proxy.start();
    const res = await proxy.fetch("/api/pages");
    const served = performance.now() - t0;
    await res.json();
    const snap = await started;
    // Resource timings are on the same clock as performance.now().
    const entry = performance.getEntriesByType("resource").find((e) => e.name.includes("/api/pages"));
    proxy.stop();
    return {
      sent: entry ? entry.startTime - t0 : null,
      served,
      origin: res.url.startsWith(config.follower.replace(/\/+$/, "") + "/") ? "follower" : "leader",
      source: snap.source,
    };
  },

  /** A proxy started with the leader up, kept for one mid-session read. */
  async prepare(config) {
    await ensureWasm();
    window.proxy = new HealthProxy(config);
    const snap = await window.proxy.start();
    return snap.state;
  },

  /** As `prepare`, then `checks` more good probes: the RTT estimate has its samples (spec §8). */
  async warmPrepare(config, checks) {
    await ensureWasm();
    window.proxy = new HealthProxy(config);
    const latencies = [(await window.proxy.start()).leaderLatencyMs];
    for (let i = 0; i < checks; i++) latencies.push((await window.proxy.checkNow()).leaderLatencyMs);
    return { state: window.proxy.state, latencies };
  },

  /** The cockatiel peer (peer.js) with `goodReads` answered reads behind it (breaker closed). */
  async peerPrepare(config, goodReads) {
    window.peer = breakerRead(config, "/api/pages");
    let last;
    for (let i = 0; i < goodReads; i++) last = await window.peer();
    return last?.servedBy;
  },

  async peerRead() {
    const t0 = performance.now();
    try {
      const body = await window.peer();
      return { ms: performance.now() - t0, ok: true, servedBy: body.servedBy };
    } catch (e) {
      return { ms: performance.now() - t0, ok: false, code: e.name };
    }
  },

  /**
   * Critical reads every `everyMs` for `seconds` from a running proxy: each read's time and
   * origin, and the state changes seen meanwhile.
   */
  async readLoop(everyMs, seconds) {
    const proxy = window.proxy;
    const changes = [];
    const off = proxy.onChange((s) => changes.push({ state: s.state, at: performance.now() }));
    const reads = [];
    const pending = [];
    // Every good probe's round trip, in order (the samples of the §8 bound).
    const probes = [];
    let lastChecked = proxy.snapshot().checkedAt;
    const sampleProbe = () => {
      const snap = proxy.snapshot();
      if (snap.checkedAt !== lastChecked && snap.leaderLatencyMs != null) probes.push({ at: performance.now(), ms: snap.leaderLatencyMs });
      lastChecked = snap.checkedAt;
    };
    const probeWatch = setInterval(sampleProbe, 10);
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const t0 = performance.now();
      pending.push(proxy.fetch("/api/pages").then(async (res) => {
        const body = await res.json();
        reads.push({ at: t0, ms: performance.now() - t0, by: body.servedBy });
      }, (e) => reads.push({ at: t0, ms: performance.now() - t0, by: null, code: e.code ?? e.name })));
      await new Promise((r) => setTimeout(r, everyMs));
    }
    await Promise.all(pending);
    clearInterval(probeWatch);
    off();
    return { reads, changes, probes, state: proxy.state };
  },

  async midSessionRead() {
    const t0 = performance.now();
    try {
      const res = await window.proxy.fetch("/api/pages");
      await res.json();
      return { ms: performance.now() - t0, ok: res.ok };
    } catch (e) {
      return { ms: performance.now() - t0, ok: false, code: e.code ?? e.name };
    } finally {
      window.proxy.stop();
      window.proxy.free();
    }
  },

  /** A read sent straight to a healthy origin, for comparison. */
  async directRead(url) {
    const t0 = performance.now();
    const res = await fetch(url, { cache: "no-store" });
    await res.json();
    return performance.now() - t0;
  },

  /** A tab that keeps a proxy running, as the landing page does. */
  async keepRunning(config) {
    await ensureWasm();
    window.proxy = new HealthProxy(config);
    await window.proxy.start();
    return window.proxy.state;
  },
};
document.getElementById("ready").textContent = "ready";
