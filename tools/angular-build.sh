#!/usr/bin/env bash
# Builds the Angular example app (tests/angular) against the package in pkg/, installed
# the way a user gets it: `npm pack`ed, then unpacked into node_modules/health-proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
app=tests/angular
if [ ! -d "$app/node_modules/@angular/core" ] || [ "$app/package-lock.json" -nt "$app/node_modules/.package-lock.json" ]; then
  (cd "$app" && npm ci --no-audit --no-fund --loglevel=error)
fi
mkdir -p target/npm
rm -f target/npm/health-proxy-*.tgz
(cd pkg && npm pack --pack-destination ../target/npm --silent >/dev/null)
rm -rf "$app/node_modules/health-proxy"
mkdir -p "$app/node_modules/health-proxy"
tar -xzf target/npm/health-proxy-*.tgz -C "$app/node_modules/health-proxy" --strip-components=1
(cd "$app" && NG_CLI_ANALYTICS=false npx ng build)
