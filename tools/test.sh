#!/usr/bin/env bash
# Every test: lints, the native core tests, the simulator's tests, the library in
# headless Chromium, Firefox and WebKit and in Node against the simulator, the package size,
# and the landing page end to end (simulator, real stack, real network: needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

# The suites use fixed ports (18080–18599): a second run waits for the first rather than
# colliding with it. One lock for every user of those ports (a single suite run by hand
# takes it too: `flock /tmp/hp-ports.lock …`); HP_TEST_LOCK names another. It is held
# until exit, and by any server a step leaves behind, since that still holds its port.
lock=${HP_TEST_LOCK:-/tmp/hp-ports.lock}
exec 9>"$lock"
if ! flock -n 9; then
  echo "another test run holds $lock: waiting for it" >&2
  flock 9
fi

tools/setup.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "formatting"
cargo fmt --all --check

step "documentation links: every relative link, anchor and named path resolves"
node tools/check-links.mjs

step "clippy (library denies unwrap/expect/panic/indexing), native and wasm32"
cargo clippy --quiet --workspace --all-targets -- -D warnings
cargo clippy --quiet --target wasm32-unknown-unknown --lib --tests -- -D warnings

step "native tests: the pure core (with property tests) and the simulator"
cargo test --workspace

step "package build"
tools/build-pkg.sh web

sim_pid=$(tools/sim.sh 18080 18081 18082 18083)
trap 'kill "$sim_pid" 2>/dev/null || true' EXIT

export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-300}
step "wasm tests in Chromium, Firefox and WebKit: in a page (page, leader and follower on three origins), in a dedicated Web Worker, and the fallbacks for missing APIs"
tools/engines.sh

step "wasm tests in Node (no window, no Web Storage)"
wasm-pack test --node -- --test node

step "Angular example app: npm pack of pkg/, Angular CLI production build with prerendering"
tools/angular-build.sh

step "Angular unit tests (ng test: Vitest, jsdom): health-proxy/angular under provideHttpClientTesting()"
(cd tests/angular && NG_CLI_ANALYTICS=false npx ng test --watch=false)

step "deploy check: the files of deploy/ as docs/deploying.md says (nginx -t, Flask under gunicorn, upload.sh and the Angular app's upload.sh with the aws CLI against a local S3 API)"
target/venv/bin/python -m unittest discover -s tests/deploy -p 'test_*.py'
tests/deploy/deploy-check.sh tests/angular/dist/hub/browser

step "end-to-end in headless Chromium: the landing page (chaos timeline, tabs, one prober per browser) and the Angular app"
cargo build --quiet --release -p hub-sim
(cd tests/e2e && node --test --test-concurrency=1 chaos.test.mjs tabs.test.mjs prober.test.mjs wake.test.mjs angular.test.mjs cannot-start.test.mjs)

step "end-to-end: the landing page's own rules, the real stack (NGINX + Flask/gunicorn leader, API Gateway + Lambda follower, files on S3; issue 33's traps), the replica (replicator, fault proxy, moto's DynamoDB and S3) and the operator's page of outage reports"
(cd tests/e2e && node --test --test-concurrency=1 page.test.mjs reads.test.mjs lighthouse.test.mjs realstack.test.mjs realstack-traps.test.mjs replica.test.mjs operator.test.mjs)

step "end-to-end on a real network: the leader in a network namespace of its own, the line cut by the kernel (blackout, flapping, far, loss, link down), and the replica's scenarios (an edit then a blackout, the uplink alone lost, SIGKILL, two replicators, throttling, cost)"
cargo build --quiet --release -p delayq
(cd tests/e2e && node --test realnet.test.mjs)

step "all tests passed"
