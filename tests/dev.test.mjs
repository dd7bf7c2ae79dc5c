// `npm run dev` as the README tells a user to run it: setup, .dev.vars, `wrangler dev`
// (which rebuilds the worker through wrangler.toml's [build]), then a signed Twilio webhook
// over real HTTP on 127.0.0.1. With the objects bound and no real account, a conversation the
// worker starts and its follow-up go through the local Messages API `npm run dev` runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Phone, ROOT, sleep } from "./helpers/worker.mjs";
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

// The repository's wrangler.toml with the objects bound (its blocks uncommented, as a user
// does), for `npm run dev -- --config`: the build is the one the test above made (no [build]),
// the objects' storage in a directory of the test's, .dev.vars the repository's.
function objectsConfig(dir) {
  const toml = fs
    .readFileSync(path.join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main = .*$/m, `main = ${JSON.stringify(path.join(ROOT, "build/index.js"))}`)
    .replace(/^\[build\]\n(?:#.*\n)*command = .*\n/m, "");
  const file = path.join(dir, "wrangler.toml");
  // Bound once: the blocks are added only while the repository's are still commented out.
  const bound = /^\[\[durable_objects\.bindings\]\]/m.test(toml);
  const blocks =
    '\n[[durable_objects.bindings]]\nname = "CONVERSATION_OBJECTS"\nclass_name = "ConversationObject"\n\n' +
    '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["ConversationObject"]\n';
  fs.writeFileSync(file, bound ? toml : toml + blocks);
  return file;
}

test(
  "npm run dev with the objects and no real account: a started conversation and its follow-up go to the local Messages API, delivered, and the person's reply continues it",
  { timeout: START_TIMEOUT_MS + 120_000 },
  async (t) => {
    const token = devAuthToken(ROOT);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dev-objects-"));
    t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const key = "dev-test-outbound-key-0123456789";
    const dev = await startDev(ROOT, {
      args: [
        "--config", objectsConfig(tmp),
        "--persist-to", path.join(tmp, "state"),
        "--env-file", path.join(ROOT, ".dev.vars"),
        // The survey asks a question on a start, and reminds after 2 s without an answer.
        "--var", "CONVERSATION:survey",
        "--var", "SURVEY_REMINDER_SECONDS:2",
        "--var", `OUTBOUND_API_KEY:${key}`,
      ],
    });
    const standInFile = path.join(ROOT, ".cache/dev-messages.json");
    let stopped = false;
    t.after(async () => {
      if (!stopped) await dev.stop();
    });
    const output = dev.output();
    const said = /\[dev\] no Twilio account in \.dev\.vars: the worker's own messages go to a local Messages API at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
    assert.ok(said, `npm run dev says where the worker's own messages go:\n${output}`);
    const standIn = said[1];
    assert.equal(JSON.parse(fs.readFileSync(standInFile, "utf8")).url, standIn, "the dev phone and the simulator find it in .cache/dev-messages.json");

    const person = "+14155550177";
    const started = await fetch(`${dev.base}/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ to: person, from: "+15005550006" }),
    });
    const answer = await started.text();
    assert.equal(started.status, 201, `${answer}\n${dev.output()}`);
    const { sid } = JSON.parse(answer);
    assert.match(sid, /^SM[0-9a-f]{32}$/);

    /** The stand-in's messages to the person, once `check` holds for them. */
    const messagesWhen = async (check, what) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const res = await fetch(`${standIn}/dev/messages?since=0`);
        const mine = (await res.json()).messages.filter((m) => m.to === person);
        if (check(mine)) return mine;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(mine)}\n${dev.output()}`);
        await sleep(200);
      }
    };
    const delivered = (m) => m.status === "delivered" && m.statuses.every((s) => s.status === "queued" || s.callback === 200);
    const [opening] = await messagesWhen((ms) => ms.length >= 1 && delivered(ms[0]), "the opening message, delivered");
    assert.equal(opening.sid, sid, "the start's answer names the message the stand-in took");
    assert.equal(opening.from, "+15005550006");
    assert.equal(opening.body, "Hi! What's your name?");
    assert.equal(opening.account_sid, "AC" + "0".repeat(32), "sent from the simulator's account");
    // Twilio's order, each callback signed with .dev.vars' token and taken (200) by the worker.
    assert.deepEqual(opening.statuses.map((s) => [s.status, s.callback]), [["queued", null], ["sent", 200], ["delivered", 200]]);

    // The object's alarm: the survey's reminder 2 s later, through the same API.
    const both = await messagesWhen((ms) => ms.length >= 2 && ms.every(delivered), "the follow-up, delivered");
    assert.deepEqual(both.map((m) => m.body), ["Hi! What's your name?", "Just checking in: What's your name?"]);

    // The simulator shows them to the person, with their status, without being told where.
    const jar = path.join(tmp, "jar.json");
    const sms = (...args) => spawnSync(process.execPath, [path.join(ROOT, "scripts/sms.mjs"), "--from", person, "--jar", jar, "--token", token, "--url", `${dev.base}/sms`, ...args], { encoding: "utf8" });
    const inbox = sms("--inbox");
    assert.equal(inbox.status, 0, inbox.stderr);
    assert.equal(inbox.stdout, "Hi! What's your name?\nJust checking in: What's your name?\n");
    assert.match(inbox.stderr, new RegExp(`through the Messages API: ${sid}, delivered`));
    // The person's reply, without a cookie (Twilio keeps none for a message we sent), meets
    // the started survey in its object; what was shown is not shown again.
    const reply = sms("Rey");
    assert.equal(reply.status, 0, `${reply.stderr}\n${dev.output()}`);
    assert.equal(reply.stdout, "Thanks, Rey. What's your 5-digit ZIP code?\n");

    stopped = true;
    assert.ok(await dev.stop(), "no process of the dev server remains");
    assert.ok(!fs.existsSync(standInFile), "a stopped npm run dev leaves no stand-in behind for the phone to find");
  },
);
