#!/usr/bin/env bash
# Builds the admin console (console/dist) when its inputs changed since the
# last build: its sources and lockfile, the protos its client is generated
# from, the starters and the Action declarations it bundles. A Rust-only
# change rebuilds nothing here, and cargo never needs Node.
set -euo pipefail
cd "$(dirname "$0")/../console"

if ! command -v npm >/dev/null; then
  echo "error: npm not found; ./dev installs Node.js and npm from Debian" >&2
  exit 1
fi

# Dependencies, exactly as the lockfile says, when the lockfile changed.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.installed-lock.json; then
  echo "==> console: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.installed-lock.json
fi

inputs=(src index.html package-lock.json tsconfig.json vite.config.ts buf.gen.yaml ../proto/actions ../examples/starters ../javy-shims/types)
if [ -f dist/index.html ] && [ -z "$(find "${inputs[@]}" -newer dist/index.html -not -path 'src/gen/*' -print -quit)" ]; then
  echo "console: up to date (console/dist)" >&2
  exit 0
fi
echo "==> console: building console/dist" >&2
npm run --silent build
