//! Names the feature combinations the crate tests again and again, once: a `cfg` each.
//!
//! - `state_api`: the state API exists (`state-api`, with KV or the objects to keep a state in).
//! - `cookie_memory`: the isolate remembers the cookie values it sealed and opened
//!   (`storage::Memory`), unless this crate is built for size (opt-level "s" or "z", the
//!   starter's `opt = "size"`): about 2.5 KB of gzipped wasm for less CPU per webhook.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(state_api)");
    println!("cargo::rustc-check-cfg=cfg(cookie_memory)");
    println!("cargo::rerun-if-env-changed=OPT_LEVEL");
    if !matches!(std::env::var("OPT_LEVEL").as_deref(), Ok("s" | "z")) {
        println!("cargo::rustc-cfg=cookie_memory");
    }
    let on = |feature: &str| std::env::var_os(format!("CARGO_FEATURE_{feature}")).is_some();
    if on("STATE_API") && (on("KV") || on("OBJECTS")) {
        println!("cargo::rustc-cfg=state_api");
    }
}
