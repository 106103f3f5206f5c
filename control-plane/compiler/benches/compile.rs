//! Compile time per starter: TypeScript package → runnable module.
//!
//! `cargo bench -p actions-compiler --bench compile`

use actions_compiler::{Compiler, SourcePackage};
use actions_test_support::examples;
use criterion::{Criterion, criterion_group, criterion_main};

fn compile(c: &mut Criterion) {
    let compiler = Compiler::new(None).expect("compiler starts");
    let examples = examples().join("starters");
    let mut group = c.benchmark_group("compile");
    for starter in ["empty", "domain-allowlist", "webhook-emit", "custom-claim"] {
        let package = SourcePackage::load(&examples.join(starter)).expect("starter loads");
        group.bench_function(starter, |b| {
            b.iter(|| compiler.compile(&package).expect("compiles"));
        });
    }
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
