#!/usr/bin/env bash
# Follows the README's "Using it from Angular" literally: `ng new hub --ssr`, the package
# from an `npm pack` of pkg/, the README's code blocks as the app's files, `ng build`,
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
node - "$root/README.md" <<'JS'
const fs = require("fs");
const readme = fs.readFileSync(process.argv[2], "utf8");
const section = readme.slice(readme.indexOf("## Using it from Angular"), readme.indexOf("## Configuration"));
const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], code: m[2] }));
const pick = (lang, start) => {
  const found = blocks.filter((b) => b.lang === lang && b.code.startsWith(start));
  if (found.length !== 1) throw new Error(`README: ${found.length} ${lang} blocks start with ${start}`);
  return found[0].code;
};
// Step 2 is a fragment of angular.json: apply it, after checking the README says the same.
const fragment = pick("json", '"options"');
const optimization = { scripts: true, styles: { minify: true, inlineCritical: false }, fonts: true };
for (const line of ['"inlineCritical": false', '"outputMode": "static"']) {
  if (!fragment.includes(line)) throw new Error(`README's angular.json step lacks ${line}`);
}
const angular = JSON.parse(fs.readFileSync("angular.json", "utf8"));
const build = angular.projects.hub.architect.build;
build.options.outputMode = "static";
build.configurations.production.optimization = optimization;
fs.writeFileSync("angular.json", JSON.stringify(angular, null, 2));
fs.writeFileSync("public/config.json", pick("json", "{"));
fs.writeFileSync("src/app/app.config.ts", pick("ts", "import { ApplicationConfig"));
fs.writeFileSync("src/main.ts", pick("ts", "import { mergeApplicationConfig"));
fs.writeFileSync("src/app/app.ts", pick("ts", "import { Component"));
fs.writeFileSync("src/app/app.spec.ts", pick("ts", "import { TestBed"));
fs.rmSync("src/app/app.html");
fs.rmSync("src/app/app.css");
JS
NG_CLI_ANALYTICS=false npx ng build
NG_CLI_ANALYTICS=false npx ng test --watch=false
cd "$root/tests/e2e" && node angular-recipe.mjs "$root/$work/hub/dist/hub/browser"
