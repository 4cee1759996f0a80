// The replica (spec §10) with real parts: the leader's app under gunicorn, the replicator
// (deploy/leader/replicator.py) as its own process, the fault proxy between it and AWS,
// moto's server as AWS (deploy/aws/create.sh run against it), and the follower's Lambda
// behind its API Gateway adapter reading moto. Ports 18460–18465.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, readFile, rm, writeFile, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createHash, randomUUID } from "node:crypto";
import { join } from "node:path";
import { sleep } from "./harness.mjs";
import { OPERATOR_TOKEN, startApp, startFollower } from "./realstack.mjs";
import { awsEnv, createAws, replicatorSettings, startFaultProxy, startMoto, startReplicator, until } from "./aws.mjs";
import { S3Client, HeadObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";

const P = { moto: 18460, proxy: 18461, app: 18462, follower: 18463, bucket: 18464, slow: 18465 };
const APP = `http://127.0.0.1:${P.app}`;
const FOLLOWER = `http://127.0.0.1:${P.follower}/prod`;
// Short for the suite (60 s shipped); every scenario's bound is stated in sweeps.
const SWEEP_S = 4;
const CONFIG = {
  leader: "https://hub.example.com",
  follower: FOLLOWER,
  routes: [
    { prefix: "/api/pages", critical: true },
    { prefix: "/api/files", critical: true },
    { prefix: "/api/hub", critical: false },
    { prefix: "/api/notes", critical: false },
    { prefix: "/files", critical: true, leader: "https://files.hub.example.com", follower: `http://127.0.0.1:${P.moto}/acme-hub-files` },
  ],
};

const s = { replicators: [] };

before(async () => {
  s.dir = await mkdtemp(join(tmpdir(), "hp-replica-"));
  await mkdir(join(s.dir, "files"));
  await writeFile(join(s.dir, "files", "handbook.pdf"), "%PDF-1.4 handbook\n");
  s.stack = { dir: s.dir, exec: [], dataDb: join(s.dir, "hub.sqlite3") };
  s.moto = await startMoto(P.moto);
  console.log(createAws(s.moto.endpoint).trim());
  s.proxy = await startFaultProxy(P.proxy, s.moto.endpoint);
  s.app = await startApp(s.stack, {}, P.app);
  s.follower = await startFollower(s.moto.endpoint, undefined, { follower: P.follower, bucket: P.bucket });
  Object.assign(process.env, awsEnv(s.moto.endpoint));
  s.s3 = new S3Client({ forcePathStyle: true });
  s.dynamo = new DynamoDBClient({});
  s.settings = await replicatorSettings(s.stack, CONFIG, { leader: APP, sweepSeconds: SWEEP_S });
  // the bucket by the files route's follower base (path-style), not named in replicator.json
  const settings = JSON.parse(await readFile(s.settings, "utf8"));
  delete settings.files.bucket;
  // A body no item points to is deleted 1 s after (an hour shipped): the files test sees it go.
  settings.blobGraceSeconds = 1;
  await writeFile(s.settings, JSON.stringify(settings));
  s.replicator = await start(s.settings);
});

after(async () => {
  for (const r of s.replicators) await r.kill("SIGKILL");
  await s.follower?.stop();
  await s.app?.stop();
  await s.proxy?.stop();
  await s.moto?.stop();
  if (s.dir) await rm(s.dir, { recursive: true, force: true });
});

/** A replicator through a fault proxy; resolves after its first sweep. */
async function start(file, name = "replicator", proxy = s.proxy) {
  const r = startReplicator(file, proxy.endpoint, name);
  s.replicators.push(r);
  let gone = null;
  r.exited.then((c) => { gone = c; });
  await until(() => {
    if (gone !== null) throw new Error(`${name} exited ${gone}: ${r.output()}`);
    return /sweep: \d+ changed/.test(r.output());
  }, 20000, `${name}'s first sweep`, 50);
  return r;
}
const sweeps = (r) => (r.output().match(/sweep: \d+ changed/g) ?? []).length;

async function edit(id, title, body = `body of ${title}`) {
  const r = await fetch(`${APP}/api/pages/${id}`, {
    method: "PUT", headers: { "content-type": "application/json", authorization: `Bearer ${OPERATOR_TOKEN}` }, body: JSON.stringify({ title, body }),
  });
  assert.ok(r.ok, `PUT /api/pages/${id}: ${r.status} ${await r.text()}`);
  return Date.now(); // the edit's answer
}

/** The follower's answer to GET path: status, version, Last-Modified, CORS, body. */
async function follower(path = "/api/pages") {
  const r = await fetch(`${FOLLOWER}${path}`);
  const text = await r.text();
  return { status: r.status, version: Number(r.headers.get("x-replica-version") ?? -1), lastModified: r.headers.get("last-modified"),
    cors: r.headers.get("access-control-allow-origin"), type: r.headers.get("content-type"), text };
}
const leaderPages = async () => (await fetch(`${APP}/api/pages`)).text();
const titleAt = async (id) => JSON.parse((await follower()).text).pages?.find((p) => p.id === id)?.title;

/** Reads the follower every 100 ms and records any version that went down. */
function watcher() {
  const w = { reads: 0, down: [], last: -1, stop: false };
  w.done = (async () => {
    while (!w.stop) {
      const f = await follower();
      if (f.status === 200) {
        w.reads++;
        if (f.version < w.last) w.down.push([w.last, f.version]);
        w.last = Math.max(w.last, f.version);
      }
      await sleep(100);
    }
  })();
  return w;
}

test("a path not under a critical route is refused at start, by name", async () => {
  const bad = join(s.dir, "bad.json");
  const settings = JSON.parse(await readFile(s.settings, "utf8"));
  await writeFile(bad, JSON.stringify({ ...settings, paths: ["/api/pages", "/api/notes"], state: join(s.dir, "bad.sqlite3") }));
  const r = startReplicator(bad, s.proxy.endpoint, "bad");
  assert.equal(await r.exited, 2, r.output());
  assert.match(r.output(), /\/api\/notes is not under a critical route/);
  // A prefix match on whole segments only: /api/pagesX is not under /api/pages.
  await writeFile(bad, JSON.stringify({ ...settings, paths: ["/api/pagesX"], state: join(s.dir, "bad.sqlite3") }));
  const r2 = startReplicator(bad, s.proxy.endpoint, "bad");
  assert.equal(await r2.exited, 2, r2.output());
  assert.match(r2.output(), /\/api\/pagesX is not under a critical route/);
});

test("the follower answers from the replica: the item's type, body and Last-Modified, CORS on every answer, 404 and 405", async () => {
  const f = await follower();
  assert.equal(f.status, 200);
  assert.equal(f.text, await leaderPages(), "the body exactly as the leader answered it");
  assert.match(f.type, /^application\/json/);
  assert.ok(Date.parse(f.lastModified) > Date.now() - 120_000, `Last-Modified ${f.lastModified}`);
  assert.equal(f.cors, "http://127.0.0.1:18500");
  const missing = await follower("/api/pages?page=2");
  assert.equal(missing.status, 404);
  assert.equal(missing.cors, "http://127.0.0.1:18500", "CORS on a 404 too");
  const { handler } = await import("../../deploy/follower/lambda.mjs");
  const write = await handler({ httpMethod: "PUT", path: "/api/pages" });
  assert.equal(write.statusCode, 405);
  assert.equal(write.headers["Access-Control-Allow-Origin"], "http://127.0.0.1:18500");
  const files = await follower("/api/files");
  assert.deepEqual(JSON.parse(files.text).files, [{ name: "handbook.pdf", size: 18 }]);
});

test("an edit is at the follower within 2 s of the write's answer", async () => {
  const lags = [];
  for (let i = 0; i < 10; i++) {
    const title = `lag probe ${i} ${Date.now()}`;
    const answered = await edit(2, title);
    await until(async () => (await titleAt(2)) === title, 5000, `edit ${i} at the follower`, 20);
    lags.push(Date.now() - answered);
  }
  console.log(`edit -> follower lag (ms): ${lags.join(", ")}`);
  for (const l of lags) assert.ok(l <= 2000, `lag ${l} ms > 2 s`);
});

test("an unchanged sweep sends no AWS request; 1,000 notes send none", async () => {
  await sleep(300); // the last edit's copy is done
  s.proxy.reset();
  const before = sweeps(s.replicator);
  await until(() => sweeps(s.replicator) >= before + 1, (SWEEP_S + 3) * 1000, "a sweep");
  assert.deepEqual(s.proxy.counts, {}, "an unchanged sweep sent AWS requests");
  let next = 0;
  const post = async () => {
    while (next < 1000) {
      const i = next++;
      const r = await fetch(`${APP}/api/notes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: `note ${i}`, clientId: randomUUID() }) });
      assert.equal(r.status, 201);
    }
  };
  await Promise.all(Array.from({ length: 8 }, post));
  const after1000 = sweeps(s.replicator);
  await until(() => sweeps(s.replicator) >= after1000 + 1, (SWEEP_S + 3) * 1000, "a sweep after the notes");
  console.log(`AWS requests: 1,000 notes and ${sweeps(s.replicator) - before} sweeps -> ${s.proxy.total()}`);
  assert.equal(s.proxy.total(), 0, `AWS requests ${JSON.stringify(s.proxy.counts)}`);
});

test("files: the store's tree to the bucket (attachment, hash in metadata), a body too large for an item in S3, deletions", async () => {
  await writeFile(join(s.dir, "files", "minutes.txt"), "minutes of the meeting\n");
  s.proxy.reset();
  const sweep0 = sweeps(s.replicator);
  await until(() => sweeps(s.replicator) >= sweep0 + 1, (SWEEP_S + 3) * 1000, "a sweep");
  const head = await s.s3.send(new HeadObjectCommand({ Bucket: "acme-hub-files", Key: "files/minutes.txt" }));
  assert.equal(head.ContentDisposition, "attachment");
  assert.match(head.Metadata.sha256, /^[0-9a-f]{64}$/);
  assert.ok(JSON.parse((await follower("/api/files")).text).files.some((f) => f.name === "minutes.txt"));
  assert.equal(s.proxy.counts.PutObject, 1, `one file, one PutObject: ${JSON.stringify(s.proxy.counts)}`);

  // Five long pages: an answer of ~450 KB, over DynamoDB's 400 KB item.
  const big = "x".repeat(90_000);
  for (let id = 10; id < 15; id++) await edit(id, `long page ${id}`, big);
  await until(async () => JSON.parse((await follower()).text).pages?.filter((p) => p.body === big).length === 5, 5000, "the long pages at the follower");
  assert.equal((await follower()).text, await leaderPages());
  const pointed = async () => (await s.dynamo.send(new GetItemCommand({ TableName: "acme-hub-replica", Key: { path: { S: "/api/pages" } } }))).Item;
  const first = await pointed();
  assert.ok(first.s3Key?.S?.startsWith("replica/") && !first.body, "the item points to S3");
  // One more long edit: the item moves to another body, and the first is unused.
  await edit(14, "long page 14, again", big);
  await until(async () => (await follower()).text === (await leaderPages()), 5000, "the long edit at the follower");
  const item = await pointed();
  assert.notEqual(item.s3Key.S, first.s3Key.S);
  // Two sweeps later (the grace is 1 s here) only the body the item points to is left.
  const bodies = async () => ((await s.s3.send(new ListObjectsV2Command({ Bucket: "acme-hub-files", Prefix: "replica/" }))).Contents ?? []).map((o) => o.Key);
  const written = await bodies();
  assert.ok(written.includes(first.s3Key.S) && written.includes(item.s3Key.S), `bodies ${JSON.stringify(written)}`);
  const sweep2 = sweeps(s.replicator);
  await until(() => sweeps(s.replicator) >= sweep2 + 2, (2 * SWEEP_S + 3) * 1000, "two sweeps");
  assert.deepEqual(await bodies(), [item.s3Key.S], `of the bodies ${JSON.stringify(written)}, not only the item's is left`);
  assert.equal((await follower()).text, await leaderPages(), "the follower lost the body its item points to");
  for (let id = 10; id < 15; id++) {
    const r = await fetch(`${APP}/api/pages/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
    assert.equal(r.status, 204);
  }
  await until(async () => (await follower()).text === (await leaderPages()), 5000, "the deletions at the follower");
  assert.ok((await s.dynamo.send(new GetItemCommand({ TableName: "acme-hub-replica", Key: { path: { S: "/api/pages" } } }))).Item.body, "back inline");
  // Back inline: no item points to any body, and none is left.
  await until(async () => (await bodies()).length === 0, (2 * SWEEP_S + 3) * 1000, "the last body collected once no item points to it", 200);
  console.log(`bodies under replica/: ${written.length} written, each collected once no item pointed to it (${s.replicator.output().split("\n").filter((l) => l.includes("collect s3://")).length} collect lines)`);

  await unlink(join(s.dir, "files", "minutes.txt"));
  const sweep1 = sweeps(s.replicator);
  await until(() => sweeps(s.replicator) >= sweep1 + 1, (SWEEP_S + 3) * 1000, "a sweep");
  await assert.rejects(s.s3.send(new HeadObjectCommand({ Bucket: "acme-hub-files", Key: "files/minutes.txt" })), /NotFound/);
  assert.ok(!JSON.parse((await follower("/api/files")).text).files.some((f) => f.name === "minutes.txt"));
});

test("replicator SIGKILLed in a burst of 100 edits and restarted: the last version, never backwards", async () => {
  const w = watcher();
  let last;
  let atKill = 0;
  for (let i = 0; i < 100; i++) {
    last = `burst ${i}`;
    await edit(1, last);
    if (i === 50) {
      await s.replicator.kill("SIGKILL");
      atKill = w.reads;
    }
    await sleep(10);
  }
  const atRestart = w.reads;
  s.replicator = await start(s.settings);
  await until(async () => (await titleAt(1)) === last, 5000, "the burst's last edit at the follower");
  assert.equal((await follower()).text, await leaderPages());
  await sleep(500);
  w.stop = true;
  await w.done;
  console.log(`kill: watcher read ${w.reads} times (${atKill} before the kill, ${w.reads - atRestart} after the restart), versions down ${w.down.length}`);
  // The watcher read through the burst: before the kill and after the restart (its count
  // in all depends on how fast the 100 edits go: 20 on a quick run).
  assert.ok(atKill >= 3 && w.reads - atRestart >= 3, `the watcher read ${atKill} times before the kill, ${w.reads - atRestart} after the restart`);
  assert.deepEqual(w.down, [], "a version went down");
});

test("two replicators at once (an old one left behind, on a slow line): never backwards", async () => {
  const second = join(s.dir, "second.json");
  const settings = JSON.parse(await readFile(s.settings, "utf8"));
  await writeFile(second, JSON.stringify({ ...settings, state: join(s.dir, "second.sqlite3") }));
  // The old one's requests reach AWS 1.5 s late: each of its copies lands after newer ones.
  const slow = await startFaultProxy(P.slow, s.moto.endpoint);
  const other = await start(second, "second", slow);
  slow.faults.delayMs = 1500;
  const w = watcher();
  let last;
  for (let i = 0; i < 60; i++) {
    last = `two ${i}`;
    await edit(1, last);
    await sleep(30);
  }
  await until(async () => (await titleAt(1)) === last, 5000, "the last edit at the follower");
  await sleep(2500); // the slow one's last copies have landed (or been refused)
  assert.equal(await titleAt(1), last, "an older copy replaced the last one");
  w.stop = true;
  await w.done;
  await other.kill();
  await slow.stop();
  const refused = (other.output().match(/already newer/g) ?? []).length;
  console.log(`two replicators: watcher read ${w.reads} times, versions down ${w.down.length}, the slow one's copies refused as already newer ${refused}, its PutItems ${slow.counts.PutItem ?? 0}`);
  assert.deepEqual(w.down, [], "a version went down");
  assert.ok(refused > 0, "the slow replicator's copies never came late: the scenario did not happen");
});

test("two replicators, a file rewritten while the old one's copy of it is late: the bucket ends with the store's bytes (S3 If-Match)", async () => {
  const old = join(s.dir, "files-old.json");
  const settings = JSON.parse(await readFile(s.settings, "utf8"));
  await writeFile(old, JSON.stringify({ ...settings, state: join(s.dir, "files-old.sqlite3"), awsReadTimeout: 30 }));
  const slow = await startFaultProxy(P.slow, s.moto.endpoint);
  const other = await start(old, "files-old", slow);
  const file = join(s.dir, "files", "late.txt");
  const sha = (text) => createHash("sha256").update(text).digest("hex");
  try {
    // The old one's requests now reach AWS 8 s late.
    slow.faults.delayMs = 8000;
    const puts = slow.counts.PutObject ?? 0;
    await writeFile(file, "version 1\n");
    // Its next sweep copies the changed file list first (8 s late too), then the file.
    await until(() => (slow.counts.PutObject ?? 0) > puts, (SWEEP_S + 8 + 5) * 1000, "the old replicator's copy of version 1 under way", 20);
    // While it is held: version 2, copied by the current replicator.
    await writeFile(file, "version 2, the store's now\n");
    const head = () => s.s3.send(new HeadObjectCommand({ Bucket: "acme-hub-files", Key: "files/late.txt" })).catch(() => null);
    await until(async () => (await head())?.Metadata?.sha256 === sha("version 2, the store's now\n"), 6000, "version 2 in the bucket", 50);
    const copiedAt = Date.now();
    // The late copy of version 1 arrives, and is answered.
    await until(() => /copy file files\/late\.txt: /.test(other.output()), 25000, "the old replicator's late copy answered", 50);
    const line = other.output().split("\n").find((l) => l.includes("copy file files/late.txt"));
    const body = await (await s.s3.send(new GetObjectCommand({ Bucket: "acme-hub-files", Key: "files/late.txt" }))).Body.transformToString();
    console.log(`late file copy: version 2 in the bucket, the old one's copy of version 1 answered ${Date.now() - copiedAt} ms after; it says "${line.split("INFO ").pop()}"; its requests ${JSON.stringify(slow.counts)}`);
    assert.equal(body, "version 2, the store's now\n", "a late copy put older bytes over the store's");
  } finally {
    await other.kill();
    await slow.stop();
    await unlink(file).catch(() => {});
  }
});

test("30 % of AWS requests throttled (and 10 % 500s) for 20 s: every change copied", async () => {
  s.proxy.reset();
  Object.assign(s.proxy.faults, { throttle: 0.3, error: 0.1 });
  const end = Date.now() + 20_000;
  let i = 0;
  let last;
  while (Date.now() < end) {
    last = `throttled ${i++}`;
    await edit(2, last);
    if (i % 10 === 0) await writeFile(join(s.dir, "files", `t${i}.txt`), `file ${i}\n`);
    await sleep(200);
  }
  Object.assign(s.proxy.faults, { throttle: 0, error: 0 });
  console.log(`throttling: ${i} edits, AWS requests ${s.proxy.total()}, injected ${JSON.stringify(s.proxy.injected)}`);
  assert.ok(s.proxy.injected.throttle + s.proxy.injected.error > 10, "the proxy injected too few faults to test anything");
  await until(async () => (await titleAt(2)) === last, 5000, "the last edit at the follower");
  const sweep = sweeps(s.replicator);
  await until(() => sweeps(s.replicator) >= sweep + 1, (SWEEP_S + 3) * 1000, "a sweep");
  for (let k = 10; k < i; k += 10) {
    await s.s3.send(new HeadObjectCommand({ Bucket: "acme-hub-files", Key: `files/t${k}.txt` }));
  }
  assert.equal((await follower("/api/files")).text, await (await fetch(`${APP}/api/files`)).text());
});

test("AWS unreachable (silent): 20 edits read from the leader, all at the follower within one sweep of the return", async () => {
  s.proxy.faults.silent = true;
  let last;
  for (let i = 0; i < 20; i++) {
    last = `offline ${i}`;
    await edit(1, last);
    assert.equal(JSON.parse(await leaderPages()).pages.find((p) => p.id === 1).title, last, "the leader answers the edit");
    await sleep(100);
  }
  // Silent for as long as botocore's attempts take to give up: the replicator says so.
  await until(() => /copy \/api\/pages FAILED/.test(s.replicator.output()), 40_000, "an error line while AWS is silent", 200);
  assert.notEqual(await titleAt(1), last, "the follower got an edit while AWS was unreachable");
  const back = Date.now();
  s.proxy.speak();
  await until(async () => (await titleAt(1)) === last, SWEEP_S * 1000 + 3000, "the edits at the follower within one sweep of the return", 50);
  console.log(`AWS back: the last of 20 edits at the follower ${Date.now() - back} ms after the return`);
  console.log(s.replicator.output().split("\n").filter((l) => l.includes("FAILED")).slice(0, 2).join("\n"));
});
