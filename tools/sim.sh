#!/usr/bin/env bash
# Builds the simulator and starts it in the background on the given ports (page,
# leader, follower, control), waiting until it is ready. Prints its PID.
# Usage: sim.sh PAGE LEADER FOLLOWER CONTROL [extra hub-sim flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
page=$1 leader=$2 follower=$3 control=$4
shift 4
cargo build --quiet --release -p hub-sim
log=$(mktemp /tmp/hub-sim.XXXXXX.log)
target/release/hub-sim --page-port "$page" --leader-port "$leader" --follower-port "$follower" \
  --control-port "$control" --www www --pkg pkg "$@" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if grep -qx ready "$log"; then
    echo "$pid"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.1
done
# Not ready in time (or exited): leave nothing behind, neither the process nor its log.
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
echo "hub-sim did not start:" >&2
cat "$log" >&2
rm -f "$log"
exit 1
