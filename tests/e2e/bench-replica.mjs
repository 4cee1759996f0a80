// Section 12 of the benchmark (bench.mjs): the replica (spec §10), with the replica suite's
// real parts (aws.mjs): the app under gunicorn, the replicator at the shipped sweep (60 s),
// the fault proxy counting AWS requests, moto as AWS, the Lambda behind its adapter.
// Figures: lag from an edit's answer to the follower answering it (200 edits at 5/s), AWS
// requests per edit, for 1,000 notes and for an idle sweep, and the catch-up of 500 changed
// files after a 60 s uplink loss. Ports 18470–18474.
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "./harness.mjs";
import { OPERATOR_TOKEN, startApp, startFollower } from "./realstack.mjs";
import { awsEnv, createAws, replicatorSettings, startFaultProxy, startMoto, startReplicator, until } from "./aws.mjs";

const P = { moto: 18470, proxy: 18471, app: 18472, follower: 18473, bucket: 18474 };
const APP = `http://127.0.0.1:${P.app}`;
const FOLLOWER = `http://127.0.0.1:${P.follower}/prod`;

/** Runs section 12; `row(section, what, value, note)` adds to the benchmark's table. */
export async function replicaBench(row, q, { edits = 200, rate = 5, lossSeconds = 60, files = 500, sweepSeconds = 60 } = {}) {
  const S = "12. replica: leader -> DynamoDB/S3 -> follower";
  const dir = await mkdtemp(join(tmpdir(), "hp-bench-replica-"));
  await mkdir(join(dir, "files"));
  const stack = { dir, exec: [], dataDb: join(dir, "hub.sqlite3") };
  const parts = [];
  try {
    const moto = await startMoto(P.moto);
    parts.push(() => moto.stop());
    createAws(moto.endpoint);
    const proxy = await startFaultProxy(P.proxy, moto.endpoint);
    parts.push(() => proxy.stop());
    const app = await startApp(stack, {}, P.app);
    parts.push(() => app.stop());
    const follower = await startFollower(moto.endpoint, undefined, { follower: P.follower, bucket: P.bucket });
    parts.push(() => follower.stop());
    Object.assign(process.env, awsEnv(moto.endpoint));
    const config = {
      leader: "https://hub.example.com", follower: FOLLOWER,
      routes: [{ prefix: "/api/pages", critical: true }, { prefix: "/api/files", critical: true }, { prefix: "/api/notes", critical: false },
        { prefix: "/files", critical: true, follower: `${moto.endpoint}/acme-hub-files` }],
    };
    const settings = await replicatorSettings(stack, config, { leader: APP, sweepSeconds });
    const rep = startReplicator(settings, proxy.endpoint);
    parts.push(() => rep.kill());
    const sweeps = () => (rep.output().match(/sweep: \d+ changed/g) ?? []).length;
    await until(() => sweeps() >= 1, 30000, "the replicator's first sweep", 50);

    // Lag: edits at `rate`/s; a reader polls the follower every 10 ms.
    const title = async () => JSON.parse(await (await fetch(`${FOLLOWER}/api/pages`)).text()).pages.find((p) => p.id === 1).title;
    const answered = [];
    const seen = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const m = /^lag (\d+)$/.exec(await title());
        if (m) for (let i = Number(m[1]); i >= 0 && seen[i] === undefined; i--) seen[i] = Date.now();
        await sleep(10);
      }
    })();
    proxy.reset();
    const t0 = Date.now();
    for (let i = 0; i < edits; i++) {
      await sleep(Math.max(0, t0 + (i * 1000) / rate - Date.now()));
      const r = await fetch(`${APP}/api/pages/1`, { method: "PUT", headers: { "content-type": "application/json", authorization: `Bearer ${OPERATOR_TOKEN}` }, body: JSON.stringify({ title: `lag ${i}`, body: "b" }) });
      if (!r.ok) throw new Error(`edit ${i}: ${r.status}`);
      answered[i] = Date.now();
    }
    await until(() => seen[edits - 1] !== undefined, 10000, "the last edit at the follower");
    reading = false;
    await reader;
    const lags = answered.map((a, i) => seen[i] - a);
    row(S, `lag edit answered -> follower answers it (${edits} edits at ${rate}/s)`, `p50 ${q(lags, 0.5)} ms`, `p99 ${q(lags, 0.99)} ms, max ${Math.max(...lags)} ms; goal p99 ≤ 2000 ms`);
    const perEdit = proxy.total() / edits;
    row(S, "AWS requests per edit", perEdit.toFixed(2), `${JSON.stringify(proxy.counts)} for ${edits} edits (an edit superseded before its copy is not copied)`);

    // Notes, then an idle sweep: nothing reaches AWS.
    proxy.reset();
    const before = sweeps();
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < 1000) {
        next++;
        const r = await fetch(`${APP}/api/notes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "a note", clientId: randomUUID() }) });
        if (r.status !== 201) throw new Error(`note: ${r.status}`);
      }
    }));
    row(S, "AWS requests for 1,000 notes", String(proxy.total()), "goal 0");
    await until(() => sweeps() >= before + 1, (sweepSeconds + 10) * 1000, "a sweep", 200);
    row(S, "AWS requests for an unchanged sweep (and the notes before it)", String(proxy.total()), `goal 0; sweep every ${sweepSeconds} s`);

    // Catch-up: the uplink lost for `lossSeconds`; `files` files changed meanwhile.
    proxy.faults.silent = true;
    const lost = Date.now();
    for (let i = 0; i < files; i++) await writeFile(join(dir, "files", `doc-${i}.txt`), `document ${i} ${lost}\n`);
    await fetch(`${APP}/api/pages/2`, { method: "PUT", headers: { "content-type": "application/json", authorization: `Bearer ${OPERATOR_TOKEN}` }, body: JSON.stringify({ title: "during the loss", body: "b" }) });
    await sleep(Math.max(0, lost + lossSeconds * 1000 - Date.now()));
    proxy.speak();
    const back = Date.now();
    const listed = async () => JSON.parse(await (await fetch(`${FOLLOWER}/api/files`)).text()).files.length;
    await until(async () => (await listed()) >= files, (sweepSeconds + 120) * 1000, "the files at the follower", 200);
    const { S3Client, ListObjectsV2Command } = await import("@aws-sdk/client-s3");
    const s3 = new S3Client({ forcePathStyle: true });
    const count = async () => {
      let n = 0;
      let token;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: "acme-hub-files", Prefix: "files/doc-", ContinuationToken: token }));
        n += page.KeyCount ?? 0;
        token = page.NextContinuationToken;
      } while (token);
      return n;
    };
    await until(async () => (await count()) >= files, (sweepSeconds + 120) * 1000, "the files in the bucket", 200);
    const caught = Date.now() - back;
    row(S, `catch-up: ${files} changed files and an edit after a ${lossSeconds} s uplink loss`, `${(caught / 1000).toFixed(1)} s`, `from the link's return to all at the follower; goal ≤ one sweep (${sweepSeconds} s)`);
    const log = rep.output().split("\n");
    row(S, "replicator error lines during the loss", String(log.filter((l) => l.includes("FAILED")).length), (log.find((l) => l.includes("FAILED")) ?? "").slice(0, 140));
  } finally {
    for (const stop of parts.reverse()) {
      try { await stop(); } catch { /* already gone */ }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

// Alone: node bench-replica.mjs [--edits 200] [--loss-seconds 60] [--files 500] [--sweep-seconds 60]
if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const rows = [];
  const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  await replicaBench((section, what, value, note = "") => rows.push({ section, what, value, note }), q, {
    edits: arg("edits", 200), lossSeconds: arg("loss-seconds", 60), files: arg("files", 500), sweepSeconds: arg("sweep-seconds", 60),
  });
  console.table(rows);
  process.exit(0);
}
