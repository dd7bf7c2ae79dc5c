// `npm run dev` as the README tells a user to run it: setup, .dev.vars, `wrangler dev`
// (which rebuilds the worker through wrangler.toml's [build]), then a signed Twilio webhook
// over real HTTP on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Phone, ROOT } from "./helpers/worker.mjs";
import { START_TIMEOUT_MS, devAuthToken, startDev } from "./helpers/dev.mjs";

test("npm run dev serves the worker on 127.0.0.1 and answers a signed webhook", { timeout: START_TIMEOUT_MS + 60_000 }, async (t) => {
  const token = devAuthToken(ROOT);
  const dev = await startDev(ROOT);
  t.after(async () => assert.ok(await dev.stop(), "no npm/wrangler/workerd process of the dev server remains"));
  const { base, info } = dev;
  const output = dev.output();
  assert.ok(info.includes(`${base}/sms`), `the info page names the webhook URL:\n${info}`);
  assert.ok(fs.existsSync(path.join(ROOT, ".dev.vars")), "npm run dev leaves a .dev.vars");

  const phone = new Phone(fetch, `${base}/sms`, "+14155550187", { token });
  const first = await phone.send("Hello from the dev test");
  assert.equal(first.status, 200, `${first.text}\n${output}`);
  assert.match(first.headers.get("content-type"), /^text\/xml/);
  assert.ok(first.text.startsWith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>'), first.text);
  assert.equal(first.reply, "Hello, thanks for the new message.");
  assert.match(first.setCookie ?? "", /^sms_state=[^;]+;/);

  const second = await phone.send("And again");
  assert.equal(second.status, 200, second.text);
  assert.equal(second.reply, "Hello, thanks for message number 2");

  // A webhook signed with another token is refused by the dev server too.
  const forged = await new Phone(fetch, `${base}/sms`, "+14155550187", { token: "wrong" }).send("x");
  assert.equal(forged.status, 403);
});
