#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, seeded from the examples and the
# hostile corpus. Installs cargo-fuzz into .tools the first time. A crash
# leaves its input in fuzz/artifacts/<target>/ and fails the run.
#
#   scripts/fuzz.sh [seconds per target, default 60] [target...]   (or ./dev fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(compile host_payloads)

tools=$PWD/.tools
export PATH="$tools/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null; then
  echo "==> installing cargo-fuzz into $tools" >&2
  cargo install --locked --root "$tools" cargo-fuzz
fi

seed() { # seed <target> <file>...
  local dir=fuzz/corpus/$1
  shift
  mkdir -p "$dir"
  for file in "$@"; do cp "$file" "$dir/seed-$(sha256sum < "$file" | cut -c1-16)"; done
}
seed compile examples/starters/*/src/*.ts runner/tests/hostile/*.ts
seed host_payloads examples/starters/*/events/*.json examples/starters/*/config.json
# Deep and long sources, in the target's shaped form: 0xF0, a repeat count
# (two bytes, little-endian, times 16), the piece's length, the piece, then
# the suffix. 0x1000 x 16 = 65,536 repeats, up to the 1 MiB file cap.
shaped() { # shaped <name> <piece> <suffix>
  local piece=$2
  { printf '\xf0\x00\x10'; printf "\\x$(printf '%02x' ${#piece})"; printf '%s%s' "$piece" "$3"; } \
    > "fuzz/corpus/compile/seed-deep-$1"
}
shaped brackets '(' '1'
shaped arrays '[' ']'
shaped negations '!' '1}'
shaped sums '1+' '1}'
shaped conditionals 'a?b:' 'c}'
shaped arrows 'a=>' '1}'
shaped templates '`${' '1'
shaped news 'new ' 'X}'
shaped generics 'Array<' 'number'
shaped ifs 'if(a)' 'return}'

printf '%s' '{"ok":true}' > fuzz/corpus/host_payloads/seed-ok
printf '%s' '{"ok":false,"error":{"name":"TypeError","message":"bad","stack":"at execute"}}' > fuzz/corpus/host_payloads/seed-threw
printf '%s' '{"url":"https://api.example.com/x","method":"post","headers":{"a":"b"},"body":"hi","timeout_ms":2500.5}' > fuzz/corpus/host_payloads/seed-fetch

# cargo-fuzz passes coverage flags that stable rustc accepts only with
# RUSTC_BOOTSTRAP; no sanitizer (-s none) keeps it to the stable toolchain.
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/fuzz/target}
for target in "${targets[@]}"; do
  echo "==> fuzzing $target for ${seconds}s" >&2
  cargo fuzz run --fuzz-dir fuzz --sanitizer none --release "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1
done
