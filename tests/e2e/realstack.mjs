// The real stack for realstack.test.mjs: NGINX (Debian) in front of Flask under gunicorn
// as the leader, each run in the foreground from a temp dir and stopped by PID; an API
// Gateway + Lambda stand-in as the follower; an "S3 bucket" for the files' AWS copy; and
// the landing page on a static origin that sends the README's CSP. Ports 18500–18599.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { connect } from "node:net";
import { chmod, mkdtemp, mkdir, readFile, writeFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, extname } from "node:path";
import { ROOT, sleep } from "./harness.mjs";
import { handler as lambda } from "../realstack/lambda.mjs";

const HOST = "127.0.0.1";
export const PORTS = { page: 18500, leader: 18501, store: 18502, app: 18503, follower: 18510, bucket: 18511 };
export const ORIGIN = Object.fromEntries(Object.entries(PORTS).map(([k, p]) => [k, `http://${HOST}:${p}`]));
export const FOLLOWER_BASE = `${ORIGIN.follower}/prod`;
const RS = `${ROOT}tests/realstack`;
const VENV = process.env.REALSTACK_VENV ?? `${ROOT}target/venv`;

// Shared files: the same bytes in the leader's store and in the AWS bucket.
export const FILES = {
  "handbook.pdf": Buffer.from("%PDF-1.4\n% Acme handbook\n" + "x".repeat(3000) + "\n%%EOF\n"),
  "holiday-calendar.ics": Buffer.from("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n"),
};
const PAGES = [
  { id: 1, title: "Welcome", body: "Start here: who we are and where things live." },
  { id: 2, title: "Expenses", body: "Submit receipts within 30 days through the hub." },
  { id: 3, title: "How to report an outage", body: "Post in #incidents and page the on-call engineer." },
];

/** The README's CSP with this run's leader and follower; `follower` may be given as-is to test the trap. */
export function csp(follower = ORIGIN.follower, leader = ORIGIN.leader) {
  return `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ${leader} ${follower}; img-src 'self' data:; style-src 'self'`;
}

/**
 * Makes the temp dir: files for both stores, the replica, the rendered NGINX configs.
 * The leader runs on loopback unless `host` (its address, NGINX listens there) and `exec`
 * (the command prefix that runs a process on that host, e.g. `ip netns exec NAME`) say otherwise.
 */
export async function prepare({ host = HOST, exec = [] } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "hp-realstack-"));
  await chmod(dir, 0o755); // NGINX's workers run as an unprivileged user and read the files
  for (const d of ["files", "bucket/files", "tmp"]) await mkdir(join(dir, d), { recursive: true });
  for (const [name, bytes] of Object.entries(FILES)) {
    await writeFile(join(dir, "files", name), bytes);
    await writeFile(join(dir, "bucket/files", name), bytes);
  }
  const files = Object.entries(FILES).map(([name, b]) => ({ name, size: b.length }));
  await writeFile(join(dir, "replica.json"), JSON.stringify({ pages: PAGES, files }));
  const vars = {
    PREFIX: dir, PAGE_ORIGIN: ORIGIN.page, APP_ADDR: `${HOST}:${PORTS.app}`,
    LEADER_ADDR: `${host}:${PORTS.leader}`, STORE_ADDR: `${host}:${PORTS.store}`, FILES_DIR: join(dir, "files"),
  };
  for (const name of ["nginx", "captive"]) {
    const text = (await readFile(`${RS}/${name}.conf.template`, "utf8")).replace(/\{\{(\w+)\}\}/g, (_, k) => {
      if (!(k in vars)) throw new Error(`${name}.conf.template: unknown {{${k}}}`);
      return vars[k];
    });
    await writeFile(join(dir, `${name}.conf`), text);
  }
  return { dir, host, exec, notesLog: join(dir, "notes.jsonl"), accessLog: join(dir, "access.log"), remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Waits until something accepts TCP connections on `port` (or stops accepting, with `open = false`),
 * at `where.host`, tried from the host `where.exec` runs on (bash's /dev/tcp) when given.
 */
export async function waitPort(port, open = true, ms = 15000, where = {}) {
  const { host = HOST, exec = [] } = where;
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

/**
 * A process in its own process group, so that signals reach its workers too (gunicorn's
 * and NGINX's). `stop()` waits for the whole group to be gone. `where` is waitPort's.
 */
function group(cmd, args, opts, port, where = {}) {
  const exec = where.exec ?? [];
  const child = spawn(exec[0] ?? cmd, [...exec.slice(1), ...(exec.length ? [cmd] : []), ...args], { ...opts, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => { out = (out + d).slice(-4000); });
  child.stderr.on("data", (d) => { out = (out + d).slice(-4000); });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const signal = (sig) => { try { process.kill(-child.pid, sig); } catch { /* already gone */ } };
  return {
    pid: child.pid,
    output: () => out,
    async ready() {
      await Promise.race([waitPort(port, true, 15000, where), exited.then((c) => { throw new Error(`${cmd} exited ${c}: ${out}`); })]);
    },
    freeze: () => signal("SIGSTOP"),
    thaw: () => signal("SIGCONT"),
    async stop(sig = "SIGTERM") {
      signal("SIGCONT");
      signal(sig);
      await exited;
      await waitPort(port, false, 15000, where);
    },
  };
}

/** gunicorn with the recipe's config, serving tests/realstack/app.py. `env` adds e.g. FLASK_DEBUG. */
export async function startApp(stack, env = {}) {
  const g = group(`${VENV}/bin/gunicorn`, ["-c", `${RS}/gunicorn.conf.py`, "--chdir", RS, "app:app"], {
    env: { ...process.env, GUNICORN_BIND: `${HOST}:${PORTS.app}`, GUNICORN_ACCESS_LOG: join(stack.dir, "gunicorn.log"),
      NOTES_LOG: stack.notesLog, FILES_DIR: join(stack.dir, "files"), ...env },
  }, PORTS.app, { exec: stack.exec });
  await g.ready();
  return g;
}

/** NGINX in the foreground with the rendered config (`nginx` or `captive`). */
export async function startNginx(stack, name = "nginx") {
  const g = group(process.env.NGINX ?? "/usr/sbin/nginx", ["-p", stack.dir, "-c", join(stack.dir, `${name}.conf`), "-e", join(stack.dir, `${name}-start.log`), "-g", "daemon off;"], {}, PORTS.leader, { host: stack.host, exec: stack.exec });
  await g.ready();
  return g;
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, HOST, () => { server.off("error", reject); resolve(); });
  });
}

function closer(server) {
  return () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); });
}

/**
 * The follower as API Gateway (REST API, stage "prod") + the Lambda recipe, and the files'
 * AWS copy as an S3 bucket. Gateway behaviour kept: its CORS OPTIONS mock, and its own
 * 403 for a method no resource defines, with CORS added by gateway responses.
 */
export async function startFollower(stack, stats = { reads: 0, health: 0, writes: 0, preflightReads: 0, preflightWrites: 0, downloads: [] }) {
  process.env.ALLOW_ORIGIN = ORIGIN.page;
  process.env.REPLICA_FILE = join(stack.dir, "replica.json");
  const cors = { "Access-Control-Allow-Origin": ORIGIN.page, Vary: "Origin" };
  const api = createServer(async (req, res) => {
    const url = new URL(req.url, ORIGIN.follower);
    const send = (status, headers, body) => { res.writeHead(status, headers); res.end(body); };
    if (!url.pathname.startsWith("/prod/")) return send(403, { ...cors, "Content-Type": "application/json" }, '{"message":"Forbidden"}');
    if (req.method === "OPTIONS") {
      const asked = String(req.headers["access-control-request-method"] ?? "").toUpperCase();
      if (asked === "GET" || asked === "HEAD") stats.preflightReads++;
      else stats.preflightWrites++;
      return send(200, { ...cors, "Access-Control-Allow-Methods": "GET,HEAD,OPTIONS", "Access-Control-Allow-Headers": "content-type" }, "");
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      stats.writes++;
      return send(403, { ...cors, "Content-Type": "application/json" }, '{"message":"Missing Authentication Token"}');
    }
    const path = url.pathname.slice("/prod".length);
    if (path === "/health") stats.health++;
    else stats.reads++;
    const r = await lambda({ httpMethod: req.method, path, headers: req.headers, queryStringParameters: Object.fromEntries(url.searchParams) });
    send(r.statusCode, r.headers, req.method === "HEAD" ? "" : r.body);
  });
  const bucket = createServer(async (req, res) => {
    const key = decodeURIComponent(new URL(req.url, ORIGIN.bucket).pathname.slice(1));
    stats.downloads.push(key);
    try {
      if (!key.startsWith("files/") || key.includes("..")) throw new Error("no such key");
      const body = await readFile(join(stack.dir, "bucket", key));
      // S3 serves the object's stored Content-Disposition metadata (set at upload).
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Disposition": "attachment", "Content-Length": body.length });
      res.end(body);
    } catch {
      res.writeHead(404, { "Content-Type": "application/xml" });
      res.end("<Error><Code>NoSuchKey</Code></Error>");
    }
  });
  await listen(api, PORTS.follower);
  await listen(bucket, PORTS.bucket);
  const stopApi = closer(api);
  const stopBucket = closer(bucket);
  return { stats, stop: () => Promise.all([stopApi(), stopBucket()]) };
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };

/** The landing page as S3 + CloudFront would serve it: www/ + pkg/, config.json, the CSP header. */
export async function startPage(config, policy = csp()) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, ORIGIN.page).pathname;
    try {
      let body;
      if (path === "/config.json") body = Buffer.from(JSON.stringify(config));
      else if (path.includes("..")) throw new Error("no");
      else if (path.startsWith("/pkg/")) body = await readFile(`${ROOT}${path.slice(1)}`);
      else body = await readFile(`${ROOT}www${path === "/" ? "/index.html" : path}`);
      const type = TYPES[extname(path === "/" ? "/index.html" : path)] ?? "application/octet-stream";
      res.writeHead(200, { "Content-Type": type, "Content-Security-Policy": policy, "Cache-Control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found");
    }
  });
  await listen(server, PORTS.page);
  return { stop: closer(server) };
}

/** The leader's access log as { method, uri, status, acrm } rows. */
export async function accessLog(stack) {
  let text = "";
  try { text = await readFile(stack.accessLog, "utf8"); } catch { /* not written yet */ }
  return text.split("\n").filter(Boolean).map((line) => {
    const [method, uri, status, acrm] = line.split(" ");
    return { method, uri, status: Number(status), acrm: acrm?.slice("acrm=".length) ?? "" };
  });
}

/** Every note Flask wrote to its log (one JSON object a line). */
export async function notesLog(stack) {
  try {
    await stat(stack.notesLog);
  } catch {
    return [];
  }
  return (await readFile(stack.notesLog, "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l));
}
