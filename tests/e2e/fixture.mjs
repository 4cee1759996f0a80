// The fixture of the end-to-end test files (kept apart from harness.mjs, which the
// benchmark imports too, so that it does not load node:test).
import { before, after } from "node:test";
import { startSim, launch } from "./harness.mjs";
// The config every suite shares (defined in harness.mjs, which the benchmark imports too).
export { apiRoutes, pageRoutes, angularRoutes, pageSettings } from "./harness.mjs";
/** For a test file: the simulator and a browser, started before its tests, stopped after. */
export function simAndBrowser(p, extra = []) {
  const env = {};
  before(async () => {
    env.sim = await startSim(p, extra);
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    env.sim?.stop();
  });
  return env;
}
