// Drives the app built from the Angular quick start, docs/angular/ (tests/e2e/angular-recipe.sh),
// in headless Chromium against the simulator: leader, blackout, 502, recovery.
//   node angular-recipe.mjs <dist/hub/browser>
import assert from "node:assert/strict";
import { ports, serveConfig, startSim, launch } from "./harness.mjs";

const p = ports(18640);
const sim = await startSim(p, ["--www", process.argv[2]]);
const browser = await launch();
// docs/angular/public/config.json, pointed at the simulator.
const config = {
  leader: `http://127.0.0.1:${p.leader}`,
  follower: `http://127.0.0.1:${p.follower}`,
  health: { expect: { status: "ok" } },
  routes: [{ prefix: "/api/pages", critical: true }, { prefix: "/api/files", critical: true }],
  cache: { storage: "none" },
};
const errors = [];

/** A cold load: the list, then the note button; what the page shows. */
async function load(label) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(`${label}: ${e.message}`));
  page.on("console", (m) => /Content.Security.Policy|NG0\d/i.test(m.text()) && errors.push(`${label}: ${m.text()}`));
  await serveConfig(page, config);
  const t0 = Date.now();
  await page.goto(`http://127.0.0.1:${p.page}/`);
  await page.locator("#pages li").first().waitFor({ timeout: 10000 });
  const ms = Date.now() - t0;
  // The hub links follow the state (toObservable + switchMap): there on the leader only.
  if ((await page.textContent("#state")) === "leader") await page.locator("#hub a").first().waitFor({ timeout: 5000 });
  await page.click("#send");
  await page.waitForFunction(() => /Saved|Not saved/.test(document.querySelector("#note-result").textContent), null, { timeout: 10000 });
  const out = {
    ms,
    state: await page.textContent("#state"),
    stale: (await page.locator("text=Served by the follower").count()) > 0,
    note: await page.textContent("#note-result"),
    hubLinks: await page.locator("#hub a").count(),
  };
  await context.close();
  console.log(`${label}: ${JSON.stringify(out)}`);
  return out;
}

try {
  let r = await load("leader up");
  assert.deepEqual([r.state, r.stale], ["leader", false]);
  assert.ok(r.hubLinks > 0, "leader up: the hub links");
  assert.match(r.note, /Saved as note #1/);
  for (const mode of ["blackout", "app-down"]) {
    await sim.leader(mode);
    r = await load(mode);
    assert.deepEqual([r.state, r.stale, r.hubLinks], ["emergency", true, 0]);
    assert.match(r.note, /Not saved: LEADER_UNAVAILABLE/);
  }
  await sim.leader("up");
  r = await load("recovered");
  assert.deepEqual([r.state, r.stale], ["leader", false]);
  assert.match(r.note, /Saved as note #2/);
  assert.equal((await sim.notes()).length, 2, "the notes reached the leader");
  assert.equal((await sim.stats()).follower.writes, 0);
  assert.deepEqual(errors, []);
  console.log("the Angular quick start works: leader, blackout, 502, recovery");
} finally {
  await browser.close();
  sim.stop();
}
