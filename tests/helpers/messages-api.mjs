// A local stand-in for Twilio's Messages API (`POST /2010-04-01/Accounts/<AccountSid>/Messages.json`),
// for the messages the worker sends itself (follow-ups, POST /conversations). A node:http
// server on 127.0.0.1 (port 0): point the worker's TWILIO_API_BASE_URL at `api.url`.
//
// Each request is checked as Twilio would: the path names the account, HTTP basic auth is
// `<user>:<password>` (the AccountSid and its auth token, or an API key's SID and secret),
// the body is a form with `To`, `From` and `Body`. A request that fails a check gets Twilio's
// error for it (404 / 401 code 20003 / 400 code 21602 or 21604) and is recorded with its
// `problems`, so a test can assert that none had any. By default a good request gets
// 201 `{"sid": "SM…", "status": "queued"}`; `api.answer = (req) => ({ status, body })`
// answers otherwise (a 503, Twilio's 400 with code 21610, …), per request, and
// `api.answer = (req) => ({ accept: "timeout" | "500" | "close" })` makes Twilio take the
// message and then lose its answer: never answer, answer 500, or close the connection.
//
// Like Twilio, the stand-in keeps every message it took (`api.messages`) and lists them on
// `GET …/Messages.json?To=…&From=…` (`DateSent>` is accepted and ignored: every message here is
// of today), and, when `api.deliver = (url, init) => fetch-like` is set, posts each taken
// message's signed status callbacks (`queued`, then `sent`) to its `StatusCallback`.
import http from "node:http";
import crypto from "node:crypto";
import twilio from "twilio";

/** Twilio's error document. */
export function twilioError(status, code, message) {
  return {
    status,
    body: JSON.stringify({
      code,
      message,
      more_info: `https://www.twilio.com/docs/errors/${code}`,
      status,
    }),
  };
}

/**
 * Starts the stand-in. `accountSid` is the account in the path; `user`/`password` the
 * basic-auth credentials it accepts (the AccountSid and auth token by default).
 */
export async function startMessagesApi({ accountSid, user = accountSid, password }) {
  const requests = [];
  const waiters = new Set();
  const api = {
    url: "",
    requests,
    /** Answers a checked request: `(req) => ({ status, body })`, or undefined for the default. */
    answer: null,
    /** Every message taken: `{ sid, to, from, body, contentSid, statusCallback, at }`. */
    messages: [],
    /** Delivers status callbacks: `(url, init) => Promise<Response>`; none when null. */
    deliver: null,
    /** Status callbacks posted: `{ url, sid, status, response }`. */
    callbacks: [],
    /** Messages taken for `to` (a person's number). */
    taken(to) {
      return api.messages.filter((m) => m.to === to);
    },
    /** Requests so far whose form `To` is `to` (all when `to` is omitted). */
    to(to) {
      return to === undefined ? [...requests] : requests.filter((r) => r.form.To === to);
    },
    /** Resolves when `check(requests)` is truthy, polling on each request and every 50 ms. */
    async waitFor(check, what, timeoutMs = 10_000) {
      const started = Date.now();
      for (;;) {
        const value = check(requests);
        if (value) return value;
        if (Date.now() - started > timeoutMs) {
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; the Messages API got ${JSON.stringify(
              requests.map((r) => ({ at: r.at, form: r.form, status: r.status })),
            )}`,
          );
        }
        await new Promise((resolve) => {
          const timer = setTimeout(done, 50);
          function done() {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          }
          waiters.add(done);
        });
      }
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const record = {
        at: Date.now(),
        method: req.method,
        path: req.url,
        headers: req.headers,
        raw,
        form: Object.fromEntries(new URLSearchParams(raw)),
        auth: null,
        problems: [],
        status: 0,
      };
      const reply = (status, body) => {
        record.status = status;
        requests.push(record);
        res.writeHead(status, { "content-type": "application/json" });
        res.end(body);
        for (const wake of [...waiters]) wake();
      };
      const fail = (problem, { status, body }) => {
        record.problems.push(problem);
        reply(status, body);
      };

      const expectedPath = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
      if (req.method === "GET" && req.url.split("?")[0] === expectedPath) {
        return list(req, record, reply, fail);
      }
      if (req.method !== "POST" || req.url !== expectedPath) {
        return fail(
          `${req.method} ${req.url}, not POST ${expectedPath}`,
          twilioError(404, 20404, "The requested resource was not found"),
        );
      }
      if (!authorized(req, record)) {
        return fail(
          `basic auth ${record.auth ? `${record.auth.user}:<${record.auth.password.length} chars>` : "missing"}`,
          twilioError(401, 20003, "Authenticate"),
        );
      }
      const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "application/x-www-form-urlencoded") {
        return fail(`content-type ${type}`, twilioError(400, 21602, "Message body is required."));
      }
      if (!record.form.To) {
        return fail("no To", twilioError(400, 21604, "A 'To' phone number is required."));
      }
      if (!record.form.From) {
        return fail("no From", twilioError(400, 21603, "A 'From' phone number is required."));
      }
      if (!record.form.Body && !record.form.MediaUrl && !record.form.ContentSid) {
        return fail("no Body", twilioError(400, 21602, "Message body is required."));
      }
      const custom = api.answer?.(record);
      if (custom && !custom.accept) return reply(custom.status, custom.body);
      const message = take(record);
      if (custom?.accept === "timeout") {
        // Taken, and the answer never comes: the caller's timeout ends the wait.
        record.status = "taken, no answer";
        requests.push(record);
        for (const wake of [...waiters]) wake();
        return;
      }
      if (custom?.accept === "close") {
        record.status = "taken, connection closed";
        requests.push(record);
        for (const wake of [...waiters]) wake();
        req.socket.destroy();
        return;
      }
      if (custom?.accept === "500") return reply(500, JSON.stringify({ code: 20500, message: "Internal Server Error", status: 500 }));
      reply(
        201,
        JSON.stringify({
          sid: message.sid,
          account_sid: accountSid,
          to: record.form.To,
          from: record.form.From,
          body: record.form.Body ?? null,
          status: "queued",
        }),
      );
    });
  });

  function authorized(req, record) {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
    if (basic && !record.auth) {
      const decoded = Buffer.from(basic[1], "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      record.auth = { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    return record.auth && record.auth.user === user && record.auth.password === password;
  }

  /** Keeps the message Twilio took and sends its status callbacks. */
  function take(record) {
    const sid = "SM" + crypto.randomBytes(16).toString("hex");
    record.sid = sid;
    const message = {
      sid,
      to: record.form.To,
      from: record.form.From,
      body: record.form.Body ?? null,
      contentSid: record.form.ContentSid ?? null,
      statusCallback: record.form.StatusCallback ?? null,
      at: Date.now(),
    };
    api.messages.push(message);
    if (api.deliver && message.statusCallback) {
      setTimeout(() => callbacks(message), 50);
    }
    return message;
  }

  /** Twilio's status callbacks for `message`, signed with the auth token, in order. */
  async function callbacks(message) {
    for (const status of ["queued", "sent"]) {
      const params = {
        AccountSid: accountSid,
        ApiVersion: "2010-04-01",
        From: message.from,
        MessageSid: message.sid,
        MessageStatus: status,
        SmsSid: message.sid,
        SmsStatus: status,
        To: message.to,
      };
      const signature = twilio.getExpectedTwilioSignature(password, message.statusCallback, params);
      let response = null;
      try {
        const res = await api.deliver(message.statusCallback, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
          body: new URLSearchParams(params).toString(),
        });
        response = res.status;
      } catch (e) {
        response = String(e);
      }
      api.callbacks.push({ url: message.statusCallback, sid: message.sid, status, response });
      for (const wake of [...waiters]) wake();
    }
  }

  /** `GET Messages.json`: the messages taken, filtered by `To` and `From`, newest first. */
  function list(req, record, reply, fail) {
    if (!authorized(req, record)) {
      return fail("basic auth", twilioError(401, 20003, "Authenticate"));
    }
    const query = new URL(req.url, "http://x").searchParams;
    const to = query.get("To");
    const from = query.get("From");
    if (!query.get("DateSent>")) record.problems.push("a list without DateSent>");
    const messages = api.messages
      .filter((m) => (!to || m.to === to) && (!from || m.from === from))
      .reverse()
      .map((m) => ({ sid: m.sid, to: m.to, from: m.from, body: m.body, status: "sent" }));
    reply(200, JSON.stringify({ messages, page: 0 }));
  }
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  api.url = `http://127.0.0.1:${server.address().port}`;
  return api;
}
