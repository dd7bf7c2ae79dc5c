// The worker's fetch handler, in JavaScript: it reads the request, calls the wasm once
// (`webhook`, src/worker_entry/mod.rs) with one object of named fields, and builds the
// response from the one JSON answer that comes back. Everything else (the Durable Object
// class, the wasm instance and its recovery after a panic) is worker-build's output for the
// worker's crate, re-exported as it is. The build (scripts/build.sh) bundles this file over
// it for every worker, the repository's and users' alike: it belongs to the crate.
//
// Why: through workers-rs, each header, string and response part is a crossing between
// JavaScript and wasm, and the handler runs inside a Proxy around a WorkerEntrypoint
// class; moving the handler here took 41 µs (HISTORY_TURNS=0) to 51 µs (defaults) of CPU
// off each webhook in workerd (bench/HISTORY.md). Here the request is read as plain
// JavaScript reads it.
import WorkersRs from "./workers-rs.js";

export * from "./workers-rs.js";

// worker-build puts the wasm's exported functions on its entrypoint class.
const { webhook, contract } = WorkersRs.prototype;

// The limits and codes, defined once in Rust (`contract` in src/worker_entry/mod.rs).
const { maxBodyBytes: MAX_BODY_BYTES, bodyState } = JSON.parse(contract());
const { read: READ, tooLarge: TOO_LARGE, unreadable: UNREADABLE } = Object.fromEntries(bodyState);
const EMPTY = new Uint8Array(0);

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

/// The response from the wasm's JSON answer (`Answer` in src/worker_entry/mod.rs).
function respond(json) {
  const answer = JSON.parse(json);
  const headers = { "content-type": answer.contentType };
  if (answer.setCookie !== undefined) headers["set-cookie"] = answer.setCookie;
  if (answer.allow !== undefined) headers.allow = answer.allow;
  if (answer.stateSource !== undefined) headers["x-state-source"] = answer.stateSource;
  console.log(answer.log);
  return new Response(answer.body, { status: answer.status, headers });
}

export default {
  async fetch(request, env, ctx) {
    const started = Date.now();
    const headers = request.headers;
    const method = request.method;
    const [body, state] = method === "POST" ? await readBody(request, headers.get("content-length")) : [EMPTY, READ];
    // The fields `Incoming` reads (src/worker_entry/mod.rs), by name.
    const answer = webhook({
      method,
      url: request.url,
      contentType: headers.get("content-type"),
      signature: headers.get("x-twilio-signature"),
      cookie: headers.get("cookie"),
      authorization: headers.get("authorization"),
      body,
      bodyState: state,
      env,
      kv: env.CONVERSATIONS,
      objects: env.CONVERSATION_OBJECTS,
      ctx,
      started,
    });
    return respond(typeof answer === "string" ? answer : await answer);
  },
};
