//! The Actions Javy plugin.
//!
//! It extends Javy's QuickJS runtime with the Actions programming model: a
//! `console` that the host captures, an `api` object whose every method is a
//! call of a host function imported from `actions-host-v1`, and the driver
//! that loads an Action's bundle, hands `execute` a deep-frozen `event`, and
//! reports how the run settled. The host ABI is documented in
//! `javy-shims/README.md`; the JavaScript half lives in `prelude.js`.
//!
//! Everything here runs once, at build time, under Wizer
//! (`initialize-runtime`): each run starts from that snapshot.

use javy_plugin_api::{
    Config, import_namespace,
    javy::{
        Runtime,
        quickjs::{self, Ctx, Exception, Function, Object, Result as JsResult, Value, qjs},
    },
};

import_namespace!("actions-plugin-v1");

mod host {
    #[link(wasm_import_module = "actions-host-v1")]
    unsafe extern "C" {
        pub fn run_event() -> i32;
        pub fn run_complete(ptr: *const u8, len: usize) -> i32;
        pub fn access_allow() -> i32;
        pub fn access_deny(ptr: *const u8, len: usize) -> i32;
        pub fn token_set_claim(
            token: i32,
            name_ptr: *const u8,
            name_len: usize,
            value_ptr: *const u8,
            value_len: usize,
        ) -> i32;
        pub fn token_add_scope(ptr: *const u8, len: usize) -> i32;
        pub fn token_remove_scope(ptr: *const u8, len: usize) -> i32;
        pub fn user_set_metadata(
            kind: i32,
            key_ptr: *const u8,
            key_len: usize,
            value_ptr: *const u8,
            value_len: usize,
        ) -> i32;
        pub fn console_log(level: i32, ptr: *const u8, len: usize) -> i32;
        pub fn fetch(ptr: *const u8, len: usize) -> i32;
        pub fn result_read(dst: *mut u8);
    }
}

/// Turns a host call's status into a JS value or a thrown `Error`.
///
/// `status >= 0`: success, the host holds `status` bytes of UTF-8 result.
/// `status < 0`: failure, the host holds `-status` bytes of UTF-8 message.
fn settle(ctx: &Ctx<'_>, status: i32) -> JsResult<Option<String>> {
    let len = status.unsigned_abs() as usize;
    let text = if len == 0 {
        String::new()
    } else {
        let mut buf = vec![0u8; len];
        unsafe { host::result_read(buf.as_mut_ptr()) };
        String::from_utf8_lossy(&buf).into_owned()
    };
    if status < 0 {
        Err(Exception::throw_message(ctx, &text))
    } else if len == 0 {
        Ok(None)
    } else {
        Ok(Some(text))
    }
}

/// Deepest nesting the event may have (the host's JSON is far shallower).
const MAX_EVENT_DEPTH: u32 = 128;

/// Freezes `value` and every object reachable through its own properties.
/// Natively: the same walk in the prelude's JavaScript (`Object.keys`,
/// recursion, `Object.freeze`) was half the work of a small run.
fn freeze_deep<'js>(ctx: &Ctx<'js>, value: &Value<'js>, depth: u32) -> JsResult<()> {
    let Some(object) = value.as_object() else {
        return Ok(());
    };
    if depth > MAX_EVENT_DEPTH {
        return Err(Exception::throw_type(ctx, "the event is nested too deeply"));
    }
    if unsafe { qjs::JS_FreezeObject(ctx.as_raw().as_ptr(), object.as_raw()) } < 0 {
        return Err(quickjs::Error::Exception);
    }
    for child in object.values::<Value>() {
        freeze_deep(ctx, &child?, depth + 1)?;
    }
    Ok(())
}

fn host_object<'js>(ctx: &Ctx<'js>) -> JsResult<Object<'js>> {
    let host = Object::new(ctx.clone())?;
    // The event, parsed and deep-frozen before the Action sees it.
    host.set(
        "event",
        Function::new(ctx.clone(), |ctx: Ctx<'js>| -> JsResult<Value<'js>> {
            let json = settle(&ctx, unsafe { host::run_event() })?.unwrap_or_default();
            let event = ctx.json_parse(json)?;
            freeze_deep(&ctx, &event, 0)?;
            Ok(event)
        })?,
    )?;
    host.set(
        "complete",
        Function::new(ctx.clone(), |ctx: Ctx<'_>, report: String| {
            settle(&ctx, unsafe {
                host::run_complete(report.as_ptr(), report.len())
            })
        })?,
    )?;
    host.set(
        "allow",
        Function::new(ctx.clone(), |ctx: Ctx<'_>| {
            settle(&ctx, unsafe { host::access_allow() })
        })?,
    )?;
    host.set(
        "deny",
        Function::new(ctx.clone(), |ctx: Ctx<'_>, reason: String| {
            settle(&ctx, unsafe { host::access_deny(reason.as_ptr(), reason.len()) })
        })?,
    )?;
    host.set(
        "setClaim",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'_>, token: i32, name: String, value_json: String| {
                settle(&ctx, unsafe {
                    host::token_set_claim(
                        token,
                        name.as_ptr(),
                        name.len(),
                        value_json.as_ptr(),
                        value_json.len(),
                    )
                })
            },
        )?,
    )?;
    host.set(
        "addScope",
        Function::new(ctx.clone(), |ctx: Ctx<'_>, scope: String| {
            settle(&ctx, unsafe { host::token_add_scope(scope.as_ptr(), scope.len()) })
        })?,
    )?;
    host.set(
        "removeScope",
        Function::new(ctx.clone(), |ctx: Ctx<'_>, scope: String| {
            settle(&ctx, unsafe {
                host::token_remove_scope(scope.as_ptr(), scope.len())
            })
        })?,
    )?;
    host.set(
        "setMetadata",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'_>, kind: i32, key: String, value_json: String| {
                settle(&ctx, unsafe {
                    host::user_set_metadata(
                        kind,
                        key.as_ptr(),
                        key.len(),
                        value_json.as_ptr(),
                        value_json.len(),
                    )
                })
            },
        )?,
    )?;
    host.set(
        "log",
        Function::new(ctx.clone(), |ctx: Ctx<'_>, level: i32, line: String| {
            settle(&ctx, unsafe { host::console_log(level, line.as_ptr(), line.len()) })
        })?,
    )?;
    host.set(
        "fetch",
        Function::new(ctx.clone(), |ctx: Ctx<'_>, request_json: String| {
            settle(&ctx, unsafe {
                host::fetch(request_json.as_ptr(), request_json.len())
            })
        })?,
    )?;
    Ok(host)
}

fn config() -> Config {
    let mut config = Config::default();
    // `async`/`await` in Actions needs the event loop; without it QuickJS
    // refuses any pending job.
    config.event_loop(true);
    config
}

/// The prelude receives the natives as an argument and keeps them in its
/// closure, so no Action can reach or replace them.
const PRELUDE: &str = include_str!("prelude.js");

fn modify_runtime(runtime: Runtime) -> Runtime {
    runtime.context().with(|ctx| {
        let install: Function = ctx
            .eval(PRELUDE)
            .unwrap_or_else(|e| panic!("prelude.js does not evaluate: {e}"));
        let host = host_object(&ctx).expect("host natives to be defined");
        if let Err(e) = install.call::<_, ()>((host,)) {
            let detail = ctx.catch();
            panic!("prelude.js install failed: {e}: {detail:?}");
        }
    });
    runtime
}

#[unsafe(export_name = "initialize-runtime")]
fn initialize_runtime() {
    javy_plugin_api::initialize_runtime(config, modify_runtime)
        .expect("the Javy runtime to initialise");
}
