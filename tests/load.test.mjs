// Many conversations at once, nothing lost: the built worker in bare `workerd serve`
// (scripts/load.mjs, small sizes), each To/From pair with its own cookie jar and its
// messages in sequence, the pairs concurrent. No timing assertions: the numbers are printed.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";

import { pairNumber, runConversations, startWorkerd, summarize } from "../scripts/load.mjs";

const PAIRS = 20;
const MESSAGES = 5;

function assertNothingLost(run, requests) {
  assert.equal(run.requests, requests);
  assert.deepEqual(run.failures, [], "every reply carries the pair's exact count");
  assert.deepEqual(run.statuses, { 200: requests }, "no 5xx, no non-200");
}

test(`${PAIRS} conversations × ${MESSAGES} messages at once: every count exact, no 5xx`, async () => {
  const worker = await startWorkerd();
  try {
    const run = await runConversations({ webhookUrl: `${worker.url}/sms`, pairs: PAIRS, messages: MESSAGES });
    console.log(summarize("load", run));
    assertNothingLost(run, PAIRS * MESSAGES);
    // Each pair's jar ends with a cookie; none was confused with another pair's.
    assert.equal(run.jars.size, PAIRS);
    assert.equal(new Set(run.jars.values()).size, PAIRS);
  } finally {
    await worker.stop();
  }
});

test("with KV bound, concurrent pairs that lose their cookies continue their counts from KV", async () => {
  const worker = await startWorkerd({ kv: true });
  try {
    const webhookUrl = `${worker.url}/sms`;
    const run = await runConversations({ webhookUrl, pairs: PAIRS, messages: MESSAGES });
    console.log(summarize("load (KV)", run));
    assertNothingLost(run, PAIRS * MESSAGES);

    // Entries are written after each reply (ctx.waitUntil): wait until all pairs have one.
    const deadline = Date.now() + 5000;
    const entries = () => fs.readdirSync(worker.kvDir).filter((f) => f.startsWith("pair:"));
    while (entries().length < PAIRS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(entries().length, PAIRS, "one KV entry per pair");
    const numbers = Array.from({ length: PAIRS }, (_, i) => pairNumber(i).slice(1));
    assert.ok(
      entries().every((f) => numbers.every((n) => !f.includes(n))),
      "no phone number in KV keys",
    );

    const recovery = await runConversations({
      webhookUrl,
      pairs: PAIRS,
      messages: 1,
      firstMessage: MESSAGES + 1,
      jars: new Map(), // Twilio dropped every cookie
    });
    console.log(summarize("recovery from KV", recovery));
    assertNothingLost(recovery, PAIRS);
  } finally {
    await worker.stop();
  }
});
