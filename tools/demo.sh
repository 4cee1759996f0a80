#!/usr/bin/env bash
# The demo: builds the package, serves the landing page (www/ + pkg/) with a simulated
# leader and follower on loopback, and prints the URL of the demo console. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build-pkg.sh web
cargo build --quiet --release -p hub-sim
echo
echo "Open the demo console, http://127.0.0.1:${PAGE_PORT:-8080}/demo/ : the landing page beside the"
echo "leader and follower switches and what each side receives. Ctrl-C stops the demo."
exec target/release/hub-sim --page-port "${PAGE_PORT:-8080}" --leader-port "${LEADER_PORT:-8081}" \
  --follower-port "${FOLLOWER_PORT:-8082}" --control-port "${CONTROL_PORT:-8083}" --www www --pkg pkg "$@"
