// The worker's fetch handler, in JavaScript: it reads the request, calls the wasm once
// (`webhook`, src/worker_entry.rs) with all of it, and builds the response from the one
// string that comes back. Everything else (Durable Object classes, the wasm instance and
// its recovery after a panic) is worker-build's output, re-exported as it is.
//
// Why: through workers-rs, each header, string and response part is a crossing between
// JavaScript and wasm, and the handler runs inside a Proxy around a WorkerEntrypoint
// class; moving the handler here took 41 µs (HISTORY_TURNS=0) to 51 µs (defaults) of CPU
// off each webhook in workerd (bench/HISTORY.md). Here the request is read as plain
// JavaScript reads it.
import WorkersRs from "./workers-rs.js";

export * from "./workers-rs.js";

// worker-build puts the wasm's exported functions on its entrypoint class.
const { webhook } = WorkersRs.prototype;

/// As src/app.rs: Twilio's largest webhook is a few KiB.
const MAX_BODY_BYTES = 64 * 1024;
const EMPTY = new Uint8Array(0);
// How the body was read (see `Incoming` in src/worker_entry.rs).
const READ = 0;
const TOO_LARGE = 1;
const UNREADABLE = 2;

/// The body and how it was read: an announced oversized body is not read, one of
/// unannounced length (chunked) only up to the limit.
async function readBody(request, declared) {
  try {
    if (declared !== null) {
      const length = Number(declared.trim());
      if (!Number.isInteger(length) || length > MAX_BODY_BYTES) {
        if (Number.isInteger(length)) return [EMPTY, TOO_LARGE];
      } else {
        return [new Uint8Array(await request.arrayBuffer()), READ];
      }
    }
    if (!request.body) return [EMPTY, READ];
    const reader = request.body.getReader();
    const chunks = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
      if (size > MAX_BODY_BYTES) {
        reader.cancel().catch(() => {});
        return [EMPTY, TOO_LARGE];
      }
    }
    const body = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      body.set(chunk, at);
      at += chunk.length;
    }
    return [body, READ];
  } catch {
    return [EMPTY, UNREADABLE];
  }
}

/// The packed answer (see `pack` in src/worker_entry.rs): status, Content-Type,
/// Set-Cookie, Allow, X-State-Source, the log line, each ended by a newline, then the body.
function respond(packed) {
  let at = 0;
  const field = () => {
    const end = packed.indexOf("\n", at);
    const value = packed.slice(at, end);
    at = end + 1;
    return value;
  };
  const status = Number(field());
  const headers = { "content-type": field() };
  const setCookie = field();
  if (setCookie) headers["set-cookie"] = setCookie;
  const allow = field();
  if (allow) headers.allow = allow;
  const source = field();
  if (source) headers["x-state-source"] = source;
  console.log(field());
  return new Response(packed.slice(at), { status, headers });
}

export default {
  async fetch(request, env, ctx) {
    const started = Date.now();
    const headers = request.headers;
    const method = request.method;
    const [body, state] = method === "POST" ? await readBody(request, headers.get("content-length")) : [EMPTY, READ];
    const answer = webhook(
      method,
      request.url,
      headers.get("content-type"),
      headers.get("x-twilio-signature"),
      headers.get("cookie"),
      headers.get("authorization"),
      body,
      state,
      env,
      env.CONVERSATIONS,
      env.CONVERSATION_OBJECTS,
      ctx,
      started,
    );
    return respond(typeof answer === "string" ? answer : await answer);
  },
};
