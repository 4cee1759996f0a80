#!/usr/bin/env bash
# The benchmark: builds the package and the simulator, then runs tests/e2e/bench.mjs in
# headless Chromium and prints its table. Arguments go to bench.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build-pkg.sh web
cargo build --quiet --release -p hub-sim
cd tests/e2e
# The cockatiel peer, bundled for the browser (bench/vendor/ is build output, not in git).
npx esbuild node_modules/cockatiel/dist/index.js --bundle --format=esm --minify --log-level=warning --outfile=bench/vendor/cockatiel.js
node bench.mjs "$@"
