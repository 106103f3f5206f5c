#!/usr/bin/env bash
# Builds the Actions Javy plugin for wasm32-wasip1 with Debian's clang-19 and
# wasi-libc (see javy-shims/README.md), then pre-initialises it with Wizer.
#
#   scripts/build-plugin.sh [OUT]     default OUT: javy-shims/actions_plugin.wasm
#
# Reproducible: paths are remapped so that the bytes do not depend on where
# the clone or the cargo home lives.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/javy-shims/actions_plugin.wasm}
target_root=${CARGO_TARGET_DIR:-$root/target}
plugin_target=$target_root/javy-plugin
cargo_home=${CARGO_HOME:-$HOME/.cargo}

# Debian ships wasi-libc under the wasm32-wasi triple; clang-19 asks for
# wasm32-wasip1. Two symlinks bridge them.
sysroot=$plugin_target/wasi-sysroot
mkdir -p "$sysroot/include" "$sysroot/lib"
ln -sfn /usr/include/wasm32-wasi "$sysroot/include/wasm32-wasip1"
ln -sfn /usr/lib/wasm32-wasi "$sysroot/lib/wasm32-wasip1"

remap="--remap-path-prefix=$root=/actions --remap-path-prefix=$cargo_home=/cargo"
echo "building the plugin (wasm32-wasip1, release)" >&2
# The toolchain's settings apply to this build only: some of them are
# watched by build scripts of the workspace's dependencies
# (`rerun-if-env-changed`), and exported to the workspace build below they
# made it rebuild wasmtime, rustls and ring, and the tests after it rebuild
# them again, on every run.
(
  export RQUICKJS_SYS_NO_WASI_SDK=1 # otherwise rquickjs-sys downloads wasi-sdk
  export CC_wasm32_wasip1=clang-19
  export AR_wasm32_wasip1=llvm-ar-19
  export CFLAGS_wasm32_wasip1="--sysroot=$sysroot -ffile-prefix-map=$root=/actions -ffile-prefix-map=$cargo_home=/cargo"
  export LIBCLANG_PATH=/usr/lib/llvm-19/lib
  export BINDGEN_EXTRA_CLANG_ARGS_wasm32_wasip1="--sysroot=$sysroot"
  export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="$remap"
  export SOURCE_DATE_EPOCH=0
  cargo build --locked --release --target wasm32-wasip1 \
    --manifest-path "$root/javy-shims/plugin/Cargo.toml" \
    --target-dir "$plugin_target"
)

raw=$plugin_target/wasm32-wasip1/release/actions_javy_plugin.wasm
echo "pre-initialising it with Wizer" >&2
# Built with the whole workspace, as the tests build it, so that wasmtime
# is compiled once for both.
cargo build --locked --release --workspace
"$target_root/release/preinit-plugin" "$raw" "$out"
