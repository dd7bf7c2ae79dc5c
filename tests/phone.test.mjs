// The dev phone (`npm run phone`, scripts/phone.mjs) in real headless Chromium, against the
// built worker in workerd: a conversation, the decoded state after each reply, retry, forget,
// a second sender, text shown as text, the worker's own 403 text, and a conversation the worker
// starts (Start), whose messages arrive through the local Messages API with their delivery status.
//
// PHONE_SCREENSHOT=docs/dev-phone.png also writes the README's screenshot.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { startWorker, AUTH_TOKEN, SESSION_SECRET, TWILIO_NUMBER, ROOT, ACCOUNT_SID } from "./helpers/worker.mjs";
import { startPhoneServer, launchBrowser, eventually } from "./helpers/phone.mjs";
import { sendSms, CookieJar } from "../scripts/sms.mjs";
import { startStandIn } from "../scripts/dev-messages.mjs";

const FIRST = "Hello, thanks for the new message.";
const nth = (n) => `Hello, thanks for message number ${n}`;
const ALICE = "+14155550101";
const BOB = "+14155550102";

let worker;
let surveyWorker;
let surveyPhone;
let badWorker; // signs-checks with another token: every webhook is a 403
let phone;
let badPhone;
let browser;
let tmp;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "phone-test-"));
  [worker, badWorker, surveyWorker] = await Promise.all([
    startWorker({}, { port: 0 }),
    startWorker({ TWILIO_AUTH_TOKEN: "not-the-phone-s-token-0123456789" }, { port: 0 }),
    startWorker({ CONVERSATION: "survey", UNKNOWN_CALLER_NAME: "Pal" }, { port: 0 }),
  ]);
  const args = (w, jar) => [
    "--url", new URL("/sms", w.url).href,
    "--token", AUTH_TOKEN,
    "--secret", SESSION_SECRET,
    "--jar", path.join(tmp, jar),
    "--from", ALICE,
  ];
  // One at a time: the first builds sms-inspect, the second finds it built.
  phone = await startPhoneServer(args(worker, "jar.json"));
  badPhone = await startPhoneServer(args(badWorker, "bad-jar.json"));
  surveyPhone = await startPhoneServer([
    ...args(surveyWorker, "survey-jar.json"), "--conversation", "survey", "--var", "UNKNOWN_CALLER_NAME=Pal",
  ]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await phone?.stop();
  await badPhone?.stop();
  await surveyPhone?.stop();
  await surveyWorker?.dispose();
  await worker?.dispose();
  await badWorker?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The page's view of the open conversation and its state panel. */
async function screen(page) {
  return page.evaluate(() => {
    const all = (id) => [...document.querySelectorAll(`[data-testid="${id}"]`)];
    const text = (sel) => document.querySelector(`[data-testid="state"] ${sel}`)?.textContent ?? null;
    return {
      sent: all("sent").map((e) => e.querySelector(".text").textContent),
      replies: all("reply").map((e) => e.querySelector(".text").textContent),
      segments: all("reply").map((e) => e.querySelector('[data-testid="segments"]')?.textContent ?? null),
      errors: all("error").map((e) => e.textContent),
      count: text('[data-field="count"]'),
      seq: text('[data-field="seq"]'),
      lastSid: text('[data-field="last-message-sid"]'),
      source: text('[data-field="source"]'),
      cookieBytes: Number(text('[data-field="cookie-bytes"]')),
      bar: document.querySelector('[data-testid="cookie-size"] .fill')?.style.width ?? null,
      stateVisible: !document.getElementById("state-body").hidden,
    };
  });
}

async function send(page, text) {
  const before = (await screen(page)).sent.length;
  await page.getByTestId("message").fill(text);
  await page.getByTestId("send").click();
  // The message is delivered once its bubble is a sent one (no longer pending).
  await eventually(async () => assert.equal((await screen(page)).sent.length, before + 1));
  await page.locator('[data-testid="pending"]').waitFor({ state: "detached" });
}

/** Waits until the last reply bubble says `text` and the conversation has `replies` replies. */
async function lastReply(page, text, replies) {
  return eventually(async () => {
    const s = await screen(page);
    assert.equal(s.replies.at(-1), text);
    if (replies !== undefined) assert.equal(s.replies.length, replies);
    return s;
  });
}

async function switchTo(page, from) {
  await page.getByTestId("from").fill(from);
  await page.getByTestId("from").press("Enter");
  await eventually(async () => assert.equal(await page.locator("#chat-title .from").textContent(), from));
}

test("a conversation on the dev phone: state panel, retry, forget, another sender, text as text", async () => {
  const page = await browser.context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(phone.url);
  await page.locator('body[data-ready="true"]').waitFor();
  assert.equal(await page.getByTestId("from").inputValue(), ALICE);
  assert.equal(await page.getByTestId("to").inputValue(), TWILIO_NUMBER);

  // A conversation: the count goes up in the state panel, with the cookie's size against 4096.
  await send(page, "hello");
  let s = await lastReply(page, FIRST, 1);
  assert.equal(s.count, "1");
  assert.equal(s.segments.at(-1), "1 segment, GSM-7 (34 septets)", "each reply shows its cost");
  assert.equal(s.source, "new");
  assert.ok(s.cookieBytes > 20 && s.cookieBytes <= 4096, `cookie ${s.cookieBytes} bytes`);
  await send(page, "again");
  s = await lastReply(page, nth(2), 2);
  assert.equal(s.count, "2");
  assert.equal(s.source, "cookie");
  await send(page, "third");
  s = await lastReply(page, nth(3), 3);
  assert.equal(s.count, "3");
  assert.match(s.lastSid, /^SM[0-9a-f]{32}$/);
  const bytes = s.cookieBytes;
  assert.equal(s.bar, `${((bytes / 4096) * 100).toFixed(1)}%`);
  assert.match(await page.getByTestId("cookie-size").textContent(), new RegExp(`${bytes}\\s*/\\s*4096 bytes`));
  // The turns the cookie holds are shown (the default keeps 10).
  assert.match(await page.locator("#turns").textContent(), /→ third[\s\S]*← Hello, thanks for message number 3/);

  // Retry: Twilio's resend of the last message (same MessageSid, same cookie): same reply,
  // not counted again.
  await page.getByTestId("retry").click();
  s = await lastReply(page, nth(3), 4);
  assert.equal(s.sent.length, 4);
  assert.equal(s.count, "3");
  const sids = await page.locator('[data-testid="sent"]').evaluateAll((els) => els.map((e) => e.dataset.sid));
  assert.equal(sids[3], sids[2], "the retry reuses the MessageSid");
  assert.equal(s.lastSid, sids[2]);

  // Forget: the cookie goes, as after 4 idle hours; the next message starts over.
  await page.getByTestId("forget").click();
  await eventually(async () => assert.equal((await screen(page)).stateVisible, false));
  assert.match(await page.getByTestId("state").textContent(), /No cookie/);
  assert.equal(await page.getByTestId("retry").isDisabled(), true);
  await send(page, "back again");
  s = await lastReply(page, FIRST, 5);
  assert.equal(s.count, "1");
  assert.equal(s.source, "new");

  // Another sender is another conversation; the first one is still there when switching back.
  await switchTo(page, BOB);
  s = await screen(page);
  assert.deepEqual([s.sent, s.replies], [[], []]);
  await send(page, "hi, I'm Bob");
  s = await lastReply(page, FIRST, 1);
  assert.equal(s.count, "1");
  await send(page, "Bob again");
  await lastReply(page, nth(2), 2);
  await switchTo(page, ALICE);
  s = await screen(page);
  assert.equal(s.sent.length, 5);
  assert.equal(s.count, "1");

  // Markup typed in a message is shown as text, in the bubble and in the decoded turns.
  await send(page, "<b>hi</b> & <img src=x onerror=alert(1)>");
  s = await lastReply(page, nth(2), 6);
  assert.equal(s.sent.at(-1), "<b>hi</b> & <img src=x onerror=alert(1)>");
  assert.equal(await page.locator('[data-testid="sent"] b, [data-testid="sent"] img, #turns b, #turns img').count(), 0);
  assert.match(await page.locator("#turns").textContent(), /→ <b>hi<\/b> & <img src=x onerror=alert\(1\)>/);
  assert.equal(s.count, "2");

  // The conversation list knows both senders.
  assert.deepEqual(
    (await page.locator("#pair-list button").evaluateAll((els) => els.map((e) => e.dataset.from))).sort(),
    [ALICE, BOB],
  );

  if (process.env.PHONE_SCREENSHOT) {
    await send(page, "what's next?");
    await lastReply(page, nth(3));
    await page.locator("#raw-box").evaluate((d) => (d.open = false));
    await page.screenshot({ path: path.resolve(ROOT, process.env.PHONE_SCREENSHOT) });
  }
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test("the worker's 403 is shown with its own text", async () => {
  // What the worker itself answers to a webhook signed with the phone's (wrong) token.
  const direct = await sendSms({
    url: new URL("/sms", badWorker.url).href,
    token: AUTH_TOKEN,
    body: "hello",
    jar: new CookieJar(),
  });
  assert.equal(direct.status, 403);
  assert.ok(direct.text.trim().length > 0);

  const page = await browser.context.newPage();
  await page.goto(badPhone.url);
  await page.locator('body[data-ready="true"]').waitFor();
  await page.getByTestId("message").fill("hello");
  await page.getByTestId("send").click();
  const error = page.getByTestId("error");
  await error.waitFor();
  const text = await error.textContent();
  assert.match(text, /HTTP 403/);
  assert.ok(text.includes(direct.text.trim()), `${JSON.stringify(text)} shows ${JSON.stringify(direct.text)}`);
  const s = await screen(page);
  assert.deepEqual(s.replies, []);
  assert.match(await page.getByTestId("state").textContent(), /No cookie/);
  await page.close();
});

test("media, X-State-Source, a 500's text and a cookie that does not open (a stand-in webhook)", async () => {
  // A stand-in for the worker on 127.0.0.1, answering what the real one may: media, the
  // state's source in X-State-Source, a cookie sealed with another secret, a 500.
  const PNG = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    "base64",
  );
  let base;
  const stub = http.createServer((req, res) => {
    if (req.url === "/cat.png") {
      res.writeHead(200, { "content-type": "image/png" });
      return res.end(PNG);
    }
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      const body = new URLSearchParams(raw).get("Body");
      if (body === "boom") {
        res.writeHead(500, { "content-type": "text/plain" });
        return res.end("misconfigured: SESSION_SECRET is 5 bytes <script>");
      }
      res.writeHead(200, {
        "content-type": "text/xml",
        "x-state-source": "kv",
        "set-cookie": "sms_state=e1.k0.bm90aGluZw.bm9wZQ; Max-Age=600; Path=/; HttpOnly",
      });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Response><Message><Body>a cat &lt;3</Body>` +
          `<Media>${base}/cat.png</Media><Media>javascript:alert(1)</Media></Message></Response>`,
      );
    });
  });
  await new Promise((r) => stub.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${stub.address().port}`;
  const stubPhone = await startPhoneServer([
    "--url", `${base}/sms`, "--token", AUTH_TOKEN, "--secret", SESSION_SECRET, "--jar", "",
  ]);
  try {
    const page = await browser.context.newPage();
    await page.goto(stubPhone.url);
    await page.locator('body[data-ready="true"]').waitFor();
    await send(page, "a picture?");
    const s = await lastReply(page, "a cat <3", 1);
    const reply = page.getByTestId("reply");
    assert.deepEqual(await reply.locator("a").evaluateAll((as) => as.map((a) => a.getAttribute("href"))), [`${base}/cat.png`]);
    assert.match(await reply.textContent(), /javascript:alert\(1\)/, "an unsafe media URL is shown, not linked");
    await page.waitForFunction(() => document.querySelector('[data-testid="reply"] img')?.naturalWidth === 1);
    assert.equal(s.source, "kv");
    assert.match(await page.locator("#source-why").textContent(), /X-State-Source/);
    assert.match(await page.locator("#inspect-error").textContent(), /cannot open the cookie/);
    assert.ok(s.cookieBytes > 0);

    await send(page, "boom");
    const error = page.getByTestId("error");
    await error.waitFor();
    assert.match(await error.textContent(), /HTTP 500[\s\S]*misconfigured: SESSION_SECRET is 5 bytes <script>/);
    assert.equal(await error.locator("script").count(), 0);
    // In the transcript: the media with their step; the failed message is left out.
    const transcript = await page.evaluate(async () => {
      const token = document.querySelector('meta[name="phone-token"]').content;
      const q = new URLSearchParams({ from: document.getElementById("from").value, to: document.getElementById("to").value });
      return (await fetch(`/api/transcript?${q}`, { headers: { "x-phone-token": token } })).json();
    });
    assert.deepEqual(transcript.steps, [{ text: "a picture?", replies: ["a cat <3"], media: [`${base}/cat.png`, "javascript:alert(1)"] }]);
    await page.close();
  } finally {
    await stubPhone.stop();
    await new Promise((r) => stub.close(r));
  }
});

test("a record of another layout (typed state, reply objects) is still shown", async () => {
  // The sealed record's fields follow the worker's design; the panel must not depend on more
  // than count/seq/last_message_sid, `state` and `turns` when present, and show the rest raw.
  const record = {
    seq: 7,
    count: 5,
    last_message_sid: "SM" + "a".repeat(32),
    recent_sids: ["SM" + "b".repeat(32)],
    last_reply: { body: "Pick a size", media: [] },
    state: { step: "Size", order: { flavour: "<i>mint</i>" } },
    turns: [
      { at: 1_790_000_000, message_sid: "SM" + "c".repeat(32), inbound: "hi", reply: ["Flavour?"] },
      { at: 1_790_000_060, message_sid: "SM" + "c".repeat(32), inbound: "mint", reply: { messages: [{ body: "Pick a size", media: ["http://127.0.0.1:9/size.png"] }] } },
    ],
    new_counter: 3,
  };
  const page = await browser.context.newPage();
  await page.route("**/api/pair?*", async (route) => {
    const real = await (await route.fetch()).json();
    real.current = { cookie: true, cookieName: "sms_state", cookieBytes: 3900, inspection: { ok: true, format: "e2", kind: "state", bytes: 3890, record } };
    await route.fulfill({ json: real });
  });
  await page.goto(phone.url + "?from=%2B14155550177");
  await page.locator('body[data-ready="true"]').waitFor();
  const state = page.getByTestId("state");
  await eventually(async () => assert.equal(await state.locator('[data-field="count"]').textContent(), "5"));
  assert.equal(await state.locator('[data-field="seq"]').textContent(), "7");
  assert.equal(await state.locator('[data-field="last-message-sid"]').textContent(), record.last_message_sid);
  assert.equal(await state.locator('[data-field="new-counter"]').textContent(), "3");
  assert.deepEqual(JSON.parse(await state.locator('[data-field="state"]').textContent()), record.state);
  assert.match(await state.locator("#turns").textContent(), /→ hi← Flavour\?[\s\S]*→ mint← Pick a size[\s\S]*size\.png/);
  assert.deepEqual(JSON.parse(await state.locator('[data-field="record"]').textContent()), record);
  assert.match(await page.getByTestId("cookie-size").textContent(), /3900\s*\/\s*4096 bytes/);
  assert.equal(await page.locator("#cookie-size.warn").count(), 1, "a cookie near the limit is flagged");
  await page.close();
});

test("the phone's API answers only its own page", async () => {
  const api = new URL("/api/send", phone.url).href;
  const page = await browser.context.newPage();
  await page.goto(phone.url);
  const token = await page.locator('meta[name="phone-token"]').getAttribute("content");
  await page.close();
  assert.match(token, /^[A-Za-z0-9_-]{20,}$/);
  const body = JSON.stringify({ from: "+14155550199", to: TWILIO_NUMBER, body: "hi" });
  const post = (headers) =>
    fetch(api, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

  assert.equal((await post({})).status, 403, "no token");
  assert.equal((await post({ "x-phone-token": token.slice(1) + "x" })).status, 403, "wrong token");
  assert.equal((await post({ "x-phone-token": token, origin: "http://evil.example" })).status, 403, "foreign Origin");
  assert.equal((await post({ "x-phone-token": token, "sec-fetch-site": "cross-site" })).status, 403, "cross-site");
  // DNS rebinding: another host name pointing at 127.0.0.1 gets nothing, not even the page.
  const port = new URL(phone.url).port;
  const rebound = await new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/", headers: { host: `evil.example:${port}` } }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, text }));
      })
      .on("error", reject);
  });
  assert.equal(rebound.status, 421);
  assert.ok(!rebound.text.includes(token));
  // A simple cross-origin form post (no preflight) is refused too.
  const form = await fetch(api, {
    method: "POST",
    headers: { "content-type": "text/plain", "x-phone-token": token },
    body,
  });
  assert.equal(form.status, 415);

  const ok = await post({ "x-phone-token": token, origin: new URL(phone.url).origin });
  assert.equal(ok.status, 200);
  const view = await ok.json();
  assert.equal(view.events.at(-1).replies[0].body, FIRST);
  assert.equal(view.events.at(-1).snapshot.inspection.ok, true);
});

const ASK_NAME = "Hi! What's your name?";
const ASK_ZIP = "What's your 5-digit ZIP code?";
const ASK_UPDATES = "Can we text you updates? Reply Y for yes or N for no.";

async function openPhone(url) {
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.locator('body[data-ready="true"]').waitFor();
  return page;
}

/** Pastes `value` into Load… and submits it. */
async function load(page, value) {
  await page.getByTestId("load").click();
  await page.getByTestId("load-value").fill(value);
  await page.getByTestId("load-submit").click();
}

test("Load…: a cookie value from another run continues the conversation; one of another pair, or junk, is refused", async () => {
  // A conversation held elsewhere (as in production): its sms_state value is what the logs show.
  const CAROL = "+14155550131";
  const elsewhere = { url: new URL("/sms", worker.url).href, token: AUTH_TOKEN, from: CAROL, jar: new CookieJar() };
  await sendSms({ ...elsewhere, body: "one" });
  const r = await sendSms({ ...elsewhere, body: "two" });
  assert.deepEqual(r.replies, [nth(2)]);
  const value = r.cookieStored.replace(/^sms_state=/, "");

  const page = await openPhone(`${phone.url}?from=${encodeURIComponent(CAROL)}`);
  await load(page, `sms_state=${value}`);
  await eventually(async () => assert.equal((await screen(page)).count, "2"));
  assert.equal(await page.getByTestId("load-box").isHidden(), true);
  assert.match(await page.locator("#source-why").textContent(), /loaded from a cookie value/);
  assert.match(await page.getByTestId("conversation").textContent(), /loaded a cookie value \(message 2\)/);
  await send(page, "three");
  const s = await lastReply(page, nth(3), 1);
  assert.equal(s.count, "3");
  assert.equal(s.source, "cookie");

  // The same value for another sender does not open (the pair is under the MAC); junk is no cookie.
  await switchTo(page, "+14155550132");
  await load(page, value);
  const error = page.getByTestId("load-error");
  await error.waitFor();
  assert.match(await error.textContent(), /cannot load: the cookie does not open for \+14155550132 → \+15005550006/);
  assert.match(await page.getByTestId("state").textContent(), /No cookie/);
  await page.getByTestId("load-value").fill("not a cookie!");
  await page.getByTestId("load-submit").click();
  await eventually(async () => assert.match(await error.textContent(), /not a cookie value/));
  await page.getByTestId("load-value").fill('{"hello": "world"}');
  await page.getByTestId("load-submit").click();
  await eventually(async () => assert.match(await error.textContent(), /not the state API's JSON: no "state" field/));
  await page.close();
});

test("Load…: the state API's JSON is sealed for the pair it names and the survey goes on from its step", async () => {
  const page = await openPhone(`${surveyPhone.url}?from=${encodeURIComponent("+14155550141")}`);
  await send(page, "hi");
  await lastReply(page, ASK_NAME, 1);
  await send(page, "Ada");
  await lastReply(page, `Thanks, Ada. ${ASK_ZIP}`, 2);
  // What the state API answers: the record's fields (the panel's JSON), and the pair.
  const record = JSON.parse(await page.locator('[data-field="record"]').textContent());
  const json = {
    from: "+14155550142", to: TWILIO_NUMBER, state: record.state, state_version: record.state_version,
    count: record.count, seq: record.seq, first_seen: record.first_seen, last_seen: record.last_seen,
    turns: record.turns, kv_key: null, something_new: [1, 2],
  };
  assert.equal(json.count, 2);
  await load(page, JSON.stringify(json));
  await eventually(async () => assert.equal(await page.locator("#chat-title .from").textContent(), "+14155550142"));
  assert.equal(await page.getByTestId("from").inputValue(), "+14155550142");
  let s = await screen(page);
  assert.equal(s.count, "2");
  assert.deepEqual(JSON.parse(await page.locator('[data-field="state"]').textContent()), record.state);
  assert.match(await page.locator("#source-why").textContent(), /sealed from the state API's JSON/);
  await send(page, "94105");
  s = await lastReply(page, ASK_UPDATES, 1);
  assert.equal(s.count, "3");
  await page.close();
});

test("Save transcript: the conversation's messages, retries and waits in TestPhone::replay's format", async () => {
  const FROM = "+14155550151";
  const page = await openPhone(`${surveyPhone.url}?from=${encodeURIComponent(FROM)}`);
  await send(page, "hi");
  await lastReply(page, ASK_NAME, 1);
  await page.getByTestId("retry").click();
  await lastReply(page, ASK_NAME, 2);
  await page.getByTestId("wait-seconds").fill("3600");
  await page.getByTestId("wait").click();
  await eventually(async () => assert.match(await page.getByTestId("conversation").textContent(), /waited 3600 s/));
  await send(page, "Ada");
  await lastReply(page, `Thanks, Ada. ${ASK_ZIP}`, 3);

  const transcript = await page.evaluate(async (from) => {
    const token = document.querySelector('meta[name="phone-token"]').content;
    const res = await fetch(`/api/transcript?${new URLSearchParams({ from, to: "+15005550006" })}`, { headers: { "x-phone-token": token } });
    return res.json();
  }, FROM);
  assert.deepEqual(transcript, {
    format: "sms-conversation-worker transcript 1",
    conversation: "survey",
    vars: { UNKNOWN_CALLER_NAME: "Pal" },
    from: FROM,
    to: TWILIO_NUMBER,
    steps: [
      { text: "hi", replies: [ASK_NAME] },
      { retry: true, replies: [ASK_NAME] },
      { wait: 3600 },
      { text: "Ada", replies: [`Thanks, Ada. ${ASK_ZIP}`] },
    ],
  });
  // The button downloads the same JSON.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("save-transcript").click()]);
  const file = await download.path();
  assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), transcript);
  assert.match(download.suggestedFilename(), /^transcript-14155550151\.json$/);
  // Without the page's token there is no transcript.
  assert.equal((await fetch(new URL(`/api/transcript?from=${encodeURIComponent(FROM)}&to=%2B15005550006`, surveyPhone.url))).status, 403);
  await page.close();

  // Saved, it passes as a test (TestPhone::replay, as `npm test` runs tests/transcripts/);
  // one reply's text changed, it fails with a diff naming the step.
  const saved = fs.mkdtempSync(path.join(tmp, "transcript-"));
  fs.writeFileSync(path.join(saved, "held.json"), JSON.stringify(transcript, null, 2));
  const passes = replayTranscripts(saved);
  assert.equal(passes.status, 0, passes.output);
  const changed = structuredClone(transcript);
  changed.steps[3].replies = ["Thanks, Ada! Your ZIP?"];
  fs.writeFileSync(path.join(saved, "held.json"), JSON.stringify(changed, null, 2));
  const fails = replayTranscripts(saved, { expectDiff: true });
  assert.equal(fails.status, 0, fails.output);
  assert.match(fails.output, /step 4 \(text "Ada"\): the reply differs\n- Thanks, Ada! Your ZIP\?\n\+ Thanks, Ada\. What's your 5-digit ZIP code\?/);
});

/** `cargo test`'s transcript replay over the transcripts in `folder` (tests/transcripts.rs). */
function replayTranscripts(folder, { expectDiff = false } = {}) {
  const env = { ...process.env, SMS_TRANSCRIPTS: folder };
  if (expectDiff) env.SMS_TRANSCRIPTS_EXPECT_DIFF = "1";
  const r = spawnSync(
    "cargo",
    ["test", "--locked", "-q", "-p", "sms-conversation-worker", "--test", "transcripts", "--", "--exact", "the_transcripts_in_sms_transcripts_replay", "--nocapture"],
    { cwd: ROOT, env, encoding: "utf8", timeout: 600_000 },
  );
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

test("a transcript's vars: .dev.vars' changes from wrangler.toml and each --var, never a secret", async () => {
  const { transcriptVars } = await import("../scripts/phone.mjs");
  const root = fs.mkdtempSync(path.join(tmp, "vars-"));
  fs.writeFileSync(path.join(root, "wrangler.toml"), '[vars]\nCONVERSATION = "counter"\nREPLY_FIRST = "Hello"\nUNKNOWN_CALLER_NAME = "Friend"\nTWILIO_ACCOUNT_SID = ""\n');
  // The local account .dev.vars.example sets is where starts send from, not the conversation's.
  fs.writeFileSync(
    path.join(root, ".dev.vars"),
    "TWILIO_AUTH_TOKEN=t0ken\nSESSION_SECRET=s3cret\nOUTBOUND_API_KEY=k\nCONVERSATION=survey\nREPLY_FIRST=Hello\nUNKNOWN_CALLER_NAME=Pal\n" +
      `TWILIO_ACCOUNT_SID=AC${"0".repeat(32)}\n`,
  );
  assert.deepEqual(transcriptVars([], root), { UNKNOWN_CALLER_NAME: "Pal" });
  assert.deepEqual(transcriptVars(["SURVEY_REMINDER_SECONDS=0", "UNKNOWN_CALLER_NAME=Mate"], root), {
    UNKNOWN_CALLER_NAME: "Mate",
    SURVEY_REMINDER_SECONDS: "0",
  });
  assert.throws(() => transcriptVars(["SURVEY_RESULTS_TOKEN=x"], root), /secrets never go into transcripts/);
  assert.throws(() => transcriptVars(["no-equals"], root), /NAME=VALUE/);
});

test("Start: a conversation the worker starts, and its follow-up, arrive in the dev phone with their delivery status; the reply continues it", async (t) => {
  // What `npm run dev` runs without a real account: the local Messages API, beside the worker
  // with the objects bound, whose sends it answers and reports delivered.
  const standIn = await startStandIn({ authTokens: [AUTH_TOKEN] });
  t.after(() => standIn.close());
  const key = "phone-test-outbound-key-0123456789";
  const objectsWorker = await startWorker(
    {
      CONVERSATION: "survey",
      SURVEY_REMINDER_SECONDS: "1",
      OUTBOUND_API_KEY: key,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_API_BASE_URL: standIn.url,
    },
    { port: 0, durableObjects: { CONVERSATION_OBJECTS: { className: "ConversationObject", useSQLite: true } } },
  );
  t.after(() => objectsWorker.dispose());
  const startPhone = await startPhoneServer([
    "--url", new URL("/sms", objectsWorker.url).href,
    "--token", AUTH_TOKEN,
    "--secret", SESSION_SECRET,
    "--jar", path.join(tmp, "start-jar.json"),
    "--conversation", "survey",
    "--messages-api", standIn.url,
    "--outbound-key", key,
  ]);
  t.after(() => startPhone.stop());

  const page = await browser.context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  const person = "+14155550166";
  await page.goto(`${startPhone.url}?from=${encodeURIComponent(person)}`);
  await page.locator('body[data-ready="true"]').waitFor();
  const incoming = () =>
    page.locator('[data-testid="incoming"]').evaluateAll((els) =>
      els.map((e) => [e.querySelector(".text").textContent, e.querySelector('[data-testid="delivery"]').textContent]),
    );

  await page.getByTestId("start").click();
  await page.locator('[data-testid="start-note"][data-status="201"]').waitFor();
  // The opening question, as the person's phone shows it, queued → sent → delivered; then,
  // a second later with no answer, the object's follow-up. Nothing was typed in between.
  await eventually(async () => {
    const shown = await incoming();
    assert.deepEqual(shown, [
      ["Hi! What's your name?", "delivered"],
      ["Just checking in: What's your name?", "delivered"],
    ]);
  }, { timeout: 20_000 });
  const sids = await page.locator('[data-testid="incoming"]').evaluateAll((els) => els.map((e) => e.dataset.sid));
  assert.deepEqual(sids, standIn.messages.map((m) => m.sid), "the bubbles are the messages the Messages API took");
  assert.ok(standIn.messages.every((m) => m.statuses.slice(1).every((s) => s.callback === 200)), "the worker took every status callback");
  // The conversation list counts them.
  assert.equal(await page.locator(`#pair-list button[data-from="${person}"] .count`).textContent(), "2");

  // The person answers (no cookie: Twilio keeps none for a message we sent): the survey goes on.
  await send(page, "Rey");
  await lastReply(page, "Thanks, Rey. What's your 5-digit ZIP code?", 1);

  // Without OUTBOUND_API_KEY the phone says what to set, and sends nothing.
  const noKey = await startPhoneServer([
    "--url", new URL("/sms", objectsWorker.url).href,
    "--token", AUTH_TOKEN,
    "--jar", "",
    "--messages-api", standIn.url,
    "--outbound-key", "",
  ]);
  t.after(() => noKey.stop());
  const other = await browser.context.newPage();
  await other.goto(noKey.url);
  await other.locator('body[data-ready="true"]').waitFor();
  assert.match(await other.locator("#start-hint").textContent(), /OUTBOUND_API_KEY/);
  await other.getByTestId("start").click();
  await eventually(async () => assert.match(await other.getByTestId("start-error").textContent(), /OUTBOUND_API_KEY/));
  const opened = await other.getByTestId("from").inputValue();
  assert.deepEqual(standIn.messages.filter((m) => m.to === opened), [], "nothing was started");
  await other.close();

  assert.deepEqual(pageErrors, []);
  await page.close();
});
