//! Allocations per webhook, natively: a counting global allocator around `app::handle` and
//! the log line, for the requests benches/webhook.rs and bench/wasm-core time (message 10
//! with the cookie message 9 left; "retry" is the same with the isolate's memory, the
//! workerd benchmark's steady state), with `HISTORY_TURNS=0` and with the defaults.
//!   cargo run --release --manifest-path bench/allocs/Cargo.toml
//!   TRACE='defaults/retry' cargo run …   also prints each allocation's first callers
//! Counts are of the third of three identical runs: allocations, reallocations apart, and
//! the bytes asked for.
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::rc::Rc;

use sms_conversation_worker::app::{self, Body, HttpRequest, Runtime, Setup};
use sms_conversation_worker::conversation::{HttpClient, NoClient};
use sms_conversation_worker::conversations::SHIPPED;
use sms_conversation_worker::response::HttpResponse;
use sms_conversation_worker::storage::{Memory, NoStore};
use sms_conversation_worker::vars::Vars;

#[path = "../../../benches/fixture/mod.rs"]
#[allow(dead_code)]
mod fixture;
use fixture::{webhook, NOW, SECRET, TOKEN, URL};

/// Allocations, reallocations and bytes since the last reset, on this thread.
#[derive(Clone, Copy, Default)]
struct Count {
    allocs: u64,
    reallocs: u64,
    bytes: u64,
}

thread_local! {
    static COUNT: Cell<Count> = const { Cell::new(Count { allocs: 0, reallocs: 0, bytes: 0 }) };
    static TRACE: Cell<bool> = const { Cell::new(false) };
}

fn bump(bytes: usize, realloc: bool) {
    let _ = COUNT.try_with(|c| {
        let mut n = c.get();
        if realloc {
            n.reallocs += 1;
        } else {
            n.allocs += 1;
        }
        n.bytes += bytes as u64;
        c.set(n);
    });
    // Off while tracing: capturing a backtrace allocates too.
    if TRACE.try_with(|t| t.replace(false)).unwrap_or(false) {
        trace(bytes, realloc);
        TRACE.with(|t| t.set(true));
    }
}

/// The allocation's first four callers in the crate.
fn trace(bytes: usize, realloc: bool) {
    let backtrace = std::backtrace::Backtrace::force_capture().to_string();
    let callers: Vec<&str> = backtrace
        .lines()
        .filter(|l| !l.trim_start().starts_with("at "))
        .map(|l| l.split_once(": ").map_or(l, |x| x.1))
        .filter(|l| l.contains("sms_conversation_worker"))
        .take(4)
        .collect();
    let kind = if realloc { "realloc" } else { "alloc" };
    println!("  {kind} {bytes} {}", callers.join(" < "));
}

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(layout.size(), false);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        bump(size, true);
        System.realloc(ptr, layout, size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// An isolate: its setup and vars.
struct Isolate {
    setup: Setup,
    vars: Vec<(&'static str, &'static str)>,
    http: Rc<dyn HttpClient>,
}

impl Isolate {
    fn new(extra: &[(&'static str, &'static str)]) -> Isolate {
        let mut vars = vec![("SESSION_SECRET", SECRET), ("TWILIO_AUTH_TOKEN", TOKEN)];
        vars.extend_from_slice(extra);
        let lookup = |name: &str| lookup(&vars, name);
        let setup = Setup::from_vars(&Vars::new(&lookup), &SHIPPED).expect("configuration");
        Isolate {
            setup,
            vars,
            http: Rc::new(NoClient),
        }
    }

    /// One webhook through `app::handle`, as the bench sends it.
    fn handle(&self, n: u32, cookie: Option<&str>, memory: Option<&Memory>) -> HttpResponse {
        let (form, sig) = webhook(n);
        self.handle_form(n, (&form, &sig), cookie, memory)
    }

    /// The same with the form and its signature made beforehand (not counted).
    fn handle_form(
        &self,
        n: u32,
        (form, sig): (&str, &str),
        cookie: Option<&str>,
        memory: Option<&Memory>,
    ) -> HttpResponse {
        let req = HttpRequest {
            method: "POST",
            url: URL,
            content_type: Some("application/x-www-form-urlencoded"),
            signature: Some(sig),
            cookie,
            authorization: None,
            idempotency_key: None,
            body: Body::Read(form.as_bytes()),
        };
        let lookup = |name: &str| lookup(&self.vars, name);
        let now = NOW + u64::from(n);
        let rt: Runtime<'_, NoStore> = Runtime {
            memory,
            ..Runtime::new(now, Vars::new(&lookup), Rc::clone(&self.http))
        };
        pollster::block_on(app::handle(Ok(&self.setup), &req, &rt)).response
    }
}

fn lookup(vars: &[(&str, &str)], name: &str) -> Option<String> {
    vars.iter()
        .rev()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn main() {
    let configs = [
        ("signed,HISTORY_TURNS=0", &[("HISTORY_TURNS", "0")][..]),
        ("defaults", &[][..]),
    ];
    for (label, extra) in configs {
        let isolate = Isolate::new(extra);
        let mut jar: Option<String> = None;
        for n in 1..=9 {
            let set = isolate.handle(n, jar.as_deref(), None).set_cookie;
            jar = set.and_then(|c| c.split(';').next().map(str::to_string));
        }
        let cookie = jar.expect("a cookie");
        let memory = Memory::default();
        let (form, sig) = webhook(10);
        for (what, memory) in [("10th", None), ("retry", Some(&memory))] {
            let wanted = format!("{label}/{what}");
            let trace = std::env::var("TRACE").is_ok_and(|t| t == wanted);
            let mut count = Count::default();
            for round in 0..3 {
                COUNT.with(|c| c.set(Count::default()));
                TRACE.with(|t| t.set(trace && round == 2));
                let response = isolate.handle_form(10, (&form, &sig), Some(&cookie), memory);
                std::hint::black_box(response.log.to_json(response.status, 3));
                TRACE.with(|t| t.set(false));
                count = COUNT.with(|c| c.get());
            }
            println!(
                "{label:24} {what:6} allocs {:4} reallocs {:3} bytes {:6}",
                count.allocs, count.reallocs, count.bytes
            );
        }
    }
}
