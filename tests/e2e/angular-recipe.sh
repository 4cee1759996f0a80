#!/usr/bin/env bash
# Follows docs/angular.md literally: `ng new hub --ssr`, the package from an `npm pack`
# of pkg/, the files of docs/angular/ copied over the generated app as they are, `ng build`,
# `ng test`, then tests/e2e/angular-recipe.mjs in Chromium. In target/angular-recipe; not
# part of `make test` (it installs a whole new app). Needs pkg/ and hub-sim.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
ver=$(node -p 'require("./tests/angular/package.json").dependencies["@angular/core"]')
work=target/angular-recipe
rm -rf "$work" && mkdir -p "$work" target/npm
rm -f target/npm/health-proxy-*.tgz
(cd pkg && npm pack --pack-destination ../target/npm --silent >/dev/null)
cd "$work"
NG_CLI_ANALYTICS=false npx -y -p "@angular/cli@$ver" ng new hub --ssr --style=css --defaults --skip-git --skip-install >/dev/null
cd hub
# The Angular versions of tests/angular: ng new writes ^ ranges, and a registry mirror
# that lags on some @angular packages then has no consistent set.
sed -i "s/\"\\^21\\.[0-9]*\\.[0-9]*\"/\"$ver\"/" package.json
npm install --no-audit --no-fund --loglevel=error
npm install --no-audit --no-fund --loglevel=error "$root"/target/npm/health-proxy-*.tgz
# The quick start's files as they are (docs/angular/), and its angular.json step: the
# build options of docs/angular/build-options.json merged into projects.hub.architect.build.
cp -r "$root"/docs/angular/src "$root"/docs/angular/public .
rm src/app/app.html src/app/app.css
node - "$root/docs/angular/build-options.json" <<'JS'
const fs = require("fs");
const merge = (into, from) => {
  for (const [k, v] of Object.entries(from)) {
    if (v && typeof v === "object" && !Array.isArray(v) && into[k] && typeof into[k] === "object") merge(into[k], v);
    else into[k] = v;
  }
};
const angular = JSON.parse(fs.readFileSync("angular.json", "utf8"));
merge(angular.projects.hub.architect.build, JSON.parse(fs.readFileSync(process.argv[2], "utf8")));
fs.writeFileSync("angular.json", JSON.stringify(angular, null, 2));
JS
NG_CLI_ANALYTICS=false npx ng build
NG_CLI_ANALYTICS=false npx ng test --watch=false
cd "$root/tests/e2e" && node angular-recipe.mjs "$root/$work/hub/dist/hub/browser"
