# Recipes for Actions. Run them through ./dev, which installs what they need.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Where builds go; CI points it outside the clone to reuse earlier builds.
target := env_var_or_default("CARGO_TARGET_DIR", justfile_directory() / "target")
action := target / "release" / "action"

# List the recipes.
default:
    @just --list

# Build the workspace once, in the shape the tests use, so that wasmtime is compiled once for everything.
build:
    cargo build --locked --release --workspace

# Every check CI runs: the plugin rebuilds to the committed bytes, fmt, clippy, then every test,
# the control plane's on SQLite and on PostgreSQL (started, or installed, by scripts/ensure-postgres.sh).
test: plugin-check lint
    ACTIONS_TEST_POSTGRES_URL=$(scripts/ensure-postgres.sh) ACTIONS_REQUIRE_POSTGRES=1 \
        cargo test --locked --release --workspace
    just console-test

# Build the admin console into console/dist (npm ci from the lockfile, then Vite), when its inputs changed.
console:
    scripts/build-console.sh

# The console's unit tests, then its browser suite: Playwright driving Debian's chromium against the
# embedded default started by the suite (screenshots of every step in console/test-results/).
console-test: console
    cargo build --locked --release -p actions-standalone -p actions-cli
    cd console && npx vitest run
    cd console && CHROMIUM=$(../scripts/ensure-chromium.sh) CARGO_TARGET_DIR={{target}} npx playwright test

# Start the control plane and one runner in one process, on SQLite in data/, with a demo tenant whose
# starters are published and attached (Ctrl-C stops it).
demo: build console
    {{target}}/release/actions-standalone --demo

# The same, without the demo tenant.
serve: build console
    {{target}}/release/actions-standalone

# The CLI walk-through: compile the starters and run them against their events in the sandbox.
cli-demo: build
    #!/usr/bin/env bash
    set -euo pipefail
    run() { echo; echo "\$ action $*"; "{{action}}" "$@"; }
    run build examples/starters/custom-claim -o {{target}}/demo/custom-claim.wasm
    run test examples/starters/custom-claim --event examples/starters/custom-claim/events/gold-user.json
    run test examples/starters/domain-allowlist --trigger login.pre-credential-check \
        --config examples/starters/domain-allowlist/config.json \
        --event examples/starters/domain-allowlist/events/outsider.json
    run test examples/starters/webhook-emit --trigger registration.post-create \
        --config examples/starters/webhook-emit/config.json \
        --event examples/starters/webhook-emit/events/signup.json
    run test examples/starters/domain-allowlist
    echo
    echo "the CLI is at {{action}}; try: {{action}} test examples/starters/custom-claim --event examples/starters/custom-claim/events/gold-user.json --json"

# Rebuild javy-shims/actions_plugin.wasm from javy-shims/plugin (clang-19 + wasi-libc, then Wizer).
plugin:
    scripts/build-plugin.sh

# Rebuild the plugin into a scratch file and fail if it differs from the committed one.
plugin-check:
    #!/usr/bin/env bash
    set -euo pipefail
    fresh=$(mktemp --suffix=.wasm)
    trap 'rm -f "$fresh"' EXIT
    scripts/build-plugin.sh "$fresh"
    if ! cmp -s "$fresh" javy-shims/actions_plugin.wasm; then
        echo "error: javy-shims/actions_plugin.wasm is not what javy-shims/plugin builds to; run 'just plugin' and commit the result" >&2
        exit 1
    fi
    echo "plugin reproducible: $(sha256sum < "$fresh" | cut -c1-16)"

# No import cycles between a crate's modules, cargo fmt --check, and clippy with warnings as errors.
lint:
    scripts/check-module-cycles.py
    cargo fmt --all -- --check
    cargo clippy --locked --release --workspace --all-targets -- -D warnings

# Criterion benchmarks: compile time per starter, and in-process run time per starter three ways
# (the pooled path we ship, a naive wasmtime path, Node.js vm with a new context per run).
bench:
    cargo bench --locked --workspace --bench compile --bench run

# RSS of one runner process holding 1,000 to 10,000 distinct Actions (real runner binary).
bench-memory *counts:
    cargo bench --locked --workspace --bench memory -- {{counts}}

# One tenant floods a real runner with never-ending Actions while another's latency is compared with its latency alone.
bench-isolation *args:
    cargo bench --locked --workspace --bench isolation -- {{args}}

# The embedded service under steady load for a bounded time, RSS sampled every 10 s (default 5 minutes).
soak minutes="5": build
    scripts/soak.sh {{minutes}}

# Every fuzz target (compile path, host-call payloads) for a bounded time each, default 60 s.
fuzz seconds="60" *targets:
    scripts/fuzz.sh {{seconds}} {{targets}}

# Executions per second and p50/p99/p99.9 over gRPC: the embedded service under actions-load.
bench-grpc *args: build
    scripts/bench-grpc.sh {{args}}
