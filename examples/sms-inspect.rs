//! `sms-inspect`: opens sealed conversation cookies for the dev phone (`npm run phone`), with
//! this crate's own sealing code (`sms_conversation_worker::inspect`), never a second
//! implementation.
//!
//! One JSON request per line on stdin (`{"secret", "account_sid", "to", "from", "cookie",
//! "now"}`), one JSON line per request on stdout: what
//! [`inspect`](sms_conversation_worker::inspect::inspect) answers, or
//! `{"ok": false, "error": …}` for a line that is not a request. It runs until stdin closes.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::io::{BufRead, Write};

    use sms_conversation_worker::inspect::{inspect, Request};

    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Request>(&line) {
            Ok(req) => inspect(&req),
            Err(e) => serde_json::json!({"ok": false, "error": format!("bad request: {e}")}),
        };
        // A closed stdout (the phone went away) ends the program quietly.
        let written = writeln!(out, "{answer}").and_then(|()| out.flush());
        if written.is_err() {
            break;
        }
    }
}

/// The crate is also built for wasm32 (the worker); there this tool has nothing to do.
#[cfg(target_arch = "wasm32")]
fn main() {}
