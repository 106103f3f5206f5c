#!/usr/bin/env bash
# The gRPC benchmark: starts the embedded default (control plane + runner,
# demo tenant) in a scratch data folder on its own ports, drives the
# runner's Execute with actions-load, and stops it. Extra arguments go to
# actions-load (e.g. --concurrency 1,8,32 --seconds 10).
#
#   scripts/bench-grpc.sh [actions-load args...]      (or ./dev bench-grpc)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CARGO_TARGET_DIR:-$PWD/target}/release
data=$(mktemp -d)
cp_port=${BENCH_CONTROL_PLANE_PORT:-50151}
runner_port=${BENCH_RUNNER_PORT:-50161}
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

RUST_LOG=${RUST_LOG:-warn} "$bin/actions-standalone" --demo --data-dir "$data" \
  --control-plane-listen "127.0.0.1:$cp_port" --runner-listen "127.0.0.1:$runner_port" \
  > "$data/standalone.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q "Actions is running" "$data/standalone.log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$data/standalone.log" >&2; exit 1; }
  sleep 0.1
done
grep -q "Actions is running" "$data/standalone.log" || { echo "error: the standalone service did not start in 60 s" >&2; exit 1; }
token=$(sed -n 's/^runner_token = "\(.*\)"/\1/p' "$data/secrets.toml")

echo "runner pid $pid on 127.0.0.1:$runner_port; $(nproc) CPUs; $(date -u +%FT%TZ)"
sampler=
if [ -n "${SAMPLE_RSS_EVERY:-}" ]; then # the soak: RSS of the service while the load runs
  (
    started=$(date +%s)
    while kill -0 "$pid" 2>/dev/null; do
      echo "$(( $(date +%s) - started )) $(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
      sleep "$SAMPLE_RSS_EVERY"
    done
  ) > "$data/rss.log" &
  sampler=$!
fi
ACTIONS_RUNNER_TOKEN=$token "$bin/actions-load" --server "http://127.0.0.1:$runner_port" \
  --tenant demo --trigger login.post-login \
  --event examples/starters/custom-claim/events/gold-user.json "$@"
if [ -n "$sampler" ]; then
  kill "$sampler" 2>/dev/null || true
  echo
  echo "| seconds | RSS |"
  echo "|---|---|"
  awk '{ printf "| %s | %.1f MiB |\n", $1, $2 / 1024 }' "$data/rss.log"
  awk '{ rss[NR] = $2 } END {
    half = int(NR / 2) + 1
    printf "RSS over the second half: %.1f -> %.1f MiB (%+.1f MiB)\n", rss[half] / 1024, rss[NR] / 1024, (rss[NR] - rss[half]) / 1024
  }' "$data/rss.log"
fi
echo "runner RSS after the load: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status"), peak $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")"
