//! `preinit-plugin RAW OUT`: pre-initialises the Actions Javy plugin.
//!
//! Runs the plugin's `initialize-runtime` export once under Wizer, so that the
//! QuickJS runtime, the prelude, `api` and `console` are already built in the
//! snapshot that every compile and every run starts from. The WASI calls made
//! during initialisation get fixed answers (clock at zero, a constant random
//! stream), so the same plugin always gives the same bytes.

use anyhow::{Context as _, Result, bail};
use std::{env, fs, path::PathBuf};
use wasmtime::{Caller, Config, Engine, Extern, Instance, Linker, Module, Store, Val};
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

const INIT_FUNC: &str = "initialize-runtime";
const WASI: &str = "wasi_snapshot_preview1";
const ERRNO_BADF: i32 = 8;

fn main() -> Result<()> {
    let mut args = env::args_os().skip(1);
    let (Some(raw), Some(out), None) = (args.next(), args.next(), args.next()) else {
        bail!("usage: preinit-plugin <raw-plugin.wasm> <pre-initialised-out.wasm>");
    };
    let (raw, out) = (PathBuf::from(raw), PathBuf::from(out));
    let wasm = fs::read(&raw).with_context(|| format!("reading {}", raw.display()))?;
    let initialised = futures::executor::block_on(preinitialise(&wasm))?;
    fs::write(&out, &initialised).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "pre-initialised plugin: {} ({} bytes, from {} bytes)",
        out.display(),
        initialised.len(),
        wasm.len()
    );
    Ok(())
}

async fn preinitialise(wasm: &[u8]) -> Result<Vec<u8>> {
    let mut wizer = Wizer::new();
    wizer.init_func(INIT_FUNC).keep_init_func(false);
    let (cx, instrumented) = wizer.instrument(wasm)?;

    let mut config = Config::new();
    // One compilation thread: the snapshot must not depend on scheduling.
    config.parallel_compilation(false);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, &instrumented)
        .map_err(anyhow::Error::from)
        .context("compiling the plugin")?;
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    define_deterministic_wasi(&mut linker)?;
    linker.define_unknown_imports_as_traps(&module)?;
    let instance = linker.instantiate_async(&mut store, &module).await?;

    // A reactor (`crate-type = ["cdylib"]` on wasip1) runs its constructors first.
    if let Some(initialize) = instance.get_func(&mut store, "_initialize") {
        initialize
            .typed::<(), ()>(&store)?
            .call_async(&mut store, ())
            .await
            .map_err(anyhow::Error::from)
            .context("running the plugin's _initialize")?;
    }
    instance
        .get_typed_func::<(), ()>(&mut store, INIT_FUNC)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("the plugin has no `{INIT_FUNC}` export"))?
        .call_async(&mut store, ())
        .await
        .map_err(anyhow::Error::from)
        .with_context(|| format!("the plugin's `{INIT_FUNC}` trapped"))?;

    let snapshot = wizer
        .snapshot(
            &cx,
            &mut Snapshotted {
                store: &mut store,
                instance,
            },
        )
        .await?;
    Ok(snapshot)
}

/// The few WASI calls QuickJS and Rust's std make while initialising,
/// answered the same way every time.
fn define_deterministic_wasi(linker: &mut Linker<()>) -> Result<()> {
    linker.func_wrap(
        WASI,
        "fd_write",
        |mut caller: Caller<'_, ()>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| -> i32 {
            let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                return ERRNO_BADF;
            };
            let data = memory.data(&caller);
            let mut total = 0u32;
            let mut text = Vec::new();
            for i in 0..iovs_len.max(0) as usize {
                let at = iovs as usize + i * 8;
                let Some(entry) = data.get(at..at + 8) else {
                    return ERRNO_BADF;
                };
                let ptr = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]) as usize;
                let len = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]) as usize;
                if let Some(bytes) = data.get(ptr..ptr + len) {
                    text.extend_from_slice(bytes);
                }
                total += len as u32;
            }
            if fd == 1 || fd == 2 {
                eprint!("{}", String::from_utf8_lossy(&text));
            }
            let _ = memory.write(&mut caller, nwritten as usize, &total.to_le_bytes());
            0
        },
    )?;
    linker.func_wrap(
        WASI,
        "random_get",
        |mut caller: Caller<'_, ()>, buf: i32, len: i32| -> i32 {
            let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                return ERRNO_BADF;
            };
            let fill: Vec<u8> = (0..len.max(0) as usize).map(|i| i as u8).collect();
            match memory.write(&mut caller, buf as usize, &fill) {
                Ok(()) => 0,
                Err(_) => ERRNO_BADF,
            }
        },
    )?;
    linker.func_wrap(
        WASI,
        "clock_time_get",
        |mut caller: Caller<'_, ()>, _clock: i32, _precision: i64, out: i32| -> i32 {
            let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                return ERRNO_BADF;
            };
            match memory.write(&mut caller, out as usize, &0u64.to_le_bytes()) {
                Ok(()) => 0,
                Err(_) => ERRNO_BADF,
            }
        },
    )?;
    for name in ["environ_sizes_get", "args_sizes_get"] {
        linker.func_wrap(
            WASI,
            name,
            |mut caller: Caller<'_, ()>, count: i32, size: i32| -> i32 {
                let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                    return ERRNO_BADF;
                };
                let zero = 0u32.to_le_bytes();
                let ok = memory.write(&mut caller, count as usize, &zero).is_ok()
                    && memory.write(&mut caller, size as usize, &zero).is_ok();
                if ok { 0 } else { ERRNO_BADF }
            },
        )?;
    }
    for name in ["environ_get", "args_get"] {
        linker.func_wrap(WASI, name, |_: i32, _: i32| -> i32 { 0 })?;
    }
    Ok(())
}

struct Snapshotted<'a> {
    store: &'a mut Store<()>,
    instance: Instance,
}

impl InstanceState for Snapshotted<'_> {
    async fn global_get(&mut self, name: &str, _type_hint: ValType) -> SnapshotVal {
        let global = self
            .instance
            .get_global(&mut *self.store, name)
            .unwrap_or_else(|| panic!("wizer asked for a global `{name}` that is not exported"));
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("global `{name}` holds {other:?}, which a snapshot cannot keep"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&mut *self.store, name)
            .unwrap_or_else(|| panic!("wizer asked for a memory `{name}` that is not exported"));
        contents(memory.data(&*self.store));
    }
}
