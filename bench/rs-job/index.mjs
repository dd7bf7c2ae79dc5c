// The JS entry of the Rust job yardstick (bench/rs-job): reads the request as the worker's
// entry does (src/entry.mjs), calls the wasm once, builds the response from the one string
// it returns (the status, Set-Cookie and the log line, one a line, then the TwiML).
import { job, keys } from "./glue.js";

let keyed = false;

export default {
  async fetch(request, env) {
    const started = Date.now();
    if (!keyed) {
      // Once per isolate, as the worker's configuration.
      keys(env.TWILIO_AUTH_TOKEN ?? "", env.SESSION_SECRET ?? "");
      keyed = true;
    }
    const headers = request.headers;
    const body = request.method === "POST" ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array(0);
    const answer = job(
      request.method,
      request.url,
      headers.get("content-type"),
      headers.get("x-twilio-signature"),
      headers.get("cookie"),
      body,
      started,
    );
    const a = answer.indexOf("\n");
    const b = answer.indexOf("\n", a + 1);
    const c = answer.indexOf("\n", b + 1);
    const status = Number(answer.slice(0, a));
    const setCookie = answer.slice(a + 1, b);
    console.log(answer.slice(b + 1, c));
    const out = { "content-type": status === 200 ? "text/xml; charset=utf-8" : "text/plain; charset=utf-8" };
    if (setCookie !== "") out["set-cookie"] = setCookie;
    return new Response(answer.slice(c + 1), { status, headers: out });
  },
};
