#!/usr/bin/env bash
# Navigation → first list shown, before and after, in one run: builds the Angular example
# app and integration of another revision ($1, default main) against today's pkg/ and
# node_modules into target/angular-before, then runs the cold-load test of
# tests/e2e/angular.test.mjs on both builds. Needs pkg/, tests/angular/node_modules, hub-sim.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-main}
dir=target/angular-before
rm -rf "$dir" && mkdir -p "$dir"
git archive "$rev" tests/angular src/angular | tar -x -C "$dir"
app="$dir/tests/angular"
mkdir -p "$app/node_modules"
for entry in tests/angular/node_modules/* tests/angular/node_modules/.bin; do
  [ "$(basename "$entry")" = health-proxy ] || ln -s "$PWD/$entry" "$app/node_modules/"
done
cp -r pkg "$app/node_modules/health-proxy"
rm -rf "$app/node_modules/health-proxy/angular" && mkdir "$app/node_modules/health-proxy/angular"
cp "$dir"/src/angular/index.js "$dir"/src/angular/index.d.ts "$app/node_modules/health-proxy/angular/"
(cd "$app" && NG_CLI_ANALYTICS=false node node_modules/@angular/cli/bin/ng.js build >/dev/null)
cd tests/e2e
ANGULAR_BEFORE_DIST="$PWD/../../$app/dist/hub/browser" node --test --test-name-pattern "cold load" angular.test.mjs
