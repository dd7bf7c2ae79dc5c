// End to end: the state API for one pair (/conversations/state, ADMIN_API_KEY) and
// `npm run conversation`, against the BUILT worker in workerd through Miniflare, with KV or
// the objects bound: a pair's state is read, corrected and ended, the next text (whose cookie
// Twilio still holds) sees the change, and every refusal is clear.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import { startWorker, Phone, ACCOUNT_SID, AUTH_TOKEN, SESSION_SECRET, TWILIO_NUMBER } from "./helpers/worker.mjs";

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);
const ADMIN = "admin-key-e2e-0123456789abcdef-0123456789";
const ASK_NAME = "Hi! What's your name?";
const ASK_ZIP = "What's your 5-digit ZIP code?";
const BINDINGS = {
  KV: { kvNamespaces: ["CONVERSATIONS"] },
  objects: { durableObjects: { CONVERSATION_OBJECTS: { className: "ConversationObject", useSQLite: true } } },
};

let seq = 0;
const nextNumber = () => `+1415557${String(1000 + (seq += 1) * 53).slice(-4)}`;

/** `npm run conversation -- …` as a user runs it, against the worker at `url`. */
async function cli(url, ...args) {
  try {
    const { stdout } = await run(process.execPath, [path.join(ROOT, "scripts/conversation.mjs"), ...args, "--url", `${url}sms`], {
      env: { ...process.env, ADMIN_API_KEY: ADMIN },
    });
    return { code: 0, out: stdout };
  } catch (e) {
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

async function api(mf, method, from, { key = ADMIN, body } = {}) {
  const url = `http://localhost/conversations/state?${new URLSearchParams({ from, to: TWILIO_NUMBER })}`;
  const init = { method, headers: { authorization: `Bearer ${key}` } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const res = await mf.dispatchFetch(url, init);
  const text = await res.text();
  return { status: res.status, text, body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : null };
}

for (const [bound, options] of Object.entries(BINDINGS)) {
  test(`with ${bound}: read, correct and end a pair through the API and the CLI; the next text sees it`, async (t) => {
    const w = await startWorker(
      { CONVERSATION: "survey", ADMIN_API_KEY: ADMIN, TWILIO_ACCOUNT_SID: ACCOUNT_SID },
      options,
    );
    t.after(() => w.dispose());
    const from = nextNumber();
    const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), "http://localhost/sms", from);
    assert.equal((await phone.send("hi")).reply, ASK_NAME);
    assert.equal((await phone.send("Ada")).reply, `Thanks, Ada. ${ASK_ZIP}`);

    const got = await cli(w.url, "get", "--from", from);
    assert.equal(got.code, 0, got.err);
    const record = JSON.parse(got.out);
    assert.equal(record.count, 2);
    assert.deepEqual(record.state, { Zip: { name: "Ada" } });
    assert.equal(record.turns.length, 2);
    assert.equal(record.turns[1].inbound, "Ada");
    assert.equal(record.opted_out, false);
    assert.equal(record.source, bound === "KV" ? "kv" : "object");

    const set = await cli(w.url, "set", "--from", from, "--state", '{"Zip":{"name":"Bea"}}');
    assert.equal(set.code, 0, set.err);
    // The cookie Twilio holds still says Ada: the change wins.
    assert.equal((await phone.send("1")).reply, `Sorry, a ZIP code is 5 digits. ${ASK_ZIP}`);
    assert.deepEqual((await api(w.mf, "GET", from)).body.state, { Zip: { name: "Bea" } });

    const bad = await cli(w.url, "set", "--from", from, "--state", '{"Zap":1}');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /HTTP 400/);
    assert.match(bad.err, /survey/);

    // Taken from the running worker, the state continues locally: the simulator seals the
    // API's JSON for the pair it names and texts a worker of its own (no KV, no objects).
    const saved = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "state-")), "state.json");
    fs.writeFileSync(saved, (await cli(w.url, "get", "--from", from)).out);
    const local = await startWorker({ CONVERSATION: "survey" });
    t.after(() => local.dispose());
    const sim = await run(process.execPath, [
      path.join(ROOT, "scripts/sms.mjs"), "--from-state", saved, "--secret", SESSION_SECRET,
      "--token", AUTH_TOKEN, "--account", ACCOUNT_SID, "--url", `${local.url}sms`,
      "--jar", path.join(path.dirname(saved), "jar.json"), "94105",
    ]).catch((e) => e);
    assert.match(sim.stdout ?? "", /Can we text you updates\?/, sim.stderr);

    const reset = await cli(w.url, "reset", "--from", from);
    assert.equal(reset.code, 0, reset.err);
    assert.equal(JSON.parse(reset.out).count, 0);
    assert.equal((await phone.send("hello")).reply, ASK_NAME, "the next text starts over");
  });
}

test("refusals: 404 without ADMIN_API_KEY, 401 for a wrong key, 400 for a bad pair, 404 for none, 409 without KV or objects", async (t) => {
  const off = await startWorker({ CONVERSATION: "survey", TWILIO_ACCOUNT_SID: ACCOUNT_SID }, BINDINGS.KV);
  t.after(() => off.dispose());
  assert.equal((await api(off.mf, "GET", nextNumber())).status, 404);

  const short = await startWorker({ CONVERSATION: "survey", ADMIN_API_KEY: "short", TWILIO_ACCOUNT_SID: ACCOUNT_SID }, BINDINGS.KV);
  t.after(() => short.dispose());
  const misconfigured = await api(short.mf, "GET", nextNumber());
  assert.equal(misconfigured.status, 500);
  assert.match(misconfigured.text, /ADMIN_API_KEY/);

  const w = await startWorker({ CONVERSATION: "survey", ADMIN_API_KEY: ADMIN, TWILIO_ACCOUNT_SID: ACCOUNT_SID }, BINDINGS.KV);
  t.after(() => w.dispose());
  assert.equal((await api(w.mf, "GET", nextNumber(), { key: "x".repeat(40) })).status, 401);
  const badPair = await api(w.mf, "GET", "4155550100");
  assert.equal(badPair.status, 400);
  assert.match(badPair.text, /from/);
  assert.equal((await api(w.mf, "POST", nextNumber())).status, 405);
  assert.equal((await api(w.mf, "GET", nextNumber())).status, 404);

  const cookieOnly = await startWorker({ CONVERSATION: "survey", ADMIN_API_KEY: ADMIN, TWILIO_ACCOUNT_SID: ACCOUNT_SID });
  t.after(() => cookieOnly.dispose());
  const unbound = await api(cookieOnly.mf, "GET", nextNumber());
  assert.equal(unbound.status, 409);
  assert.match(unbound.text, /CONVERSATIONS/);
  assert.match(unbound.text, /CONVERSATION_OBJECTS/);
});
