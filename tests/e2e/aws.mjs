// The AWS side of the suites, for real: moto's server (PyPI, tools/requirements.txt) as the
// AWS API on loopback, deploy/aws/create.sh run against it with the aws CLI, the replicator
// (deploy/leader/replicator.py) as a process, and the fault proxy between the replicator and
// AWS: it answers a chosen share of requests with throttling errors or 500s, or none at all
// (silence), and counts every request by kind (DynamoDB's X-Amz-Target, S3's operation).
import { execFileSync, spawn } from "node:child_process";
import { createServer, request as httpRequest } from "node:http";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, sleep, waitPort } from "./harness.mjs";

const HOST = "127.0.0.1";
export const VENV = process.env.REALSTACK_VENV ?? `${ROOT}target/venv`;
/** AWS's own settings: a region, test credentials, and AWS_ENDPOINT_URL, nothing custom. */
export const awsEnv = (endpoint) => ({
  AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-east-1",
  AWS_ENDPOINT_URL: endpoint, AWS_EC2_METADATA_DISABLED: "true",
});

function child(cmd, args, env, name) {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let total = 0; // characters ever written: mark()/since() survive the trimming
  const keep = (d) => { const t = String(d); total += t.length; out = (out + t).slice(-200_000); };
  p.stdout.on("data", keep);
  p.stderr.on("data", keep);
  const exited = new Promise((resolve) => p.once("exit", (code, sig) => resolve(code ?? sig)));
  return {
    pid: p.pid, name, exited,
    output: () => out,
    /** A mark in the output, and what was written since it (as much as is kept). */
    mark: () => total,
    since: (mark) => out.slice(Math.max(0, out.length - (total - mark))),
    kill: async (sig = "SIGTERM") => { try { p.kill(sig); } catch { /* gone */ } return exited; },
  };
}

/** moto's server on `port`; `stop()` ends it. */
export async function startMoto(port, host = HOST) {
  const m = child(`${VENV}/bin/moto_server`, ["-H", host, "-p", String(port)], {}, "moto");
  await Promise.race([waitPort(port, true, 30000, { host }), m.exited.then((c) => { throw new Error(`moto exited ${c}: ${m.output()}`); })]);
  return { endpoint: `http://${host}:${port}`, stop: () => m.kill() };
}

/** deploy/aws/create.sh with the aws CLI against `endpoint`: the table, the bucket, the policies. */
export function createAws(endpoint) {
  return execFileSync("sh", [`${ROOT}deploy/aws/create.sh`], {
    env: { ...process.env, ...awsEnv(endpoint), PATH: `${VENV}/bin:${process.env.PATH}` }, encoding: "utf8",
  });
}

/** The replicator as the systemd unit runs it: replicator.py with a settings file. */
export function startReplicator(settingsFile, endpoint, name = "replicator", exec = []) {
  const cmd = [...exec, `${VENV}/bin/python`, `${ROOT}deploy/leader/replicator.py`, settingsFile];
  return child(cmd[0], cmd.slice(1), { ...awsEnv(endpoint), PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" }, name);
}

/** replicator.json for a realstack.mjs stack (prepare()'s) and the page's `config`. */
export async function replicatorSettings(stack, config, { leader, sweepSeconds = 60, name = "replicator" } = {}) {
  const cfg = join(stack.dir, "config.json");
  await writeFile(cfg, JSON.stringify(config));
  const settings = {
    config: cfg, leader, paths: ["/api/pages", "/api/files"],
    // The page's files route names the bucket stand-in's origin, not S3's: the bucket by name.
    files: { route: "/files", dir: join(stack.dir, "files"), bucket: "acme-hub-files" },
    table: "acme-hub-replica", outbox: stack.dataDb, state: join(stack.dir, `${name}.sqlite3`), sweepSeconds,
  };
  const file = join(stack.dir, `${name}.json`);
  await writeFile(file, JSON.stringify(settings, null, 2));
  return file;
}

/**
 * The replica for a realstack.mjs stack: moto on `motoHost:motoPort`, deploy/aws/create.sh,
 * and the replicator on the leader's host (`stack.exec`), reading the app at `leader`;
 * resolves once its first sweep has copied the pages and the files.
 */
export async function startReplica(stack, config, { motoPort, motoHost = HOST, leader, sweepSeconds = 60, proxyPort = null }) {
  const moto = await startMoto(motoPort, motoHost);
  createAws(moto.endpoint);
  // With `proxyPort`, the replicator reaches AWS through the fault proxy (on motoHost too).
  const proxy = proxyPort ? await startFaultProxy(proxyPort, moto.endpoint, motoHost) : null;
  const file = await replicatorSettings(stack, config, { leader, sweepSeconds });
  const replicator = startReplicator(file, proxy?.endpoint ?? moto.endpoint, "replicator", stack.exec);
  await running(replicator, /sweep: \d+ changed/, "the replicator's first sweep", 30000);
  const replica = {
    endpoint: moto.endpoint, moto, proxy, replicator, settings: file,
    stop: async () => { await replica.replicator.kill(); await proxy?.stop(); await moto.stop(); },
  };
  return replica;
}

/** Waits until a replicator's output matches `line` (its first sweep, its start line), or throws with its output if it exits first. */
export async function running(replicator, line, what, ms = 20000) {
  let gone = null;
  replicator.exited.then((c) => { gone = c; });
  await until(() => {
    if (gone !== null) throw new Error(`${replicator.name} exited ${gone}: ${replicator.output()}`);
    return line.test(replicator.output());
  }, ms, what, 50);
  return replicator;
}

/** The kind of an AWS request: DynamoDB's operation, or S3's from method and path. */
function kindOf(req) {
  const target = req.headers["x-amz-target"];
  if (target) return String(target).split(".").pop();
  const [, bucket, key] = new URL(req.url, "http://x").pathname.split("/");
  const object = key !== undefined && key !== "";
  const ops = { PUT: object ? "PutObject" : "CreateBucket", DELETE: object ? "DeleteObject" : "DeleteBucket", GET: object ? "GetObject" : "ListObjects", HEAD: object ? "HeadObject" : "HeadBucket" };
  return ops[req.method] ?? `S3 ${req.method} ${bucket ?? ""}`;
}

/**
 * The fault proxy. `faults`: { throttle: share 0–1, error: share 0–1, silent: bool,
 * delayMs: each request forwarded that much later (a slow line: a late copy arrives late) }.
 * `counts[kind]` counts every request that reached it, answered, faulted or held.
 */
export async function startFaultProxy(port, target, host = HOST) {
  const counts = {};
  const faults = { throttle: 0, error: 0, silent: false, delayMs: 0 };
  const injected = { throttle: 0, error: 0, silent: 0 };
  const held = new Set();
  const to = new URL(target);
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const kind = kindOf(req);
      counts[kind] = (counts[kind] ?? 0) + 1;
      const dynamo = Boolean(req.headers["x-amz-target"]);
      if (faults.silent) {
        injected.silent++;
        held.add(res);
        res.on("close", () => held.delete(res));
        return;
      }
      const roll = Math.random();
      if (roll < faults.throttle) {
        injected.throttle++;
        if (dynamo) {
          const type = roll < faults.throttle / 2 ? "ProvisionedThroughputExceededException" : "ThrottlingException";
          res.writeHead(400, { "Content-Type": "application/x-amz-json-1.0" });
          return res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: "Rate exceeded" }));
        }
        res.writeHead(503, { "Content-Type": "application/xml" });
        return res.end("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
      }
      if (roll < faults.throttle + faults.error) {
        injected.error++;
        res.writeHead(500, { "Content-Type": dynamo ? "application/x-amz-json-1.0" : "application/xml" });
        return res.end(dynamo ? JSON.stringify({ __type: "com.amazon.coral.service#InternalFailure", message: "injected" }) : "<Error><Code>InternalError</Code></Error>");
      }
      const forward = () => {
        const up = httpRequest({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode, r.headers);
          r.pipe(res);
        });
        up.on("error", () => { res.destroy(); });
        up.end(Buffer.concat(chunks));
      };
      if (faults.delayMs > 0) setTimeout(forward, faults.delayMs);
      else forward();
    });
  });
  await new Promise((resolve, reject) => { server.once("error", reject); server.listen(port, host, resolve); });
  return {
    endpoint: `http://${host}:${port}`, counts, faults, injected,
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    reset() { for (const k of Object.keys(counts)) delete counts[k]; for (const k of Object.keys(injected)) injected[k] = 0; },
    /** Ends the silence: held requests are dropped (their clients time out or see a reset). */
    speak() { faults.silent = false; for (const r of held) r.destroy(); held.clear(); },
    stop: () => new Promise((resolve) => { for (const r of held) r.destroy(); server.close(resolve); server.closeAllConnections(); }),
  };
}

/** Waits until `check()` is truthy (polled every `every` ms), or throws with `what`. */
export async function until(check, ms, what, every = 20) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(every);
  }
}
