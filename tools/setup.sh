#!/usr/bin/env bash
# Installs what the tests and the demo need, skipping whatever is already there:
# the wasm32 target, wasm-bindgen-cli (the exact version in Cargo.lock), wasm-pack,
# Chromium + ChromeDriver, Firefox + geckodriver and WebKitGTK's WebDriver (the engines of
# tools/engines.sh), and the npm packages of tests/e2e (playwright-core, binaryen
# for a wasm-opt recent enough for externref tables: Debian's 108 breaks them, and
# esbuild, which minifies the package's JS glue).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-pack runs wasm-bindgen, which must match the crate's version exactly.
[ -f Cargo.lock ] || cargo generate-lockfile
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version"
  # --locked can name a dependency version the registry no longer serves; then resolve afresh.
  cargo install --locked wasm-bindgen-cli --version "=$bindgen_version" \
    || cargo install wasm-bindgen-cli --version "=$bindgen_version"
fi

wasm_pack_version=0.15.1
if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$wasm_pack_version" ]; then
  say "installing wasm-pack $wasm_pack_version"
  cargo install --locked wasm-pack --version "=$wasm_pack_version"
fi

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v node >/dev/null || missing+=(nodejs npm)
# WebKitGTK's WebDriver starts a GTK browser, hence a virtual display.
command -v firefox-esr >/dev/null || missing+=(firefox-esr)
command -v WebKitWebDriver >/dev/null || missing+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null || missing+=(xvfb xauth)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
geckodriver_version=0.37.1
if [ "$(geckodriver --version 2>/dev/null | awk 'NR == 1 {print $2}')" != "$geckodriver_version" ]; then
  say "installing geckodriver $geckodriver_version"
  cargo install --locked geckodriver --version "=$geckodriver_version" \
    || cargo install geckodriver --version "=$geckodriver_version"
fi
# The real-stack suite's leader: NGINX from Debian in front of Flask under gunicorn, both
# from PyPI into a virtualenv (target/venv) at the versions in deploy/leader/requirements.txt,
# with the deploy check's aws CLI and moto (a local S3 API); openssl makes its certificate.
rs_missing=()
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || rs_missing+=(nginx)
command -v openssl >/dev/null || rs_missing+=(openssl)
python3 -c 'import venv, ensurepip' 2>/dev/null || rs_missing+=(python3 python3-venv)
if [ ${#rs_missing[@]} -gt 0 ]; then
  say "installing ${rs_missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${rs_missing[@]}" >/dev/null
fi
venv=target/venv
if [ ! -f "$venv/.installed" ] || [ tools/requirements.txt -nt "$venv/.installed" ] \
  || [ deploy/leader/requirements.txt -nt "$venv/.installed" ] \
  || ! "$venv/bin/python" -c 'import flask, gunicorn, moto, awscli' 2>/dev/null; then
  say "installing Flask, gunicorn, awscli and moto into $venv"
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tools/requirements.txt
  touch "$venv/.installed"
fi
say "real-stack leader ready: $(PATH="$PATH:/usr/sbin" nginx -v 2>&1), $("$venv/bin/gunicorn" --version), $("$venv/bin/aws" --version 2>&1)"
# The real-network suite's line: nftables drops packets, iptables sends them to the queue
# consumer (tests/delayq; this kernel's nftables has no `queue`), tc shapes the rate.
rn_missing=()
command -v nft >/dev/null || [ -x /usr/sbin/nft ] || rn_missing+=(nftables)
command -v iptables >/dev/null || [ -x /usr/sbin/iptables ] || rn_missing+=(iptables)
command -v tc >/dev/null || [ -x /usr/sbin/tc ] || rn_missing+=(iproute2)
if [ ${#rn_missing[@]} -gt 0 ]; then
  say "installing ${rn_missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${rn_missing[@]}" >/dev/null
fi

if [ ! -x tests/e2e/node_modules/.bin/wasm-opt ] || [ ! -x tests/e2e/node_modules/.bin/esbuild ] \
  || [ ! -d tests/e2e/node_modules/playwright-core ] \
  || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then
  say "installing the npm packages of tests/e2e"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
say "toolchain ready: $(wasm-pack --version), wasm-bindgen $bindgen_version, $(chromium --version 2>/dev/null | head -1), $(tests/e2e/node_modules/.bin/wasm-opt --version)"
