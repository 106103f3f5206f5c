#!/usr/bin/env bash
# Starts a runner on 127.0.0.1:50061 whose demo tenant has the starters
# attached, so that a newcomer can trigger a login at once. Data (compiled
# modules, flows, settings) goes to data/demo, or $ACTIONS_DATA_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CARGO_TARGET_DIR:-$root/target}/release
data=${ACTIONS_DATA_DIR:-$root/data/demo}
listen=${ACTIONS_RUNNER_LISTEN:-127.0.0.1:50061}
mkdir -p "$data/modules" "$data/build"

# Compiles a starter and files it under its hash, as the control plane will.
module() {
  local out=$data/build/$1.wasm sha
  sha=$("$bin/action" build "$root/examples/starters/$1" -o "$out" --json | sed -n 's/.*"sha256": "\([0-9a-f]*\)".*/\1/p')
  cp "$out" "$data/modules/$sha.wasm"
  echo "$sha"
}
domain=$(module domain-allowlist)
claim=$(module custom-claim)
webhook=$(module webhook-emit)

cat > "$data/flows.json" <<JSON
{
  "revision": 1,
  "tenants": {
    "demo": {
      "slots": {
        "login.pre-credential-check": [
          { "id": "allowlist", "action_slug": "domain-allowlist", "action_version": "0.1.0",
            "module_sha256": "$domain", "config": { "allowed_domains": ["example.com"] } }
        ],
        "login.post-login": [
          { "id": "tier-claim", "action_slug": "custom-claim", "action_version": "0.1.0",
            "module_sha256": "$claim", "config": {} }
        ],
        "registration.post-create": [
          { "id": "signup-hook", "action_slug": "webhook-emit", "action_version": "0.1.0",
            "module_sha256": "$webhook", "config": { "webhook_url": "http://127.0.0.1:9/hook" },
            "fail_open": true }
        ]
      }
    }
  }
}
JSON

cat > "$data/runner.toml" <<TOML
listen = "$listen"
flows_file = "$data/flows.json"
modules_dir = "$data/modules"
cache_dir = "$data/cache"
TOML

action=$bin/action
cat <<INSTRUCTIONS

The runner is starting on $listen with a tenant "demo":
  login.pre-credential-check  domain-allowlist (example.com only)
  login.post-login            custom-claim
  registration.post-create    webhook-emit (to 127.0.0.1:9, which the fetch guard refuses; it fails open)

In another terminal:
  $action trigger login.post-login --event examples/starters/custom-claim/events/gold-user.json
  $action trigger login.pre-credential-check --event examples/starters/domain-allowlist/events/outsider.json
  $action trigger registration.post-create --event examples/starters/webhook-emit/events/signup.json --json

Edit $data/flows.json and the runner picks the change up within a second.
Ctrl-C stops it (in-flight calls finish first).

INSTRUCTIONS
exec "$bin/actions-runner" --config "$data/runner.toml"
