//! Modules and their instances: loaded, cached by hash and checked against
//! the plugin build; evaluated in dependency order with and without
//! top-level await; and the naive instance strategy the benchmarks compare
//! against, behaving like the pooled one.

use super::{
    CUSTOM_CLAIM, SANDBOX, assert_next_run_is_clean, compile, limits, request, run, run_with,
};
use crate::common::COMPILER;
use actions_compiler::SourcePackage;
use actions_runner::{
    InstanceStrategy, Outcome, RunLimits, RunnerError, Sandbox, SandboxConfig, Trigger,
};
use actions_test_support::cache_dir;
use serde_json::json;
use std::collections::BTreeMap;

#[tokio::test]
async fn modules_are_cached_by_hash_and_checked() {
    let wasm = compile(CUSTOM_CLAIM);
    let first = SANDBOX.load(&wasm).expect("loads");
    let second = SANDBOX.load(&wasm).expect("loads");
    assert_eq!(first.sha256(), second.sha256());

    assert!(matches!(
        SANDBOX.load(b"\0asm\x01\0\0\0"),
        Err(RunnerError::InvalidModule(_))
    ));
    // The same module, made for another plugin build.
    let id = actions_plugin_host::plugin_id();
    let forged = replace(&wasm, id.as_bytes(), &"0".repeat(id.len()).into_bytes());
    assert!(matches!(
        SANDBOX.load(&forged),
        Err(RunnerError::PluginMismatch { .. })
    ));
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let at = haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present");
    let mut out = haystack.to_vec();
    out[at..at + needle.len()].copy_from_slice(with);
    out
}

/// The benchmarks' baseline must do the same work: same decision, effects,
/// logs and limits as the pooled path, from its own uncached compile.
#[tokio::test]
async fn the_naive_baseline_behaves_like_the_pooled_path() {
    let naive = Sandbox::new(SandboxConfig {
        strategy: InstanceStrategy::Naive,
        cache_dir: Some(cache_dir!()),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts");
    let pooled = run(CUSTOM_CLAIM).await;
    let baseline = run_with(
        &naive,
        CUSTOM_CLAIM,
        Trigger::LoginPostLogin,
        RunLimits::default(),
    )
    .await;
    assert_eq!(baseline.outcome, pooled.outcome);
    assert_eq!(baseline.effects, pooled.effects);
    assert_eq!(baseline.logs.len(), pooled.logs.len());
    assert_eq!(baseline.fuel_consumed, pooled.fuel_consumed);

    let spinning = run_with(
        &naive,
        "export async function execute() { while (true) {} }",
        Trigger::LoginPostLogin,
        limits(|l| l.fuel = 5_000_000),
    )
    .await;
    assert_eq!(spinning.outcome, Outcome::OutOfFuel);
    assert_next_run_is_clean(&naive).await;
}

/// Factories are synchronous unless a module awaits at its top level; both
/// kinds, mixed in one package, still evaluate in dependency order.
#[tokio::test]
async fn modules_with_and_without_top_level_await_run_in_order() {
    let files = BTreeMap::from([
        (
            "index.ts".to_owned(),
            b"import { tier } from './tier';\nimport { order, steps } from './order';\nexport async function execute(e: any, api: any) {\n  api.accessToken.setCustomClaim('https://x/tier', tier);\n  api.accessToken.setCustomClaim('https://x/order', order);\n  api.accessToken.setCustomClaim('https://x/steps', steps);\n}\n".to_vec(),
        ),
        (
            "tier.ts".to_owned(),
            b"import { order } from './order';\norder.push('tier');\nexport const tier = await Promise.resolve('gold');\n".to_vec(),
        ),
        (
            "order.ts".to_owned(),
            b"export const order: string[] = ['order'];\nconst later = async () => { await null; };\nvoid later;\nexport let steps = 0;\nfor await (const step of [Promise.resolve(1), 2]) steps += step;\n".to_vec(),
        ),
    ]);
    let package = SourcePackage::new(files, "index.ts").expect("package");
    let compiled = COMPILER.compile(&package).expect("compiles");
    assert!(
        compiled.javascript.contains("await (async () =>"),
        "{}",
        compiled.javascript
    );
    let report = SANDBOX
        .run(request(
            SANDBOX.load(&compiled.wasm).expect("loads"),
            Trigger::LoginPostLogin,
            RunLimits::default(),
            json!({}),
        ))
        .await;
    assert_eq!(report.outcome, Outcome::Allowed, "{:?}", report.outcome);
    let claims = &report.effects.access_token_claims;
    assert_eq!(claims["https://x/tier"], json!("gold"));
    assert_eq!(claims["https://x/order"], json!(["order", "tier"]));
    assert_eq!(claims["https://x/steps"], json!(3));

    let plain = COMPILER
        .compile(&SourcePackage::single("index.ts", CUSTOM_CLAIM).expect("package"))
        .expect("compiles");
    assert!(
        !plain.javascript.contains("async () =>"),
        "no top-level await, no async factory: {}",
        plain.javascript
    );
}

/// The plugin's machine code cached on disk is checked before it is loaded:
/// a file whose code was tampered with is refused and compiled again (the
/// file replaced by what the compiler makes), never executed, and runs give
/// the right answer.
#[tokio::test]
async fn a_tampered_plugin_cache_is_refused_and_rebuilt() {
    let cache = tempfile::tempdir().expect("tempdir");
    let sandbox = || {
        Sandbox::new(SandboxConfig {
            max_concurrent_runs: 2,
            cache_dir: Some(cache.path().to_owned()),
            ..SandboxConfig::default()
        })
        .expect("sandbox starts")
    };
    let tier_claim = |report: &actions_runner::RunReport| {
        assert_eq!(report.outcome, Outcome::Allowed, "{report:?}");
        report.effects.access_token_claims["https://example.com/tier"].clone()
    };
    let first = sandbox();
    let expected = tier_claim(
        &run_with(
            &first,
            CUSTOM_CLAIM,
            Trigger::LoginPostLogin,
            RunLimits::default(),
        )
        .await,
    );
    assert_eq!(expected, json!("gold"));
    drop(first);

    let files: Vec<_> = std::fs::read_dir(cache.path())
        .expect("cache folder")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "one cache file: {files:?}");
    let file = &files[0];
    let written = std::fs::read(file).expect("cache file");
    let mut tampered = written.clone();
    let code = text_section(&written);
    let middle = code.start + code.len() / 2;
    for byte in &mut tampered[middle..middle + 64] {
        *byte ^= 0xff;
    }
    std::fs::write(file, &tampered).expect("tamper");

    let second = sandbox();
    assert_eq!(
        std::fs::read(file).expect("cache file"),
        written,
        "the tampered file is replaced by a fresh compile"
    );
    let report = run_with(
        &second,
        CUSTOM_CLAIM,
        Trigger::LoginPostLogin,
        RunLimits::default(),
    )
    .await;
    assert_eq!(tier_claim(&report), expected);
}

/// Where the `.text` section (the machine code) of the ELF image inside a
/// cache file lies, in the file's bytes.
fn text_section(file: &[u8]) -> std::ops::Range<usize> {
    let elf = file
        .windows(4)
        .position(|w| w == b"\x7fELF")
        .expect("an ELF image");
    let image = &file[elf..];
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([image[at], image[at + 1]]));
    let u32_at =
        |at: usize| u32::from_le_bytes(image[at..at + 4].try_into().expect("4 bytes")) as usize;
    let u64_at =
        |at: usize| u64::from_le_bytes(image[at..at + 8].try_into().expect("8 bytes")) as usize;
    let (headers, header_size, count, names) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |index: usize| headers + index * header_size;
    let names_at = u64_at(header(names) + 0x18);
    (0..count)
        .map(header)
        .find(|&h| {
            let name = &image[names_at + u32_at(h)..];
            name.starts_with(b".text\0")
        })
        .map(|h| {
            let (offset, size) = (u64_at(h + 0x18), u64_at(h + 0x20));
            elf + offset..elf + offset + size
        })
        .expect("a .text section")
}
