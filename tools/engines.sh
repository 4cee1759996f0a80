#!/usr/bin/env bash
# The wasm suites in the three engines our visitors use: Chromium, Firefox and WebKit
# (Safari's engine, as WebKitGTK). Each suite is built once and the same .wasm runs in
# each engine, then one line per engine gives its version and pass counts. Needs the
# simulator on its fixed ports (tools/sim.sh); usage: engines.sh [ENGINE...]
set -euo pipefail
cd "$(dirname "$0")/.."

all_began=$SECONDS
suites=(browser worker fallbacks offline sending)
engines=(chromium firefox webkit)
[ $# -eq 0 ] || engines=("$@")
for engine in "${engines[@]}"; do
  case $engine in chromium | firefox | webkit) ;; *)
    echo "unknown engine '$engine': chromium, firefox or webkit" >&2
    exit 2
    ;;
  esac
done
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-300}

built=$(cargo test --quiet --target wasm32-unknown-unknown --no-run --message-format=json \
  $(printf -- '--test %s ' "${suites[@]}") |
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    for (const line of s.split("\n")) {
      const m = line.startsWith("{") && JSON.parse(line);
      if (m && m.reason === "compiler-artifact" && m.executable && m.target.kind.includes("test"))
        console.log(`${m.target.name} ${m.executable}`);
    }
  });')
declare -A wasm
while read -r name file; do wasm[$name]=$file; done <<<"$built"

version() {
  case $1 in
    chromium) chromium --version | awk '{print $2}' ;;
    firefox) firefox-esr --version | awk '{print $3}' ;;
    # WebKitGTK prints no version of its own; the package holding the engine does.
    webkit) dpkg-query -W -f '${Version}' libwebkit2gtk-4.1-0 | sed 's/-.*//' ;;
  esac
}

# One engine, one suite: the runner with that engine's WebDriver.
run() {
  local engine=$1 file=$2
  case $engine in
    chromium) CHROMEDRIVER=$(command -v chromedriver) wasm-bindgen-test-runner "$file" ;;
    # Debian's Firefox is firefox-esr, which geckodriver does not look for by itself.
    firefox) GECKODRIVER=$(command -v geckodriver) GECKODRIVER_ARGS="--binary $(command -v firefox-esr)" \
      wasm-bindgen-test-runner "$file" ;;
    # WebKitWebDriver starts WebKitGTK's MiniBrowser, a GTK window: on a virtual display.
    webkit) SAFARIDRIVER=$(command -v WebKitWebDriver) xvfb-run -a wasm-bindgen-test-runner "$file" ;;
  esac
}

declare -A label=([chromium]=Chromium [firefox]=Firefox [webkit]=WebKitGTK)
summary=() failed=0
for engine in "${engines[@]}"; do
  line=$(printf '%-10s %-14s' "${label[$engine]}" "$(version "$engine")")
  began=$SECONDS
  for suite in "${suites[@]}"; do
    printf '\n\033[1m-- %s: %s\033[0m\n' "${label[$engine]}" "$suite"
    log=$(mktemp)
    run "$engine" "${wasm[$suite]}" 2>&1 | tee "$log" || failed=1
    # "test result: ok. 33 passed; 0 failed; 0 ignored; ..."
    result=$(grep -o 'test result: [a-zA-Z]*\. [0-9]* passed; [0-9]* failed; [0-9]* ignored' "$log" | tail -1 || true)
    rm -f "$log"
    if [ -z "$result" ]; then
      line+="  $suite: did not run"
      failed=1
    else
      read -r passed bad ignored < <(sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed; ([0-9]+) ignored/\1 \2 \3/' <<<"$result")
      line+="  $suite $passed/$((passed + bad))"
      [ "$ignored" = 0 ] || line+=" ($ignored ignored)"
      [ "$bad" = 0 ] || failed=1
    fi
  done
  summary+=("$line  ($((SECONDS - began)) s)")
done

printf '\n\033[1m%-10s %-14s  %s\033[0m\n' engine version "passed/run per suite (wall time)"
printf '%s\n' "${summary[@]}"
echo "${#engines[@]} engines in $((SECONDS - all_began)) s, the build included"
exit "$failed"
