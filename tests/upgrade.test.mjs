// End to end: conversations of the previous release continue on this one. Twilio keeps a
// pair's cookie for up to four hours and KV keeps entries for KV_TTL_SECONDS, so every deploy
// lands in live conversations: the previous release's sealed values (`v1` signed, `e1`
// encrypted, `p1` a pointer to a KV spill) and its KV pair entries must keep opening, with
// the count intact, and be answered with a cookie of the current format.
//
// The BUILT worker (build/index.js + wasm) in workerd through Miniflare, webhooks signed with
// the official `twilio` package. Each test starts its own worker: an isolate remembers the
// last state it answered per pair, and every test here uses the same golden pair.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Phone, openSealed, startWorker, TWILIO_NUMBER, ACCOUNT_SID, SESSION_SECRET } from "./helpers/worker.mjs";

// Miniflare would otherwise fetch request.cf data from the internet at start-up.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

// ---------------------------------------------------------------------------------------
// GOLDEN VALUES. Sealed by the PREVIOUS RELEASE (formats v1/e1/p1) with the e2e secret
// below, for the pair AccountSid AC000…0 / To +15005550006 / From +14155550199, expiring in
// 2096. They stand for cookies and KV entries that exist in production: NEVER regenerate or
// re-seal them with the current code. If one stops opening, the worker broke live
// conversations; fix the worker, not these strings.

const GOLDEN_SECRET = "e2e-session-secret-0123456789abcdef-0123";
const GOLDEN_ACCOUNT = "AC00000000000000000000000000000000";
const GOLDEN_TO = "+15005550006";
const GOLDEN_FROM = "+14155550199";

/** `v1` (signed): count 3, last MessageSid SM + 31 zeros + "3", no turns. */
const GOLDEN_V1_COUNT3 =
  "v1.J4L7KkyL.gNCs8w4DA4Hiz6oGg-LPqgYBIlNNMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDMAAA.zowm8od_h9YLZskvHJRnnaAiXbF3pZ9hsPVEid9tDh4";

/** `e1` (encrypted): count 5, turns "msg 1".."msg 5" with the counter's replies, last MessageSid SM + 29 zeros + "105". */
const GOLDEN_E1_COUNT5 =
  "e1.J4L7KkyL.Z7MoSZiF47TqoEvX7FTdfx3naRxHUTCje4SyjM1yXsI0UYHAR4N_umKW1g7qAOgiyPzZbKptnWAzuFCXKFgjeC5Uou5iIScg3mxGPzodT4TRhalcBQHbzLCXRQS5AXFnQ9JL1LofSY4savded-RAc6pY13ekBzSjFPWXbKdDSO4RnQGAEAdh59vhV5NQC77fLSAvM3vD3GBf-BuB_MeRY-zx4nHIxmzPFoLcUpfaZBH7vUPG0ilutbWNhacVbCROcMkAS8huI-z52VomzV6QcrWpkJs8QKapVj2cr2iGUcyQUvEXeatZNtebnqZtEyMXSZQqQUvZtnXawuIALQAeG6tLrmV-quB3WX7NX5U8jpqDidKUOdNmUqI8trH2PwFc8cglhxW4fdNhsLQSdXyJlpBK-MvZP5N6Hge3Ic_9OOKpD2t06eVbTeMip2s2_gPx8etIyy-MBqsksQwnqDQgd96lae8vEHcRE6vKzXwiPCFJKG3rGgH5o9IclJr_wgalYGUrZUh9596zYQFb0SJiJE9cv7nGeM2qw9bz7EvITj3AqS_6YybNQKBwaVIuiQ9AuX9lpDG6HMGJ3_sYRKUWhZJw4431qU-DosmI5B8wZKT5AqlWehvJrbjfU8w2.9np1vmLvkub2lVCRWatsZw";

/** `p1` (pointer): count 7, KV key "spill:golden", summary's last MessageSid SM + 29 zeros + "107". */
const GOLDEN_P1_COUNT7 =
  "p1.J4L7KkyL.gNCs8w4Mc3BpbGw6Z29sZGVuBweB4s-qBofiz6oGASJTTTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMTA3AAA.7-zyibS6-wVynT_fwfDEwIh2c3ispWqoDgEo1Ca81hM";

/** The KV key the `p1` pointer names, and the value the previous release stored there (`e1`, count 7, 5 turns). */
const GOLDEN_SPILL_KEY = "spill:golden";
const GOLDEN_SPILL_VALUE =
  "e1.J4L7KkyL.yCl_GiFuT-Bl87m5kVqR130l2Dlu5Vyad0PQ1On0RmalB8owPv0P5WrzKEgv9wKBsTc4U3MSall2GNToK1kQA5wOXenfly5SV-XzpTT3QfcAeu-yMfiP0QeteyLDLoLu5Ia4VAdBvKVPSrncufMLzG3Cc61G7Ythf8U_QUYQcUqEjy_UlGzZHePpgec-jfFEAgifjowuaZRpLQQFz2uzuw3q7iJfzRaUKjF8mIrEETYT6zthakcf5E8S6skA65zP_wsSTuaJwXpct7-9uWfEFmkojMLyrvtlJ9hJYqoSs6l1w7xVbXIbtAroBZQlJy2ZxBlaD421SESfiiQ9iJ-T8FQjSFZv0B0AMzsmVWI7Tcztg11WNQOLi99A9HbT_RUNfKxipErekYI4vDvnYU8bMj9M0zy5yjZwMV0VBHDNtEWzRwGzvTiaHvCUqfQAJbDFyaW1EwWNq_sJxb57yRlpWsL3fTOsRQQlkbAJA4WqlAN8GphGy7zBkodvlR0Ckq-ic1J8AUtdrmH5ETn1FXlJIq2_XCM1jKvT1KgFTNXMX-gNWkQt0Bzr9oPdlOOijRTWafFBtRobQFrRNGqER2teY8IRLdOsdhWbfdiGg5Tn0_9o3S6XUEBohybXrt36.xawc6fvEJ4PSDrFfzz1xbw";

/** The previous release's KV key of the golden pair's entry; its value for the count-3 state is GOLDEN_V1_COUNT3. */
const GOLDEN_LEGACY_PAIR_KEY = "pair:etBImiMRWkT4TLnUpGleaxvo46ctPXaTyMdsxgfBYoE";

// ---------------------------------------------------------------------------------------

const WEBHOOK = "https://sms-worker.example.com/sms";
const KV = { kvNamespaces: ["CONVERSATIONS"] };
const FIRST = "Hello, thanks for the new message.";
const nth = (n) => `Hello, thanks for message number ${n}`;
/** "SM" + the number padded with zeros to 32 digits, as the golden MessageSids are. */
const goldenSid = (n) => "SM" + String(n).padStart(32, "0");
const goldenCookie = (value) => `sms_state=${value}`;
const NEW_FORMAT = /^sms_state=2c[se]\./;

// Two configurations: the default (10 turns, encrypted) and no history (signed).
const CONFIGS = [
  { label: "default history", vars: {}, turns: true },
  { label: "HISTORY_TURNS=0", vars: { HISTORY_TURNS: "0" }, turns: false },
];

test("the golden values are the e2e test pair's", () => {
  // The constants above must match what the helpers start the worker and sign with.
  assert.equal(GOLDEN_SECRET, SESSION_SECRET);
  assert.equal(GOLDEN_ACCOUNT, ACCOUNT_SID);
  assert.equal(GOLDEN_TO, TWILIO_NUMBER);
  assert.equal(goldenSid(3), "SM" + "0".repeat(31) + "3");
  assert.equal(goldenSid(105), "SM" + "0".repeat(29) + "105");
});

/** Runs `fn` with a fresh worker (fresh isolate memory), its output kept off the console. */
async function withWorker(vars, options, fn) {
  const logs = [];
  const w = await startWorker(vars, {
    cf: false,
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on("data", (d) => logs.push(String(d)));
    },
    ...options,
  });
  try {
    const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, GOLDEN_FROM);
    return await fn({ ...w, phone, logs });
  } finally {
    await w.dispose();
  }
}

/** Sends `body` and asserts a 200 whose reply is `expected`. */
async function say(phone, body, expected, opts) {
  const r = await phone.send(body, opts);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.reply, expected, `reply to ${JSON.stringify(body)}`);
  return r;
}

/** The inbound texts of the turns kept in a cookie of the current format (decrypted if need be). */
function turnsOf(phone) {
  const value = phone.cookie.slice("sms_state=".length);
  return openSealed(value, { from: phone.from }).state.turns.map((t) => t.inbound);
}

// ---------------------------------------------------------------------------------------
// Cookies.

for (const config of CONFIGS) {
  test(`v1 cookie (count 3) continues at 4, re-sealed in the current format, then 5 (${config.label})`, async () => {
    await withWorker(config.vars, {}, async ({ phone }) => {
      const r = await say(phone, "hello again", nth(4), { cookie: goldenCookie(GOLDEN_V1_COUNT3) });
      assert.match(r.setCookie, NEW_FORMAT, "answered with a cookie of the current format");
      assert.ok(!r.setCookie.startsWith("sms_state=v1"));
      await say(phone, "and again", nth(5));
      await say(phone, "once more", nth(6));
    });
  });

  test(`e1 cookie (count 5, 5 turns) continues at 6, then 7 (${config.label})`, async () => {
    await withWorker(config.vars, {}, async ({ phone }) => {
      const r = await say(phone, "msg 6", nth(6), { cookie: goldenCookie(GOLDEN_E1_COUNT5) });
      assert.match(r.setCookie, NEW_FORMAT);
      if (config.turns) {
        assert.deepEqual(turnsOf(phone), ["msg 1", "msg 2", "msg 3", "msg 4", "msg 5", "msg 6"], "the old turns carry over");
      } else {
        // HISTORY_TURNS=0 keeps no turns, and its cookie is signed, not encrypted: old turns
        // carried into it would put the encrypted e1's message bodies in readable form in
        // Twilio's cookie store.
        const payload = Buffer.from(phone.cookie.split(".")[2], "base64url").toString("latin1");
        assert.ok(!/msg [1-5]/.test(payload), "the old message bodies are readable in the new cookie");
        assert.deepEqual(turnsOf(phone), [], "HISTORY_TURNS=0 keeps no turns");
      }
      await say(phone, "msg 7", nth(7));
    });
  });

  test(`a retry of the e1 state's own last MessageSid is answered as before and not counted (${config.label})`, async () => {
    await withWorker(config.vars, {}, async ({ phone }) => {
      const golden = goldenCookie(GOLDEN_E1_COUNT5);
      const retry = await say(phone, "msg 5", nth(5), { sid: goldenSid(105), cookie: golden });
      if (retry.setCookie) assert.match(retry.setCookie, NEW_FORMAT);
      // Twilio sends the pair's cookie again; the count was not moved by the retry.
      await say(phone, "msg 6", nth(6), { cookie: golden });
      await say(phone, "msg 7", nth(7));
    });
  });
}

test("a retry of the v1 state's own last MessageSid is not counted", async () => {
  await withWorker({}, {}, async ({ phone }) => {
    const golden = goldenCookie(GOLDEN_V1_COUNT3);
    const retry = await phone.send("msg 3", { sid: goldenSid(3), cookie: golden });
    assert.equal(retry.status, 200, retry.text);
    assert.notEqual(retry.reply, nth(4), "a retry must not be counted as message 4");
    await say(phone, "msg 4", nth(4), { cookie: golden });
  });
});

test("a golden cookie does not open for another sender, another number, another account, or tampered", async () => {
  await withWorker({}, {}, async ({ mf }) => {
    const fetchFn = (url, init) => mf.dispatchFetch(url, init);
    const cookie = goldenCookie(GOLDEN_E1_COUNT5);
    const otherSender = new Phone(fetchFn, WEBHOOK, "+14155550198");
    await say(otherSender, "hi", FIRST, { cookie });
    const otherNumber = new Phone(fetchFn, WEBHOOK, GOLDEN_FROM, { to: "+15005550009" });
    await say(otherNumber, "hi", FIRST, { cookie });
    const otherAccount = new Phone(fetchFn, WEBHOOK, GOLDEN_FROM);
    await say(otherAccount, "hi", FIRST, { cookie, extra: { AccountSid: "AC" + "1".repeat(32) } });
    const [v, kid, payload, mac] = GOLDEN_V1_COUNT3.split(".");
    const i = Math.floor(payload.length / 2);
    const flipped = payload.slice(0, i) + (payload[i] === "A" ? "B" : "A") + payload.slice(i + 1);
    const tampered = new Phone(fetchFn, WEBHOOK, GOLDEN_FROM);
    await say(tampered, "hi", FIRST, { cookie: goldenCookie([v, kid, flipped, mac].join(".")) });
  });
});

// ---------------------------------------------------------------------------------------
// Pointer cookies and KV.

test("p1 pointer with its spilled e1 state in KV continues at 8 from the spill, then 9", async () => {
  await withWorker({}, KV, async ({ mf, phone }) => {
    const kv = await mf.getKVNamespace("CONVERSATIONS");
    await kv.put(GOLDEN_SPILL_KEY, GOLDEN_SPILL_VALUE);
    const r = await say(phone, "msg 8", nth(8), { cookie: goldenCookie(GOLDEN_P1_COUNT7) });
    assert.equal(r.headers.get("x-state-source"), "kv", "the state came from the spill");
    assert.match(r.setCookie, NEW_FORMAT);
    assert.deepEqual(turnsOf(phone), ["msg 1", "msg 2", "msg 3", "msg 4", "msg 5", "msg 8"], "the spilled turns carry over");
    await say(phone, "msg 9", nth(9));
  });
});

test("p1 pointer with KV bound but the spill gone: the pointer's summary keeps the count (8)", async () => {
  await withWorker({}, KV, async ({ phone }) => {
    const golden = goldenCookie(GOLDEN_P1_COUNT7);
    // The summary also knows the last MessageSid: its retry is not counted.
    const retry = await phone.send("msg 7", { sid: goldenSid(107), cookie: golden });
    assert.equal(retry.status, 200, retry.text);
    assert.notEqual(retry.reply, nth(8), "a retry must not be counted as message 8");
    const r = await say(phone, "msg 8", nth(8), { cookie: golden });
    assert.match(r.setCookie, NEW_FORMAT);
    await say(phone, "msg 9", nth(9));
  });
});

test("p1 pointer without a KV binding: the pointer's summary keeps the count (8)", async () => {
  await withWorker({}, {}, async ({ phone }) => {
    const r = await say(phone, "msg 8", nth(8), { cookie: goldenCookie(GOLDEN_P1_COUNT7) });
    assert.match(r.setCookie, NEW_FORMAT);
    await say(phone, "msg 9", nth(9));
  });
});

test("a lost cookie with only the previous release's pair entry in KV continues at 4", async () => {
  await withWorker({}, KV, async ({ mf, phone }) => {
    const kv = await mf.getKVNamespace("CONVERSATIONS");
    await kv.put(GOLDEN_LEGACY_PAIR_KEY, GOLDEN_V1_COUNT3);
    const r = await say(phone, "I lost my cookie", nth(4), { cookie: null });
    assert.equal(r.headers.get("x-state-source"), "kv", "recovered from the legacy pair entry");
    assert.match(r.setCookie, NEW_FORMAT);
    await say(phone, "next", nth(5));
  });
});
