#!/usr/bin/env bash
# The soak: the embedded service under steady load (8 concurrent callers)
# for a bounded time, its RSS sampled every 10 s; flat over the second half
# is the pass mark. Prints the throughput per 30-second window too.
#
#   scripts/soak.sh [minutes, default 5]      (or ./dev soak)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-5}
windows=$(( minutes * 2 ))
levels=$(printf '8,%.0s' $(seq 1 "$windows"))
SAMPLE_RSS_EVERY=10 exec scripts/bench-grpc.sh --concurrency "${levels%,}" --seconds 30
