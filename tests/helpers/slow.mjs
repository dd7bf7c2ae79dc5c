// What the slow-reply tests share (tests/late.test.mjs with the objects, tests/late-kv.test.mjs
// with KV alone): a slow loopback service and the Studio widgets of the flows that call it.
import http from "node:http";

/** Twilio stops waiting for a webhook's answer after 15 s. */
export const TWILIO_WAITS_MS = 15_000;

/** A loopback CRM answering `{"name":"Ada"}` after `delayMs`, counting its calls. */
export async function slowService(t, delayMs) {
  const service = { calls: 0 };
  const server = http.createServer((req, res) => {
    service.calls += 1;
    const timer = setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ name: "Ada" }));
    }, delayMs);
    res.on("close", () => clearTimeout(timer));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.closeAllConnections() ?? server.close());
  service.url = `http://127.0.0.1:${server.address().port}/lookup`;
  return service;
}

/** The flow's trigger: a text goes to `next`, a started conversation to `started` (or ends). */
export const TRIGGER = (next, started) => ({ name: "Trigger", type: "trigger", properties: {}, transitions: [{ event: "incomingMessage", next }, { event: "incomingRequest", next: started }] });
/** The lookup at `url`: on to `next`, or "sorry" when it fails. */
export const CRM = (url, next) => ({ name: "crm", type: "make-http-request", properties: { method: "GET", url, content_type: "application/json" }, transitions: [{ event: "success", next }, { event: "failed", next: "sorry" }] });
/** A Send Message widget. */
export const SAY = (name, body) => ({ name, type: "send-message", properties: { body }, transitions: [{ event: "sent" }, { event: "failed" }] });
