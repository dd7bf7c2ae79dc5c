// The local Twilio simulator (scripts/sms.mjs, `npm run sms` / `npm run chat`) against the built
// worker served by workerd on a real 127.0.0.1 port: signed requests, Twilio-like cookie jars,
// the CLI, chat mode, the errors a user sees, and the messages the worker sends itself, read from
// the local Messages API `npm run dev` runs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startWorker, waitFor, ROOT, ACCOUNT_SID, TWILIO_NUMBER } from "./helpers/worker.mjs";
import { startStandIn } from "../scripts/dev-messages.mjs";
import {
  sendSms,
  CookieJar,
  parseTwiml,
  segments,
  defaultUrl,
  defaultToken,
  TWILIO_COOKIE_SECONDS,
} from "../scripts/sms.mjs";

const FIRST = "Hello, thanks for the new message.";
const nth = (n) => `Hello, thanks for message number ${n}`;
// The simulator signs with its own token; the worker is started with the same one.
const TOKEN = "simulator-test-token-0123456789abcdef";
const SMS = path.join(ROOT, "scripts/sms.mjs");

let worker;
let url;
let tmp;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sms-sim-"));
  worker = await startWorker({ TWILIO_AUTH_TOKEN: TOKEN }, { port: 0 });
  url = new URL("/sms", worker.url).href;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/sms$/);
});

after(async () => {
  await worker?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

let jars = 0;
const newJar = () => path.join(tmp, `jar-${++jars}.json`);

/** Runs scripts/sms.mjs; resolves to { code, stdout, stderr }. */
function cli(args, { input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SMS, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill(), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? "");
  });
}
const lines = (s) => s.split("\n").filter(Boolean);

test("sendSms: a conversation over real HTTP, signed, with the cookie sent back", async () => {
  const jarFile = newJar();
  const opts = { url, token: TOKEN, from: "+14155550001", jarFile };
  const r1 = await sendSms({ ...opts, body: "hello" });
  assert.equal(r1.status, 200, r1.text);
  assert.deepEqual(r1.replies, [FIRST]);
  assert.equal(r1.cookieSent, null);
  assert.match(r1.cookieStored, /^sms_state=2c[se]\./);
  assert.ok(r1.cookieBytes > 20 && r1.cookieBytes <= 4096, `cookie ${r1.cookieBytes} bytes`);

  // Twilio's full parameter set, a fresh SM sid each time, form-encoded.
  assert.deepEqual(Object.keys(r1.request.params), [
    "ToCountry", "ToState", "SmsMessageSid", "NumMedia", "ToCity", "FromZip", "SmsSid", "FromState",
    "SmsStatus", "FromCity", "Body", "FromCountry", "To", "ToZip", "NumSegments", "MessageSid",
    "AccountSid", "From", "ApiVersion",
  ]);
  assert.match(r1.request.params.MessageSid, /^SM[0-9a-f]{32}$/);
  assert.equal(r1.request.headers["content-type"], "application/x-www-form-urlencoded");

  const r2 = await sendSms({ ...opts, body: "again" });
  assert.deepEqual(r2.replies, [nth(2)]);
  assert.equal(r2.cookieSent, r1.cookieStored, "the stored cookie goes back on the next message");
  assert.notEqual(r2.request.params.MessageSid, r1.request.params.MessageSid);

  // The jar is a file: a new process (here: a new call) continues the conversation.
  const saved = JSON.parse(fs.readFileSync(jarFile, "utf8"));
  assert.deepEqual(Object.keys(saved.pairs), ["+15005550006|+14155550001"]);
  const r3 = await sendSms({ ...opts, body: "3" });
  assert.deepEqual(r3.replies, [nth(3)]);

  // A Twilio retry (same MessageSid) gets the same reply and does not count.
  const retry = await sendSms({ ...opts, body: "3", sid: r3.request.params.MessageSid });
  assert.deepEqual(retry.replies, [nth(3)]);
  assert.deepEqual((await sendSms({ ...opts, body: "4" })).replies, [nth(4)]);
});

test("CLI: consecutive commands continue the conversation; two senders keep separate jars; --forget", async () => {
  const jar = newJar();
  const base = ["--url", url, "--token", TOKEN, "--jar", jar];
  const a = ["--from", "+14155550001"];
  const b = ["--from", "+14155550002"];
  const run = async (args, expected) => {
    const r = await cli([...base, ...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, expected + "\n");
  };
  await run([...a, "Hello"], FIRST);
  await run([...a, "message", "two"], nth(2));
  await run([...b, "hi from b"], FIRST);
  await run([...a, "3"], nth(3));
  await run([...b, "b again"], nth(2));

  // --forget empties that pair only, as Twilio does after 4 idle hours.
  const f = await cli([...base, ...a, "--forget"]);
  assert.equal(f.code, 0, f.stderr);
  assert.equal(f.stdout, "");
  assert.match(f.stderr, /forgot cookies of \+14155550001/);
  await run([...a, "back"], FIRST);
  await run([...b, "still here"], nth(3));
  // --forget with a message: forget, then send.
  await run([...b, "--forget", "fresh"], FIRST);
});

test("CLI --verbose prints the request, the TwiML and the cookie size", async () => {
  const r = await cli(["--url", url, "--token", TOKEN, "--jar", newJar(), "--verbose", "hello & <you>"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, FIRST + "\n");
  assert.match(r.stderr, new RegExp(`> POST ${url.replace(/[.]/g, "\\.")}`));
  assert.match(r.stderr, /> x-twilio-signature: [A-Za-z0-9+/]{27}=/);
  assert.match(r.stderr, />\s+MessageSid=SM[0-9a-f]{32}/);
  assert.match(r.stderr, />\s+Body=hello & <you>/);
  assert.match(r.stderr, /< HTTP 200/);
  assert.match(r.stderr, /<Response><Message>Hello, thanks for the new message\.<\/Message><\/Response>/);
  assert.match(r.stderr, /< set-cookie: sms_state=.*Max-Age=14400/);
  assert.match(r.stderr, /cookie: \d+ bytes stored for \+14155550001/);
});

test("expiry: a cookie whose Max-Age elapsed is not sent; Max-Age=0 deletes it", async () => {
  let clock = Date.now();
  const jar = new CookieJar({ file: newJar(), now: () => clock });
  const opts = { url, token: TOKEN, from: "+14155550003", jar };
  assert.deepEqual((await sendSms({ ...opts, body: "a" })).replies, [FIRST]);
  // The worker sets Max-Age=14400: one second before it elapses the cookie still goes back...
  clock += (TWILIO_COOKIE_SECONDS - 1) * 1000;
  const r2 = await sendSms({ ...opts, body: "b" });
  assert.ok(r2.cookieSent);
  assert.deepEqual(r2.replies, [nth(2)]);
  // ...and once it has elapsed it is not sent (the worker would still open it: its clock is real).
  clock += (TWILIO_COOKIE_SECONDS + 1) * 1000;
  const r3 = await sendSms({ ...opts, body: "c" });
  assert.equal(r3.cookieSent, null);
  assert.deepEqual(r3.replies, [FIRST]);

  // RESET answers with Max-Age=0: the jar drops the cookie and the next message starts over.
  assert.deepEqual((await sendSms({ ...opts, body: "d" })).replies, [nth(2)]);
  const reset = await sendSms({ ...opts, body: "reset" });
  assert.deepEqual(reset.replies, ["Your conversation has been reset."]);
  assert.match(reset.setCookies[0], /Max-Age=0/);
  assert.equal(reset.cookieStored, null);
  const after = await sendSms({ ...opts, body: "e" });
  assert.equal(after.cookieSent, null);
  assert.deepEqual(after.replies, [FIRST]);
});

test("CookieJar: Twilio's 4-hour cap, Expires, session cookies and per-pair isolation", () => {
  let clock = Date.UTC(2026, 0, 1);
  const file = newJar();
  const jar = new CookieJar({ file, now: () => clock });
  jar.store("+1500", "+1415", [
    "long=1; Max-Age=999999",
    "exp=2; Expires=" + new Date(clock + 60_000).toUTCString(),
    "sess=3; Path=/; HttpOnly",
    "gone=4; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
  ]);
  assert.equal(jar.header("+1500", "+1415"), "long=1; exp=2; sess=3");
  assert.equal(jar.header("+1500", "+1416"), null, "another sender has its own jar");
  assert.equal(jar.header("+1501", "+1415"), null, "another number has its own jar");
  jar.save();
  const reloaded = new CookieJar({ file, now: () => clock });
  clock += 61_000;
  assert.equal(reloaded.header("+1500", "+1415"), "long=1; sess=3", "Expires passed");
  clock += 3 * 3600_000;
  reloaded.touch("+1500", "+1415"); // a message: the session cookie lives 4 more hours
  clock += 3600_000;
  assert.equal(reloaded.header("+1500", "+1415"), "sess=3", "Max-Age capped at Twilio's 4 hours");
  reloaded.store("+1500", "+1415", ["sess=; Max-Age=0"]);
  assert.equal(reloaded.header("+1500", "+1415"), null);
  assert.equal(reloaded.forget("+1500", "+1415"), false);
});

test("chat mode: piped lines, /from switches sender, /quit leaves", async () => {
  const input = ["hi", "again", "/from +14155550002", "yo", "/forget", "hey", "/quit", "not sent"].join("\n") + "\n";
  const r = await cli(["--chat", "--url", url, "--token", TOKEN, "--jar", newJar(), "--from", "+14155550001"], { input });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), [FIRST, nth(2), FIRST, FIRST]);
  assert.match(r.stderr, /now texting \+15005550006 as \+14155550002/);
  assert.match(r.stderr, /forgot the cookies of \+14155550002/);

  // npm run chat is the same script with --chat; stdin closing ends it too.
  const again = await cli(["--chat", "--url", url, "--token", TOKEN, "--jar", newJar()], { input: "one\ntwo\n" });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(lines(again.stdout), [FIRST, nth(2)]);
});

test("a wrong token: 403 printed clearly, exit code 1, no cookie stored", async () => {
  const jar = newJar();
  const r = await cli(["--url", url, "--token", "not-the-token", "--jar", jar, "hello"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^HTTP 403 Forbidden$/m);
  assert.match(r.stderr, /TWILIO_AUTH_TOKEN/);
  assert.ok(!fs.existsSync(jar) || !JSON.parse(fs.readFileSync(jar, "utf8")).pairs["+15005550006|+14155550001"]);

  const chat = await cli(["--chat", "--url", url, "--token", "nope", "--jar", jar], { input: "hi\n" });
  assert.equal(chat.code, 1);
  assert.match(chat.stderr, /HTTP 403/);

  // Nothing listening: a clear hint, exit code 1.
  const down = await cli(["--url", "http://127.0.0.1:9/sms", "--token", TOKEN, "--jar", jar, "hello"]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:9\/sms .*npm run dev/);
});

test("defaults: port from wrangler.toml [dev], token from .dev.vars then .dev.vars.example", () => {
  const root = fs.mkdtempSync(path.join(tmp, "root-"));
  assert.equal(defaultUrl(root), "http://127.0.0.1:8787/sms");
  fs.writeFileSync(path.join(root, "wrangler.toml"), 'name = "x"\n[dev]\nport = 9123 # local\n[vars]\nport = "1"\n');
  assert.equal(defaultUrl(root), "http://127.0.0.1:9123/sms");
  fs.writeFileSync(path.join(root, ".dev.vars.example"), "# c\nTWILIO_AUTH_TOKEN=from-example\n");
  assert.deepEqual(defaultToken(root), { token: "from-example", source: ".dev.vars.example" });
  fs.writeFileSync(path.join(root, ".dev.vars"), 'SESSION_SECRET=x\nTWILIO_AUTH_TOKEN="from-dev-vars"\n');
  assert.deepEqual(defaultToken(root), { token: "from-dev-vars", source: ".dev.vars" });
  // The project's own defaults match what `npm run dev` serves with.
  assert.equal(defaultToken(ROOT).token !== undefined, true);
});

test("TwiML parsing: entities, CDATA, several messages, <Response/>", () => {
  assert.deepEqual(parseTwiml('<?xml version="1.0" encoding="UTF-8"?><Response/>'), []);
  assert.deepEqual(
    parseTwiml(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>a &lt;b&gt; &amp;amp; &#233;&#x1F600;</Message>' +
        "<Message><Body><![CDATA[x & <y>]]></Body><Media>https://e.x/a?b=1&amp;c=2</Media></Message></Response>",
    ).map((m) => [m.body, m.media]),
    [["a <b> &amp; é😀", []], ["x & <y>", ["https://e.x/a?b=1&c=2"]]],
  );
  assert.throws(() => parseTwiml(' <?xml version="1.0"?><Response/>'), /12100/);
});

test("--state prints the state after each reply, decoded by the worker's own conversation by name", { timeout: 10 * 60_000 }, async (t) => {
  // The simulator opens cookies with SESSION_SECRET from .dev.vars(.example), as the dev
  // server would seal them; the survey is picked by name, as CONVERSATION does.
  const { devVar } = await import("../scripts/sms.mjs");
  const secret = devVar("SESSION_SECRET").value;
  const survey = await startWorker({ TWILIO_AUTH_TOKEN: TOKEN, SESSION_SECRET: secret, CONVERSATION: "survey" }, { port: 0 });
  t.after(() => survey.dispose());
  const surveyUrl = new URL("/sms", survey.url).href;
  const jar = newJar();
  const run = (body) =>
    new Promise((resolve, reject) => {
      const args = [SMS, "--url", surveyUrl, "--token", TOKEN, "--jar", jar, "--from", "+14155550077", "--state", "--conversation", "survey", body];
      const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  const first = await run("hi");
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout.trim(), "Hi! What's your name?");
  assert.match(first.stderr, /^state: "Name" \(message 1\)$/m, first.stderr);
  const second = await run("Ada");
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /^state: .*"Ada".* \(message 2\)$/m, second.stderr);
});

test("segments(): the same table the worker's twilio::segments is tested with", () => {
  const table = JSON.parse(fs.readFileSync(path.join(ROOT, "src/twilio/segments/segments.json"), "utf8"));
  assert.ok(table.length >= 10);
  for (const { name, parts, encoding, count, units } of table) {
    const text = parts.map(([s, n]) => s.repeat(n)).join("");
    assert.deepEqual(segments(text), { encoding, count, units }, name);
  }
});

test("each reply's segments and encoding are shown; SMART_ENCODING makes a curly reply GSM-7", async () => {
  const plain = await cli(["--url", url, "--token", TOKEN, "--jar", newJar(), "hello"]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, FIRST + "\n");
  assert.match(plain.stderr, /^\(1 segment, GSM-7 \(34 septets\)\)$/m);

  const curly = "“Hi {name}” – it’s message {count}… we’re glad you’re here, truly: “welcome”!";
  const vars = { TWILIO_AUTH_TOKEN: TOKEN, REPLY_FIRST: curly };
  const [off, on] = await Promise.all([
    startWorker(vars, { port: 0 }),
    startWorker({ ...vars, SMART_ENCODING: "true" }, { port: 0 }),
  ]);
  try {
    const send = (w) => sendSms({ url: new URL("/sms", w.url).href, token: TOKEN, jarFile: newJar(), body: "hi" });
    const [a, b] = await Promise.all([send(off), send(on)]);
    assert.equal(a.messages[0].body, "“Hi Friend” – it’s message 1… we’re glad you’re here, truly: “welcome”!");
    assert.deepEqual(a.messages[0].segments, { encoding: "ucs2", count: 2, units: 71 });
    assert.equal(b.messages[0].body, "\"Hi Friend\" - it's message 1... we're glad you're here, truly: \"welcome\"!");
    assert.deepEqual(b.messages[0].segments, { encoding: "gsm7", count: 1, units: 73 });
    const r = await cli(["--url", new URL("/sms", on.url).href, "--token", TOKEN, "--jar", newJar(), "hi"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^\(1 segment, GSM-7 \(73 septets\)\)$/m);
  } finally {
    await Promise.all([off.dispose(), on.dispose()]);
  }
});

test("--retry is Twilio's retry: the same MessageSid with the cookie the first attempt carried, single-shot and /retry in chat", async () => {
  const jar = newJar();
  const base = ["--url", url, "--token", TOKEN, "--jar", jar, "--from", "+14155550031"];
  const one = async (args, expected) => {
    const r = await cli([...base, ...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, expected + "\n");
    return r;
  };
  await one(["hi"], FIRST);
  await one(["two"], nth(2));
  const before = JSON.parse(fs.readFileSync(jar, "utf8"));
  const last = before.last["+15005550006|+14155550031"];
  assert.match(last.sid, /^SM[0-9a-f]{32}$/);
  assert.ok(last.cookie.startsWith("sms_state="), "the cookie the attempt carried is kept");
  assert.notEqual(last.cookie, before.pairs["+15005550006|+14155550031"].cookies.sms_state.value, "...not the current one");
  // Twilio's retry: the same reply, the count does not move; the next message is number 3.
  const r = await one(["--retry"], nth(2));
  assert.match(r.stderr, new RegExp(`Twilio's retry of ${last.sid}`));
  await one(["--retry"], nth(2));
  await one(["three"], nth(3));
  // Nothing to retry after --forget; --retry takes no text.
  await cli([...base, "--forget"]);
  const none = await cli([...base, "--retry"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /nothing to retry/);
  assert.equal((await cli([...base, "--retry", "text"])).code, 2);

  const chat = await cli(["--chat", "--url", url, "--token", TOKEN, "--jar", newJar()], { input: "hi\nagain\n/retry\n/retry\nthird\n" });
  assert.equal(chat.code, 0, chat.stderr);
  assert.deepEqual(lines(chat.stdout), [FIRST, nth(2), nth(2), nth(2), nth(3)]);
});

test("--cookie and --from-state continue a conversation; a cookie of another pair or secret is refused", { timeout: 10 * 60_000 }, async () => {
  // The worker seals with the helper's SESSION_SECRET; the simulator opens and seals with it.
  const { SESSION_SECRET } = await import("./helpers/worker.mjs");
  // The inspector is built once here: the CLI runs below have a 30 s limit each.
  await (await import("../scripts/inspector.mjs")).buildInspector(() => {});
  const source = newJar();
  const opts = { url, token: TOKEN, from: "+14155550041", jarFile: source };
  await sendSms({ ...opts, body: "a" });
  const r2 = await sendSms({ ...opts, body: "b" });
  const value = r2.cookieStored.replace(/^sms_state=/, "");
  const base = ["--url", url, "--token", TOKEN, "--secret", SESSION_SECRET, "--from", "+14155550041"];

  // A cookie copied from the logs, into a new jar: the conversation goes on at message 3.
  const jar = newJar();
  const loaded = await cli([...base, "--jar", jar, "--cookie", `sms_state=${value}`, "go on"]);
  assert.equal(loaded.code, 0, loaded.stderr);
  assert.match(loaded.stderr, /loaded the cookie for \+14155550041 → \+15005550006: .* \(message 2\)/);
  assert.equal(loaded.stdout, nth(3) + "\n");

  // Another pair, another secret, no value: a clear error, exit 1, nothing stored.
  const other = newJar();
  const foreign = await cli([...base, "--jar", other, "--from", "+14155550042", "--cookie", value, "hi"]);
  assert.equal(foreign.code, 1);
  assert.match(foreign.stderr, /does not open for \+14155550042 → \+15005550006/);
  assert.equal(foreign.stdout, "");
  assert.ok(!fs.existsSync(other) || !JSON.stringify(JSON.parse(fs.readFileSync(other, "utf8")).pairs).includes(value));
  const wrong = await cli([...base, "--jar", other, "--secret", "another-secret-0123456789abcdef-0123456789", "--cookie", value, "hi"]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /does not open/);
  const junk = await cli([...base, "--jar", other, "--cookie", "not a cookie!", "hi"]);
  assert.equal(junk.code, 1);
  assert.match(junk.stderr, /not a cookie value/);

  // The state API's JSON (unknown fields ignored), for the pair it names: sealed, continued.
  const file = path.join(tmp, "state.json");
  fs.writeFileSync(file, JSON.stringify({
    from: "+14155550043", to: "+15005550006", state: null, state_version: 0, count: 7, seq: 9,
    first_seen: 1_790_000_000, last_seen: 1_790_000_600, turns: [], kv: "ignored",
  }));
  const fromState = await cli([...base, "--jar", newJar(), "--from-state", file, "eight?"]);
  assert.equal(fromState.code, 0, fromState.stderr);
  assert.match(fromState.stderr, /loaded the state for \+14155550043 → \+15005550006: .*\(message 7\)/);
  assert.equal(fromState.stdout, nth(8) + "\n");
  fs.writeFileSync(file, JSON.stringify({ hello: "world" }));
  const bad = await cli([...base, "--jar", newJar(), "--from-state", file, "hi"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not the state API's JSON: no "state" field/);
});

test("the worker's own messages (a start, follow-ups) reach the simulator through the local Messages API: chat prints them as they come with their status; a text or --inbox prints those since the last look", async (t) => {
  // What `npm run dev` runs without a real account, beside a worker with the objects bound.
  const standIn = await startStandIn({ authTokens: [TOKEN] });
  t.after(() => standIn.close());
  const key = "simulator-test-outbound-key-0123456789";
  const w = await startWorker(
    {
      TWILIO_AUTH_TOKEN: TOKEN,
      CONVERSATION: "survey",
      SURVEY_REMINDER_SECONDS: "1",
      OUTBOUND_API_KEY: key,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_API_BASE_URL: standIn.url,
    },
    { port: 0, durableObjects: { CONVERSATION_OBJECTS: { className: "ConversationObject", useSQLite: true } } },
  );
  t.after(() => w.dispose());
  const webhook = new URL("/sms", w.url).href;
  const start = async (person) => {
    const res = await fetch(new URL("/conversations", w.url), {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ to: person, from: TWILIO_NUMBER }),
    });
    assert.equal(res.status, 201, await res.text());
  };
  /** Waits until the stand-in has delivered `n` messages to `person`. */
  const delivered = (person, n) =>
    waitFor(() => {
      const mine = standIn.messages.filter((m) => m.to === person);
      return mine.length === n && mine.every((m) => m.status === "delivered");
    }, `${n} messages delivered to ${person}`, 15_000);
  const ASK_NAME = "Hi! What's your name?";
  const common = ["--url", webhook, "--token", TOKEN, "--messages-api", standIn.url];

  // Chat: the opening question and the reminder print as they come, without typing; each
  // message's status follows it to "delivered". The reply continues the started survey.
  const ada = "+14155550131";
  const child = spawn(process.execPath, [SMS, "--chat", ...common, "--jar", newJar(), "--from", ada], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  t.after(() => child.kill());
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  await waitFor(() => err.includes("Texting"), "the chat to begin", 10_000);
  await start(ada);
  await waitFor(() => lines(out).length >= 2, `two messages in the chat; got ${JSON.stringify(out)}`, 15_000);
  assert.deepEqual(lines(out), [ASK_NAME, "Just checking in: What's your name?"]);
  for (const m of standIn.messages.filter((x) => x.to === ada)) {
    await waitFor(() => [...err.matchAll(new RegExp(`${m.sid}(?:: |, )(\\w+)`, "g"))].at(-1)?.[1] === "delivered", `${m.sid} shown delivered; stderr: ${err}`, 10_000);
  }
  child.stdin.write("Ada\n");
  await waitFor(() => out.includes("Thanks, Ada."), "the survey's answer", 10_000);
  assert.equal(lines(out)[2], "Thanks, Ada. What's your 5-digit ZIP code?");
  child.stdin.end("/quit\n");
  await new Promise((resolve) => child.on("close", resolve));

  // One message at a time: what came since the last text prints before the reply, once.
  const bo = "+14155550132";
  const jar = newJar();
  await start(bo);
  await delivered(bo, 2);
  const text = await cli([...common, "--jar", jar, "--from", bo, "Bo"]);
  assert.equal(text.code, 0, text.stderr);
  assert.deepEqual(lines(text.stdout), [ASK_NAME, "Just checking in: What's your name?", "Thanks, Bo. What's your 5-digit ZIP code?"]);
  assert.match(text.stderr, /through the Messages API: SM[0-9a-f]{32}, delivered/);
  // --inbox: only the reminder that came after that text, then nothing new.
  await delivered(bo, 3);
  const inbox = await cli([...common, "--jar", jar, "--from", bo, "--inbox"]);
  assert.equal(inbox.code, 0, inbox.stderr);
  assert.deepEqual(lines(inbox.stdout), ["Just checking in: What's your 5-digit ZIP code?"]);
  const again = await cli([...common, "--jar", jar, "--from", bo, "--inbox"]);
  assert.deepEqual([again.code, again.stdout], [0, ""]);
  assert.match(again.stderr, /nothing new/);
  // Another pair sees none of them.
  const other = await cli([...common, "--jar", jar, "--from", "+14155550133", "--inbox"]);
  assert.deepEqual([other.code, other.stdout], [0, ""]);
});
