// The I/O floor in plain JavaScript, for the workerd benchmark: everything the webhook's
// adapter reads and writes, and no work. It reads the method, the URL, the Content-Type,
// X-Twilio-Signature, Cookie and Content-Length headers and the whole body, writes one
// JSON log line like the worker's, and answers a constant TwiML document with a Set-Cookie
// of the size the signed worker sets (about 470 bytes) and X-State-Source. No parsing, no
// signature, no cookie opened or sealed: what JavaScript costs before any of the job.
const TWIML =
  '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Hello, thanks for message number 10</Message></Response>';
const SET_COOKIE =
  "sms_state=2cs.AAAAAAAA." + "A".repeat(362) + "." + "B".repeat(43) + "; HttpOnly; Secure; Path=/; Max-Age=14400";

function mask(number) {
  return number.length <= 6 ? "*".repeat(number.length) : number.slice(0, 3) + "*".repeat(number.length - 5) + number.slice(-2);
}

export default {
  async fetch(request) {
    const started = Date.now();
    const method = request.method;
    const url = request.url;
    const headers = request.headers;
    const contentType = headers.get("content-type");
    const signature = headers.get("x-twilio-signature");
    const cookie = headers.get("cookie");
    const declared = headers.get("content-length");
    const body = method === "POST" ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array(0);
    // What the worker would hand its core; unused here, as nothing is done with it.
    void [method, url, contentType, signature, cookie, declared, body];
    console.log(
      JSON.stringify({
        event: "webhook",
        outcome: "reply",
        status: 200,
        source: "cookie",
        count: 10,
        from: mask("+14155550100"),
        ms: Date.now() - started,
      }),
    );
    return new Response(TWIML, {
      headers: { "content-type": "text/xml; charset=utf-8", "set-cookie": SET_COOKIE, "x-state-source": "cookie" },
    });
  },
};
