//! Names the feature combinations the crate tests again and again, once: a `cfg` each.
//!
//! - `state_api`: the state API exists (`state-api`, with KV or the objects to keep a state in).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(state_api)");
    let on = |feature: &str| std::env::var_os(format!("CARGO_FEATURE_{feature}")).is_some();
    if on("STATE_API") && (on("KV") || on("OBJECTS")) {
        println!("cargo::rustc-cfg=state_api");
    }
}
