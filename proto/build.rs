//! Generates the gRPC code from `actions/**/*.proto` with protox (a pure-Rust
//! protobuf compiler): no `protoc` on the build machine.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "actions/runner/v1/execution.proto",
    "actions/controlplane/v1/runners.proto",
    "actions/controlplane/v1/management.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // Reflection serves this set; compile_fds does not write it itself.
    std::fs::write(
        out.join("actions_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
