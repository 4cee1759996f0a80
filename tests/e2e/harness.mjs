// Shared by the end-to-end tests: starts hub-sim on its own ports, launches the system
// Chromium through playwright-core, and talks to the simulator's control API.
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

export const ROOT = new URL("../../", import.meta.url).pathname;

export function ports(base) {
  return { page: base, leader: base + 1, follower: base + 2, control: base + 3 };
}

/** Starts target/release/hub-sim (built by the test command) and waits for "ready". */
export async function startSim(p, extra = []) {
  const args = ["--page-port", p.page, "--leader-port", p.leader, "--follower-port", p.follower,
    "--control-port", p.control, "--www", `${ROOT}www`, "--pkg", `${ROOT}pkg`, "--quiet", ...extra].map(String);
  const child = spawn(`${ROOT}target/release/hub-sim`, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub-sim did not start: ${out}`)), 10000);
    child.stdout.on("data", (d) => {
      out += d;
      if (/^ready$/m.test(out)) { clearTimeout(timer); resolve(); }
    });
    child.stderr.on("data", (d) => { out += d; });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`hub-sim exited ${code}: ${out}`)); });
  });
  child.removeAllListeners("exit");
  const control = `http://127.0.0.1:${p.control}`;
  const call = async (path) => {
    const res = await fetch(`${control}${path}`, { method: "POST" });
    if (!res.ok) throw new Error(`control ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    leader: (mode) => call(`/leader/${mode}`),
    follower: (mode) => call(`/follower/${mode}`),
    reset: () => call("/reset"),
    delay: (ms) => call(`/delay/${ms}`),
    stats: async () => (await fetch(`${control}/stats`, { cache: "no-store" })).json(),
    notes: async () => (await (await fetch(`http://127.0.0.1:${p.leader}/api/notes`)).json()).notes,
    stop: () => child.kill("SIGTERM"),
  };
}

/** `options` are playwright's launch options (e.g. `ignoreDefaultArgs`). */
export function launch(options = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"],
    ...options,
  });
}

/**
 * What every suite's config shares with www/config.json: its routes to the API, its files
 * route and its writes and cache settings. Each call returns fresh objects.
 * `files`: the files route's own bases, where a suite serves the files from elsewhere.
 */
export const apiRoutes = () => [
  { prefix: "/api/pages", critical: true },
  { prefix: "/api/files", critical: true },
  { prefix: "/api/hub", critical: false },
  { prefix: "/api/notes", critical: false },
];
export const pageRoutes = (files = {}) => [...apiRoutes(), { prefix: "/files", critical: true, ...files }];
/** docs/angular/public/config.json's routes: /api/notes has no route of its own, it is under apiPrefixes ['/api']. */
export const angularRoutes = () => apiRoutes().filter((r) => r.prefix !== "/api/notes");
export const pageSettings = () => ({
  writes: { idempotencyKey: "Idempotency-Key" },
  cache: { storage: "local", key: "acme-hub-verdict", ttlMs: 30000 },
});

/** The config the page gets instead of www/config.json: the test's ports, fast timers. */
export function chaosConfig(p, overrides = {}) {
  return {
    leader: `http://127.0.0.1:${p.leader}`,
    follower: `http://127.0.0.1:${p.follower}`,
    health: { timeoutMs: 500, intervalMs: 1000, maxBackoffMs: 2000, expect: "\"status\":\"ok\"" },
    requestTimeoutMs: 1500,
    routes: apiRoutes(),
    // Flap damping at the shortest half-life: timers here run ~3× faster than the page's,
    // and the chaos timeline's faults 5–6 s apart are separate outages, not one flap (the
    // damping has its own tests; at 30 s, two of them would hold the page off the leader).
    hysteresis: { successesToUp: 2, halfLifeMs: 1000 },
    ...pageSettings(),
    ...overrides,
  };
}

export async function serveConfig(target, config) {
  await target.route("**/config.json", (route) => route.fulfill({ json: config }));
}

/** Files of the built site for pages served from an origin the test makes up. */
export async function siteFile(urlPath) {
  const path = urlPath.startsWith("/pkg/") ? `${ROOT}${urlPath.slice(1)}` : `${ROOT}www${urlPath === "/" ? "/index.html" : urlPath}`;
  const types = { html: "text/html", js: "text/javascript", css: "text/css", wasm: "application/wasm", json: "application/json" };
  return { body: await readFile(path), contentType: types[path.split(".").pop()] ?? "application/octet-stream" };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until something accepts TCP connections on `port` (or stops accepting, with `open = false`),
 * at `where.host`, tried from the host `where.exec` runs on (bash's /dev/tcp) when given.
 */
export async function waitPort(port, open = true, ms = 15000, where = {}) {
  const { host = "127.0.0.1", exec = [] } = where;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = exec.length ? await new Promise((resolve) => {
      const probe = spawn(exec[0], [...exec.slice(1), "timeout", "1", "bash", "-c", `exec 3<>/dev/tcp/${host}/${port}`], { stdio: "ignore" });
      probe.once("exit", (code) => resolve(code === 0));
      probe.once("error", () => resolve(false));
    }) : await new Promise((resolve) => {
      const s = connect(port, host);
      s.once("connect", () => { s.destroy(); resolve(true); });
      s.once("error", () => resolve(false));
      s.setTimeout(300, () => { s.destroy(); resolve(true); }); // a frozen listener still accepts
    });
    if (ok === open) return;
    await sleep(50);
  }
  throw new Error(`port ${port} did not ${open ? "open" : "close"} within ${ms} ms`);
}
