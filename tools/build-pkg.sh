#!/usr/bin/env bash
# Builds the npm package into pkg/ (release, --target web unless $1 names another),
# shrinks the wasm with wasm-opt -Oz and minifies the JS glue (binaryen and esbuild from
# tests/e2e's npm packages), prints its size (gzip -9 and brotli 11) and writes a .gz and
# a .br copy of each .wasm and .js (tools/compress.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-web}
out=${2:-pkg}
# One build; its chatter is shown only when it fails (the first error is then on screen).
log=$(mktemp /tmp/build-pkg.XXXXXX.log)
trap 'rm -f "$log"' EXIT
if ! wasm-pack build --release --target "$target" --out-dir "$out" --out-name health_proxy >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
# The Angular integration ships in the web package, as `health-proxy/angular` (it calls
# the web target's init(); Angular's esbuild builder cannot import wasm as a module).
if [ "$target" = web ]; then
  mkdir -p "$out/angular"
  cp src/angular/index.js src/angular/index.d.ts src/angular/wasm.d.ts "$out/angular/"
  # The loader sits next to the glue: it imports ./health_proxy.js.
  cp src/loader/index.js "$out/load.js"
  cp src/loader/index.d.ts "$out/load.d.ts"
  node -e '
const fs = require("fs");
const file = process.argv[1];
const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
pkg.files = [...new Set([...(pkg.files ?? []), "angular/", "load.js", "load.d.ts"])];
pkg.exports = {
  ".": { types: "./health_proxy.d.ts", default: "./health_proxy.js" },
  "./load": { types: "./load.d.ts", default: "./load.js" },
  "./angular": { types: "./angular/index.d.ts", default: "./angular/index.js" },
  "./health_proxy_bg.wasm": { types: "./angular/wasm.d.ts", default: "./health_proxy_bg.wasm" },
  "./package.json": "./package.json",
};
pkg.peerDependencies = { "@angular/common": ">=19", "@angular/core": ">=19", rxjs: "^7.4.0" };
pkg.peerDependenciesMeta = Object.fromEntries(Object.keys(pkg.peerDependencies).map((k) => [k, { optional: true }]));
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$out/package.json"
fi

wasm="$out/health_proxy_bg.wasm"
# Measured (gzip -9 of wasm + glue): flatten + rereloop then two -Oz rounds is ~300 B
# smaller than one -Oz, a second flatten + rereloop round ~100 B more; --low-memory-unused
# (fold constant offsets into loads/stores) ~500 B more. Its assumption holds: Rust's
# wasm32 stack starts at 1 MiB and grows down, so addresses below 1 KiB are reached only
# by a stack already within 1 KiB of overflowing.
tests/e2e/node_modules/.bin/wasm-opt --flatten --rereloop -Oz --flatten --rereloop -Oz -Oz --low-memory-unused \
  --strip-debug --strip-producers "$wasm" -o "$wasm.opt"
mv "$wasm.opt" "$wasm"
# Short import/export names; the bundler flavour keeps them, its bundler links by name.
if [ "$target" = web ]; then
  node tools/shorten-names.mjs tests/e2e/node_modules/.bin/wasm-opt "$wasm" "$out/health_proxy.js" "$out/health_proxy.d.ts"
  rm -f "$out/health_proxy_bg.wasm.d.ts" # the old names; not in the npm package anyway
fi
wasm_raw=$(wc -c <"$wasm")
wasm_gz=$(gzip -9c "$wasm" | wc -c)
# The glue: health_proxy.js, plus health_proxy_bg.js in the bundler flavour. Shipped
# minified (its API docs live in health_proxy.d.ts): a page that loads pkg/ without a
# bundler, like www/, downloads it as is.
glue="$out/health_proxy.js"
[ -f "$out/health_proxy_bg.js" ] && glue="$glue $out/health_proxy_bg.js"
for file in $glue; do
  tests/e2e/node_modules/.bin/esbuild "$file" --minify --log-level=warning --outfile="$file.min"
  mv "$file.min" "$file"
done
js_raw=$(cat $glue | wc -c)
js_gz=$(cat $glue | gzip -9c | wc -c)
# The loader (load.js): downloaded besides, by pages that use it; not in the budget's sum.
if [ -f "$out/load.js" ]; then
  tests/e2e/node_modules/.bin/esbuild "$out/load.js" --minify --log-level=warning --outfile="$out/load.js.min"
  mv "$out/load.js.min" "$out/load.js"
fi
# Pre-compressed copies (FILE.gz, FILE.br) of what a page downloads, for hosts that serve
# a stored encoding: CloudFront compresses JS but not application/wasm (docs/deploying.md).
rm -f "$out"/*.gz "$out"/*.br
sizes=$(node tools/compress.mjs "$wasm" "$out"/*.js)
wasm_br=$(awk -v f="$(basename "$wasm")" '$1 == f { print $4 }' <<<"$sizes")
js_br=0
for file in $glue; do js_br=$((js_br + $(awk -v f="$(basename "$file")" '$1 == f { print $4 }' <<<"$sizes"))); done
printf 'package size (%s): wasm %d B (%d B gzipped, %d B brotli), JS glue %d B (%d B gzipped, %d B brotli), total %d B gzipped, %d B brotli\n' \
  "$target" "$wasm_raw" "$wasm_gz" "$wasm_br" "$js_raw" "$js_gz" "$js_br" $((wasm_gz + js_gz)) $((wasm_br + js_br))
[ -f "$out/load.js" ] && printf 'loader (load.js): %d B (%d B gzipped)\n' "$(wc -c <"$out/load.js")" "$(gzip -9c "$out/load.js" | wc -c)"
# The budget (80 KiB gzipped, wasm + glue) is a requirement: the build of the package
# (the web flavour, as published) fails over it. A bundler re-minifies its own flavour.
budget=$((80 * 1024))
if [ "$target" = web ] && [ $((wasm_gz + js_gz)) -gt $budget ]; then
  echo "the package is over its budget of $budget B gzipped" >&2
  exit 1
fi
