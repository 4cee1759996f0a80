// The real stack for realstack.test.mjs: NGINX (Debian) in front of Flask under gunicorn
// as the leader, each run in the foreground from a temp dir and stopped by PID; an API
// Gateway + Lambda stand-in as the follower; an "S3 bucket" for the files' AWS copy; and
// the landing page on a static origin that sends deploy/site's CSP. Ports 18500–18599.
// The leader's files and the Lambda are deploy/'s, run as they are; only the NGINX main
// file (logs, temp dirs) and the captive portal are the suite's own.
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { chmod, cp, mkdtemp, mkdir, readFile, writeFile, rm, stat } from "node:fs/promises";
import { register } from "node:module";
import { tmpdir } from "node:os";
import { join, extname } from "node:path";
import { ROOT, launch, sleep, waitPort } from "./harness.mjs";
import { buildSite } from "../../tools/build-site.mjs";
import { awsEnv, startReplica } from "./aws.mjs";

const HOST = "127.0.0.1";
export const PORTS = { page: 18500, leader: 18501, store: 18502, app: 18503, follower: 18510, bucket: 18511, aws: 18512 };
export const ORIGIN = Object.fromEntries(Object.entries(PORTS).map(([k, p]) => [k, `http://${HOST}:${p}`]));
export const FOLLOWER_BASE = `${ORIGIN.follower}/prod`;
const VENV = process.env.REALSTACK_VENV ?? `${ROOT}target/venv`;

// The leader's files (the replicator copies them to the AWS bucket).
export const FILES = {
  "handbook.pdf": Buffer.from("%PDF-1.4\n% Acme handbook\n" + "x".repeat(3000) + "\n%%EOF\n"),
  "holiday-calendar.ics": Buffer.from("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n"),
};

/** The files an operator copies (deploy/), used as they are. */
export const DEPLOY = `${ROOT}deploy`;

/** Fills `{{NAME}}` placeholders; an unknown one is an error, not a silent gap. */
export function render(text, vars, what = "template") {
  return text.replace(/\{\{(\w+)\}\}/g, (_, k) => {
    if (!(k in vars)) throw new Error(`${what}: unknown {{${k}}}`);
    return vars[k];
  });
}

/** The CSP of deploy/site/cloudfront-headers.json with its example leader and follower origins. */
const DEPLOYED_CSP = JSON.parse(readFileSync(`${DEPLOY}/site/cloudfront-headers.json`, "utf8"))
  .SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy;
const EXAMPLE = { leader: "https://hub.example.com", follower: "https://abc123.execute-api.eu-west-1.amazonaws.com" };

/** deploy/site's CSP with this run's leader and follower; `follower` may be given as-is to test the trap. */
export function csp(follower = ORIGIN.follower, leader = ORIGIN.leader) {
  const named = ` ${EXAMPLE.leader} ${EXAMPLE.follower};`;
  if (!DEPLOYED_CSP.includes(named)) throw new Error(`deploy/site/cloudfront-headers.json: connect-src no longer names${named}`);
  return DEPLOYED_CSP.replace(named, ` ${leader} ${follower};`);
}

// The suite's own NGINX main file: deploy/leader's site files are included inside http { }
// as /etc/nginx/nginx.conf includes conf.d/*.conf; the log format lets the tests count
// requests and preflights.
const MAIN_CONF = `worker_processes 1;
pid {{PREFIX}}/nginx.pid;
error_log {{PREFIX}}/error.log warn;
events { worker_connections 512; }
http {
  include /etc/nginx/mime.types;
  log_format hub '$request_method $uri $status acrm=$http_access_control_request_method';
  access_log {{PREFIX}}/access.log hub;
  client_body_temp_path {{PREFIX}}/tmp/body;
  proxy_temp_path {{PREFIX}}/tmp/proxy;
  fastcgi_temp_path {{PREFIX}}/tmp/fastcgi;
  uwsgi_temp_path {{PREFIX}}/tmp/uwsgi;
  scgi_temp_path {{PREFIX}}/tmp/scgi;
  include {{PREFIX}}/conf.d/*.conf;
}
`;

// A "captive portal" on the leader's address: 200 with an HTML body for every path. It
// even sends CORS (as a default NGINX site of the same operator may), so the page can
// read the body and only health.expect tells it apart from the leader.
const CAPTIVE_CONF = `worker_processes 1;
pid {{PREFIX}}/captive.pid;
error_log {{PREFIX}}/captive-error.log warn;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path {{PREFIX}}/tmp/body;
  proxy_temp_path {{PREFIX}}/tmp/proxy;
  fastcgi_temp_path {{PREFIX}}/tmp/fastcgi;
  uwsgi_temp_path {{PREFIX}}/tmp/uwsgi;
  scgi_temp_path {{PREFIX}}/tmp/scgi;
  server {
    listen {{LEADER_ADDR}};
    add_header Access-Control-Allow-Origin * always;
    default_type text/html;
    location / {
      return 200 "<!doctype html><title>Hotel Wi-Fi</title><h1>Sign in to continue</h1>";
    }
  }
}
`;

/**
 * Makes the temp dir: the leader's files, a self-signed certificate for
 * deploy/leader's TLS lines, and deploy/leader's NGINX sites rendered into conf.d/
 * configs. The leader runs on loopback unless `host` (its address, NGINX listens there) and
 * `exec` (the command prefix that runs a process on that host, e.g. `ip netns exec NAME`)
 * say otherwise; `addr` overrides single addresses (pageOrigin, leaderAddr, storeAddr, appAddr).
 */
export async function prepare({ host = HOST, exec = [], ...addr } = {}) {
  const a = { pageOrigin: ORIGIN.page, leaderAddr: `${host}:${PORTS.leader}`, storeAddr: `${host}:${PORTS.store}`, appAddr: `${HOST}:${PORTS.app}`, ...addr };
  const dir = await mkdtemp(join(tmpdir(), "hp-realstack-"));
  await chmod(dir, 0o755); // NGINX's workers run as an unprivileged user and read the files
  for (const d of ["files", "tmp", "conf.d"]) await mkdir(join(dir, d), { recursive: true });
  // The AWS copy of the files is the replicator's (aws.mjs startReplica).
  for (const [name, bytes] of Object.entries(FILES)) await writeFile(join(dir, "files", name), bytes);
  // The operator's page, copied where NGINX's workers can read it (as an operator copies deploy/leader/operator/).
  await cp(join(DEPLOY, "leader", "operator"), join(dir, "operator"), { recursive: true });
  // The recipe's TLS lines stay in: NGINX loads the certificate, the suite listens without ssl.
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", join(dir, "tls.key"), "-out", join(dir, "tls.crt"), "-days", "2", "-subj", "/CN=hub.example.com"], { stdio: "ignore" });
  // API_HOST: NGINX passes its own server name to Flask as Host, and the hub links are built from it.
  const site = { PAGE_ORIGIN: a.pageOrigin, API_HOST: host, FILES_HOST: "files.hub.example.com",
    TLS_CERT: join(dir, "tls.crt"), TLS_KEY: join(dir, "tls.key"), GUNICORN_ADDR: a.appAddr, FILES_DIR: join(dir, "files"),
    OPERATOR_DIR: join(dir, "operator") };
  for (const [name, listen] of [["acme-hub.conf", a.leaderAddr], ["acme-files.conf", a.storeAddr]]) {
    const text = await readFile(join(DEPLOY, "leader", name), "utf8");
    await writeFile(join(dir, "conf.d", name), render(text, { ...site, LISTEN: listen }, name));
  }
  await writeFile(join(dir, "nginx.conf"), render(MAIN_CONF, { PREFIX: dir }));
  await writeFile(join(dir, "captive.conf"), render(CAPTIVE_CONF, { PREFIX: dir, LEADER_ADDR: a.leaderAddr }));
  // The landing page as deployed: target/site's layout (hashed package files), built here.
  const built = buildSite({ out: join(dir, "site") });
  return { dir, host, exec, site: { dir: built.out, hashed: new Set(Object.values(built.hashed).map((n) => `/pkg/${n}`)) },
    dataDb: join(dir, "hub.sqlite3"), accessLog: join(dir, "access.log"), remove: () => rm(dir, { recursive: true, force: true }) };
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

/** The operator's token the suites' leaders run with (PUT /api/pages/<id>). */
export const OPERATOR_TOKEN = "suite-operator-token";

/** gunicorn with deploy/leader's gunicorn.conf.py, serving its app.py. `env` adds or overrides e.g. OPERATOR_TOKEN. */
export async function startApp(stack, env = {}, port = PORTS.app) {
  const leader = join(DEPLOY, "leader");
  const g = group(`${VENV}/bin/gunicorn`, ["-c", join(leader, "gunicorn.conf.py"), "--chdir", leader, "app:app"], {
    env: { ...process.env, GUNICORN_BIND: `${HOST}:${port}`, GUNICORN_ACCESS_LOG: join(stack.dir, "gunicorn.log"),
      DATA_DB: stack.dataDb, FILES_DIR: join(stack.dir, "files"), OPERATOR_TOKEN, PYTHONDONTWRITEBYTECODE: "1", ...env },
  }, port, { exec: stack.exec });
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
 * The follower as API Gateway (REST API, stage "prod") + deploy/follower's Lambda, reading the
 * replica from the AWS API at `endpoint` (moto's server, aws.mjs), and the files' bucket as
 * the page downloads from it: S3's GET of the object, stored headers and all. Gateway
 * behaviour kept: its CORS OPTIONS mock, and its own 403 for a method no resource defines,
 * with CORS added by gateway responses. `ports` overrides { follower, bucket }.
 * `stats.paths` counts the reads of each path. `hang()` holds every API request unanswered
 * (the follower's line stalls, as SIGSTOP does to the leader's processes); `resume()`
 * answers the held ones and the rest, as a thawed process does its backlog. `delay(ms)`
 * holds each API answer `ms` longer (0: none).
 */
export async function startFollower(endpoint, stats = { reads: 0, health: 0, writes: 0, preflightReads: 0, preflightWrites: 0, downloads: [], paths: {} }, ports = PORTS) {
  Object.assign(process.env, awsEnv(endpoint), { ALLOW_ORIGIN: ORIGIN.page, REPLICA_TABLE: "acme-hub-replica" });
  register("./lambda-runtime.mjs", import.meta.url); // the SDK the Lambda runtime ships
  const { handler: lambda } = await import(join(DEPLOY, "follower/lambda.mjs"));
  const cors = { "Access-Control-Allow-Origin": ORIGIN.page, Vary: "Origin" };
  const followerOrigin = `http://${HOST}:${ports.follower}`;
  let held = null; // while hung: the requests waiting for resume()
  let delayMs = 0; // delay(ms): every API answer that much later, a follower far away
  const handle = async (req, res) => {
    if (delayMs) await sleep(delayMs);
    const url = new URL(req.url, followerOrigin);
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
    else {
      stats.reads++;
      const paths = (stats.paths ??= {});
      paths[path] = (paths[path] ?? 0) + 1;
    }
    const query = url.search ? Object.fromEntries(url.searchParams) : null;
    const r = await lambda({ httpMethod: req.method, path, headers: req.headers, queryStringParameters: query });
    const body = r.isBase64Encoded ? Buffer.from(r.body, "base64") : r.body;
    send(r.statusCode, r.headers, req.method === "HEAD" ? "" : body);
  };
  const api = createServer((req, res) => (held ? held.push([req, res]) : handle(req, res)));
  // The bucket's public GET under files/ (files-bucket-policy.json), as S3 answers it: the
  // object's stored Content-Type and Content-Disposition. moto's server tells services
  // apart by the request's signature, so the stand-in fetches the object signed.
  const { S3Client, GetObjectCommand } = await import("@aws-sdk/client-s3");
  const s3 = new S3Client({ forcePathStyle: true });
  const bucket = createServer(async (req, res) => {
    const key = decodeURIComponent(new URL(req.url, followerOrigin).pathname.slice(1));
    stats.downloads.push(key);
    if (!key.startsWith("files/") || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(403, { "Content-Type": "application/xml" });
      return res.end("<Error><Code>AccessDenied</Code></Error>");
    }
    try {
      const o = await s3.send(new GetObjectCommand({ Bucket: "acme-hub-files", Key: key }));
      const body = Buffer.from(await o.Body.transformToByteArray());
      res.writeHead(200, { "Content-Type": o.ContentType, "Content-Disposition": o.ContentDisposition ?? "", "Content-Length": body.length, ETag: o.ETag });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      res.writeHead(e.name === "NoSuchKey" ? 404 : 502, { "Content-Type": "application/xml" });
      res.end(`<Error><Code>${e.name}</Code></Error>`);
    }
  });
  await listen(api, ports.follower);
  await listen(bucket, ports.bucket);
  const stopApi = closer(api);
  const stopBucket = closer(bucket);
  const resume = () => {
    const waiting = held ?? [];
    held = null;
    for (const [req, res] of waiting) handle(req, res);
  };
  return {
    stats,
    hang: () => { held ??= []; },
    delay: (ms) => { delayMs = ms; },
    resume,
    stop: () => { resume(); return Promise.all([stopApi(), stopBucket()]); },
  };
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };

/**
 * The landing page as S3 + CloudFront would serve it: config.json, the CSP header, and
 * www/ + pkg/, or with `site` (prepare()'s) the built site as upload.sh stores it: the
 * hashed package files brotli-encoded and immutable.
 */
export async function startPage(config, policy = csp(), site = null) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, ORIGIN.page).pathname;
    try {
      let body;
      const headers = { "Content-Security-Policy": policy, "Cache-Control": "no-store" };
      if (path === "/config.json") body = Buffer.from(JSON.stringify(config));
      else if (path.includes("..")) throw new Error("no");
      else if (site?.hashed.has(path)) {
        body = await readFile(`${site.dir}${path}.br`);
        Object.assign(headers, { "Content-Encoding": "br", "Cache-Control": "public, max-age=31536000, immutable" });
      } else if (site) body = await readFile(`${site.dir}${path === "/" ? "/index.html" : path}`);
      else if (path.startsWith("/pkg/")) body = await readFile(`${ROOT}${path.slice(1)}`);
      else body = await readFile(`${ROOT}www${path === "/" ? "/index.html" : path}`);
      const type = TYPES[extname(path === "/" ? "/index.html" : path)] ?? "application/octet-stream";
      res.writeHead(200, { "Content-Type": type, ...headers });
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

/** Runs Python (the suite's venv) with `args`; resolves with its stdout. */
export async function python(code, ...args) {
  return (await promisify(execFile)(`${VENV}/bin/python`, ["-c", code, ...args], { maxBuffer: 64 << 20 })).stdout;
}

/** Every note Flask stored (DATA_DB's notes table), oldest first: { id, text, clientId, at }. */
export async function notesLog(stack) {
  try {
    await stat(stack.dataDb);
  } catch {
    return [];
  }
  const py = "import json, sqlite3, sys\ndb = sqlite3.connect(sys.argv[1], timeout=10)\n"
    + "print(json.dumps([{'id': i, 'text': t, 'clientId': c, 'at': a} for i, t, c, a in db.execute('SELECT id, text, client_id, at FROM notes ORDER BY id')]))";
  return JSON.parse(await python(py, stack.dataDb));
}

/** A suite's whole stack into `s`: the leader (gunicorn, NGINX), the follower's data (the
 * replicator's copy in moto's DynamoDB and S3), the follower, a browser. */
export async function startStack(s, config) {
  s.stack = await prepare();
  s.app = await startApp(s.stack);
  s.nginx = await startNginx(s.stack);
  s.replica = await startReplica(s.stack, config, { motoPort: PORTS.aws, leader: `${ORIGIN.app}` });
  s.follower = await startFollower(s.replica.endpoint);
  s.browser = await launch();
}

/** Stops what startStack (and a test's page) started, in reverse order. */
export async function stopStack(s) {
  await s.browser?.close();
  await s.page?.stop();
  await s.follower?.stop();
  await s.replica?.stop();
  await s.nginx?.stop();
  await s.app?.stop();
  await s.stack?.remove();
}
