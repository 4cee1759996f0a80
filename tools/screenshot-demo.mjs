// Screenshots of the demo console (make demo → /demo/) at 1280 and 420 px wide, during a
// leader blackout, into tests/hub-sim/assets/; fails if the console does not work (under
// the page's CSP) or the landing page in it does not move to the follower.
// Usage (after the package build and `cargo build --release -p hub-sim`):
//   flock /tmp/hp-ports.lock node tools/screenshot-demo.mjs
import { ROOT, chaosConfig, launch, ports, serveConfig, startSim } from "../tests/e2e/harness.mjs";

const P = ports(Number(process.env.DEMO_SHOT_PORT ?? 18230));
const OUT = `${ROOT}tests/hub-sim/assets`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const sim = await startSim(P);
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // The landing page's config with this run's ports (www/config.json names the demo's).
  await serveConfig(context, chaosConfig(P));
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.goto(`http://127.0.0.1:${P.page}/demo/`);
  const frame = page.frameLocator("#page");
  await frame.locator("#status.badge-leader").waitFor({ timeout: 15000 });
  await page.locator("#leader-mode", { hasText: "up" }).waitFor();
  await sleep(12000); // a few probe rounds and reads, so the rates have history

  await page.click('button[data-role="leader"][data-mode="blackout"]');
  await page.locator("#leader-mode", { hasText: "blackout" }).waitFor();
  await frame.locator("#status.badge-emergency").waitFor({ timeout: 15000 });
  await page.waitForFunction(() => Number(document.getElementById("cost").textContent) > 0, null, { timeout: 15000 });
  await frame.locator("#pages-stale:not([hidden])").waitFor({ timeout: 15000 });
  await sleep(3000);
  const shown = await page.evaluate(() => ({
    cost: document.getElementById("cost").textContent,
    followerReads: document.getElementById("follower-reads").textContent,
    hangs: document.getElementById("leader-hangs").textContent,
  }));
  await page.screenshot({ path: `${OUT}/demo-1280.png` });
  await page.setViewportSize({ width: 420, height: 900 });
  await sleep(500);
  await page.screenshot({ path: `${OUT}/demo-420.png`, fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) problems.push(`at 420 px the console is ${overflow} px wider than the screen`);
  if (problems.length) throw new Error(`demo console problems:\n${problems.join("\n")}`);
  const stats = await sim.stats();
  console.log(`demo console: blackout shown, follower cost ${shown.cost}/min, follower reads ${shown.followerReads}, "${shown.hangs}"`);
  console.log(`simulator: leader ${stats.leader.requests} requests (${stats.leader.hangsOpen} hanging), follower ${stats.follower.requests}`);
  console.log(`wrote ${OUT}/demo-1280.png and demo-420.png`);
} finally {
  await browser.close();
  sim.stop();
}
