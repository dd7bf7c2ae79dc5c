#!/usr/bin/env node
// The local Messages API of `npm run dev`: when .dev.vars names no real Twilio account, the
// worker's own sends (the opening message of POST /conversations, follow-ups from the objects'
// alarms) go to a stand-in on 127.0.0.1 instead of api.twilio.com, which answers like Twilio,
// keeps every message, and reports each one's delivery back to the worker with signed status
// callbacks (`sent`, then `delivered`), so nothing is sent and no account is needed.
//
//   node scripts/dev-messages.mjs [wrangler dev ARGS]   # what `npm run dev` runs
//
// It runs `wrangler dev ARGS` as its child, adding `--var TWILIO_API_BASE_URL:<the stand-in>` and
// `--var TWILIO_ACCOUNT_SID:AC000…0` (the simulator's and the dev phone's AccountSid, so a start
// and the person's reply meet in the same object), and stops with it. With a real account, or a
// TWILIO_API_BASE_URL of your own, it only runs wrangler.
//
// The dev phone and the simulator find the stand-in through .cache/dev-messages.json and read
// what it took from `GET /dev/messages?since=REV` (this file's `inbox`). Only node's own modules
// are used: a project made by `npm run new` runs it from the crate's folder, which has no
// node_modules.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./paths.mjs";
import { wranglerVar } from "./inspector.mjs";

/** The AccountSid the simulator and the dev phone sign their webhooks with. */
export const LOCAL_ACCOUNT = "AC" + "0".repeat(32);
/** Where a running stand-in says where it is (relative to the project). */
export const STAND_IN_FILE = path.join(".cache", "dev-messages.json");
/** Time between Twilio taking a message and each of its status callbacks, here. */
const CALLBACK_DELAY_MS = 200;

// ---------------------------------------------------------------------------------------------
// .dev.vars

/** KEY=VALUE lines of a .dev.vars / .env file (comments, `export`, quotes handled). */
export function parseDotenv(text) {
  const vars = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    const quoted = /^(["'])([\s\S]*)\1$/.exec(value);
    if (quoted) {
      value = quoted[2];
      if (quoted[1] === '"') value = value.replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    vars[m[1]] = value;
  }
  return vars;
}

/**
 * The vars `wrangler dev` gives the worker from the project's .dev.vars (else the
 * .dev.vars.example `npm run dev` copies to it): wrangler reads that one file, so a value only
 * in the example is not the worker's.
 */
export function readDevVars(root = ROOT) {
  for (const name of [".dev.vars", ".dev.vars.example"]) {
    try {
      return parseDotenv(fs.readFileSync(path.join(root, name), "utf8"));
    } catch {
      // not there: the next
    }
  }
  return {};
}

/** A `--var NAME:VALUE` among wrangler's arguments (`--var A:1 B:2` and `--var=A:1` too). */
function cliVar(args, name) {
  let value;
  for (const a of args) {
    const m = new RegExp(`^(?:--var=)?${name}:(.*)$`).exec(a);
    if (m) value = m[1];
  }
  return value;
}

/**
 * Whether `npm run dev` answers the worker's Messages API calls itself: `null` when a real
 * account (TWILIO_ACCOUNT_SID other than the simulator's) or a TWILIO_API_BASE_URL of the
 * user's own is configured, in .dev.vars, wrangler.toml's [vars] or a `--var`; otherwise
 * `{ vars }`, the `--var`s to add.
 */
export function localPlan({ devVars = readDevVars(), args = [], root = ROOT } = {}) {
  const pick = (name) => cliVar(args, name) ?? devVars[name] ?? wranglerVar(name, root) ?? "";
  const base = pick("TWILIO_API_BASE_URL").replace(/\/+$/, "");
  const account = pick("TWILIO_ACCOUNT_SID");
  if (base && base !== "https://api.twilio.com") return null;
  if (account && account !== LOCAL_ACCOUNT) return null;
  return { vars: { TWILIO_ACCOUNT_SID: LOCAL_ACCOUNT } };
}

// ---------------------------------------------------------------------------------------------
// The stand-in

/** Twilio's error document. */
function twilioError(status, code, message) {
  return { status, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } };
}

/** Twilio's X-Twilio-Signature: HMAC-SHA1 of the URL and the sorted parameters, base64. */
export function twilioSignature(token, url, params) {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return crypto.createHmac("sha1", token).update(Buffer.from(data, "utf8")).digest("base64");
}

/**
 * Starts the stand-in on 127.0.0.1:`port` (0: a free one). It takes Create Message from any
 * account whose basic auth is the account and one of `authTokens` (TWILIO_AUTH_TOKEN's,
 * comma-separated), or `apiKey` (`{ sid, secret }`), and signs the status callbacks with the
 * first token. Resolves to `{ url, id, messages, close }`.
 */
export async function startStandIn({ authTokens = [], apiKey = null, port = 0, log = () => {} } = {}) {
  const id = crypto.randomBytes(8).toString("hex"); // one run: a client seeing another starts over
  const messages = [];
  let rev = 0;
  const touch = (m) => {
    m.rev = ++rev;
  };

  function authorized(req, account) {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
    if (!basic) return false;
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const [user, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    if (colon < 0) return false;
    if (apiKey && user === apiKey.sid) return password === apiKey.secret;
    return user === account && authTokens.includes(password);
  }

  /** The message as Twilio's API shows it. */
  function resource(m) {
    return {
      account_sid: m.account_sid,
      api_version: "2010-04-01",
      body: m.body,
      date_created: m.date_created,
      date_sent: m.status === "queued" ? null : m.date_updated,
      date_updated: m.date_updated,
      direction: "outbound-api",
      error_code: null,
      error_message: null,
      from: m.from,
      messaging_service_sid: null,
      num_media: String(m.media.length),
      num_segments: "1",
      price: null,
      price_unit: "USD",
      sid: m.sid,
      status: m.status,
      to: m.to,
      uri: `/2010-04-01/Accounts/${m.account_sid}/Messages/${m.sid}.json`,
    };
  }

  /** Twilio's status callbacks for `m`, in order; each answer's HTTP status is kept. */
  async function deliver(m) {
    for (const status of ["sent", "delivered"]) {
      await new Promise((r) => setTimeout(r, CALLBACK_DELAY_MS));
      if (closed) return;
      m.status = status;
      m.date_updated = new Date().toUTCString();
      const step = { status, at: Date.now(), callback: null };
      m.statuses.push(step);
      if (m.status_callback) {
        const params = {
          AccountSid: m.account_sid,
          ApiVersion: "2010-04-01",
          From: m.from,
          MessageSid: m.sid,
          MessageStatus: status,
          SmsSid: m.sid,
          SmsStatus: status,
          To: m.to,
        };
        const headers = { "content-type": "application/x-www-form-urlencoded" };
        if (authTokens[0]) headers["x-twilio-signature"] = twilioSignature(authTokens[0], m.status_callback, params);
        try {
          const res = await fetch(m.status_callback, {
            method: "POST",
            headers,
            body: new URLSearchParams(params).toString(),
            signal: AbortSignal.timeout(15_000), // Twilio's wait for a webhook
          });
          await res.arrayBuffer();
          step.callback = res.status;
        } catch (e) {
          step.callback = String(e?.cause?.code ?? e?.message ?? e);
        }
        if (step.callback !== 200) log(`message ${m.sid}: the worker answered its "${status}" status callback with ${step.callback}`);
      }
      touch(m);
    }
  }

  function create(account, form, res) {
    if (!form.get("To")) return twilioError(400, 21604, "A 'To' phone number is required.");
    if (!form.get("From") && !form.get("MessagingServiceSid")) return twilioError(400, 21603, "A 'From' phone number is required.");
    const media = form.getAll("MediaUrl");
    if (!form.get("Body") && media.length === 0 && !form.get("ContentSid")) return twilioError(400, 21602, "Message body is required.");
    if ((form.get("Body") ?? "").length > 1600) {
      return twilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.");
    }
    const now = new Date().toUTCString();
    const m = {
      sid: "SM" + crypto.randomBytes(16).toString("hex"),
      account_sid: account,
      to: form.get("To"),
      from: form.get("From") ?? form.get("MessagingServiceSid"),
      body: form.get("Body") ?? "",
      media,
      content_sid: form.get("ContentSid"),
      content_variables: form.get("ContentVariables"),
      status: "queued",
      status_callback: form.get("StatusCallback"),
      statuses: [{ status: "queued", at: Date.now(), callback: null }],
      date_created: now,
      date_updated: now,
      at: Date.now(),
    };
    touch(m);
    messages.push(m);
    res.on("finish", () => deliver(m));
    return { status: 201, body: resource(m) };
  }

  /** `GET …/Messages.json`: the messages taken, filtered by To and From, newest first. */
  function list(account, query) {
    const to = query.get("To");
    const from = query.get("From");
    const found = messages
      .filter((m) => m.account_sid === account && (!to || m.to === to) && (!from || m.from === from))
      .reverse()
      .map(resource);
    return { status: 200, body: { messages: found, page: 0, page_size: 50, first_page_uri: null, next_page_uri: null, previous_page_uri: null } };
  }

  /** What the dev phone and the simulator read: messages changed after `since`, the new `rev`. */
  function inbox(query) {
    const since = Number(query.get("since") ?? 0) || 0;
    const changed = messages.filter((m) => m.rev > since).map(({ status_callback, ...m }) => m);
    return { status: 200, body: { id, rev, messages: changed } };
  }

  function route(req, raw, res) {
    const u = new URL(req.url, "http://127.0.0.1");
    if (u.pathname === "/dev/messages" && req.method === "GET") {
      // Loopback only, by name: a web page that rebinds a name to 127.0.0.1 is not answered.
      if (!/^(127\.0\.0\.1|localhost)(:\d+)?$/.test(req.headers.host ?? "")) return twilioError(421, 20404, "unexpected Host");
      return inbox(u.searchParams);
    }
    const m = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/Messages(?:\/(SM[0-9a-f]{32}))?\.json$/.exec(u.pathname);
    if (!m) return twilioError(404, 20404, "The requested resource was not found");
    const [, account, sid] = m;
    if (!authorized(req, account)) return twilioError(401, 20003, "Authenticate");
    if (sid && req.method === "GET") {
      const found = messages.find((x) => x.sid === sid && x.account_sid === account);
      return found ? { status: 200, body: resource(found) } : twilioError(404, 20404, "The requested resource was not found");
    }
    if (sid) return twilioError(405, 20004, "Method not allowed");
    if (req.method === "GET") return list(account, u.searchParams);
    if (req.method === "POST") return create(account, new URLSearchParams(raw), res);
    return twilioError(405, 20004, "Method not allowed");
  }

  let closed = false;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let answer;
      try {
        answer = route(req, Buffer.concat(chunks).toString("utf8"), res);
      } catch (e) {
        log(`error: ${e.stack ?? e}`);
        answer = twilioError(500, 20500, "Internal Server Error");
      }
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    id,
    messages,
    close: () =>
      new Promise((resolve) => {
        closed = true;
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading it: the dev phone and the simulator

/** The URL of the stand-in the project's `npm run dev` runs, from its file; null when none. */
export function standInUrl(root = ROOT) {
  try {
    const { url } = JSON.parse(fs.readFileSync(path.join(root, STAND_IN_FILE), "utf8"));
    return typeof url === "string" && /^http:\/\/127\.0\.0\.1:\d+$/.test(url) ? url : null;
  } catch {
    return null;
  }
}

/**
 * The messages the stand-in at `url` (default: the one `npm run dev` runs) took or updated
 * after `since`: `{ id, rev, messages: [{ sid, to, from, body, media, content_sid, status,
 * statuses: [{ status, at, callback }], at }] }`, or null when no stand-in answers. A client
 * keeps `rev` for its next call, and starts over from 0 when `id` changes (a new run).
 */
export async function inbox({ url = standInUrl(), since = 0 } = {}) {
  if (!url) return null;
  try {
    const res = await fetch(`${url}/dev/messages?since=${since}`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return null;
    return await res.json();
  } catch {
    return null;
  }
}

/**
 * Follows a stand-in: each `poll()` returns the messages new or changed since the last one
 * (all of them again after `npm run dev` restarted), or [] when none runs.
 */
export class InboxReader {
  constructor({ url } = {}) {
    this.fixedUrl = url ?? null;
    this.id = null;
    this.rev = 0;
  }

  async poll() {
    const url = this.fixedUrl ?? standInUrl();
    const got = await inbox({ url, since: this.rev });
    if (!got) return [];
    if (this.id !== null && got.id !== this.id) {
      // Another run of `npm run dev`: its messages from the start.
      this.id = null;
      this.rev = 0;
      return this.poll();
    }
    this.id = got.id;
    this.rev = got.rev;
    return got.messages;
  }
}

// ---------------------------------------------------------------------------------------------
// `npm run dev`: the stand-in beside `wrangler dev`

export async function main(args = process.argv.slice(2), root = ROOT) {
  const devVars = readDevVars(root);
  const plan = localPlan({ devVars, args, root });
  let standIn = null;
  const file = path.join(root, STAND_IN_FILE);
  const extra = [];
  if (plan) {
    const authTokens = (devVars.TWILIO_AUTH_TOKEN ?? "").split(",").map((t) => t.trim()).filter(Boolean);
    const apiKey = devVars.TWILIO_API_KEY_SID && devVars.TWILIO_API_KEY_SECRET
      ? { sid: devVars.TWILIO_API_KEY_SID, secret: devVars.TWILIO_API_KEY_SECRET }
      : null;
    standIn = await startStandIn({ authTokens, apiKey, log: (line) => process.stderr.write(`[dev] ${line}\n`) });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ url: standIn.url, id: standIn.id, pid: process.pid }) + "\n");
    extra.push("--var", `TWILIO_API_BASE_URL:${standIn.url}`);
    for (const [k, v] of Object.entries(plan.vars)) extra.push("--var", `${k}:${v}`);
    const starts = devVars.OUTBOUND_API_KEY ? "" : "; set OUTBOUND_API_KEY in .dev.vars to start conversations";
    process.stderr.write(
      `[dev] no Twilio account in .dev.vars: the worker's own messages go to a local Messages API at ${standIn.url} ` +
        `(account ${LOCAL_ACCOUNT}, nothing is sent); npm run phone and npm run chat show them${starts}\n`,
    );
  }
  const cleanUp = () => {
    try {
      if (standIn && JSON.parse(fs.readFileSync(file, "utf8")).id === standIn.id) fs.rmSync(file);
    } catch {
      // already gone
    }
  };
  // Ours after the user's own: a --var of theirs for the same name would be overridden, but
  // localPlan steps aside when they set either.
  const child = spawn("wrangler", ["dev", ...args, ...extra], { stdio: "inherit" });
  // Ctrl-C reaches wrangler with us (one process group): wait for it to finish. A signal only
  // we got is passed on.
  const forward = (signal) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on("SIGINT", () => {});
  process.on("SIGTERM", forward("SIGTERM"));
  process.on("SIGHUP", forward("SIGHUP"));
  const code = await new Promise((resolve) => {
    child.on("error", (e) => {
      process.stderr.write(`[dev] cannot run wrangler: ${e.message}\n`);
      resolve(1);
    });
    child.on("exit", (c, signal) => resolve(c ?? (signal ? 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[signal] ?? 1) : 1)));
  });
  cleanUp();
  await standIn?.close();
  return code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exit(await main());
}
