// Twilio Functions at the edge, without workerd: the dispatcher (src/functions-runtime.mjs)
// answering `function:` URLs in Node, and the build's bundling of a functions/ folder
// (scripts/functions-bundle.mjs) into the registry it reads. tests/functions-local.test.mjs
// runs the same Functions in the built worker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./helpers/worker.mjs";
import { functionsFetch, Twilio, Runtime } from "../src/functions-runtime.mjs";

const FIXTURES = path.join(ROOT, "tests/fixtures/functions");

/** A form POST as the Run Function widget makes it. */
const post = (params) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", "idempotency-key": "FN-1" },
  body: new TextEncoder().encode(new URLSearchParams(params).toString()),
});

function dispatcher(handlers, { env = {}, domain, network } = {}) {
  const files = Object.fromEntries(Object.entries(handlers).map(([k, handler]) => [k, () => ({ handler })]));
  return functionsFetch({
    files,
    vars: () => env,
    domain: () => domain,
    network: network ?? (() => Promise.reject(new Error("the network was called"))),
  });
}

test("a Function's answer: an object as JSON, a string as text, Twilio.Response as it is set", async () => {
  const fetch = dispatcher({
    "functions/json.js": (context, event, callback) => callback(null, { sign: event.sign, n: [1, 2] }),
    "functions/text.js": (context, event, callback) => callback(null, `hi ${event.name}`),
    "functions/response.js": (context, event, callback) => {
      const r = new Twilio.Response();
      r.setStatusCode(201).appendHeader("X-One", "1").setBody({ ok: true });
      callback(null, r);
    },
    "functions/headers.js": (context, event, callback) => {
      const r = new Twilio.Response();
      r.setHeaders({ "Content-Type": "text/csv" });
      r.setBody("a,b");
      callback(null, r);
    },
    "functions/empty.js": (context, event, callback) => callback(),
  });
  const json = await fetch("function:functions/json.js", post({ sign: "leo" }));
  assert.equal(json.status, 200);
  assert.equal(json.headers.get("content-type"), "application/json");
  assert.deepEqual(await json.json(), { sign: "leo", n: [1, 2] });
  const text = await fetch("function:functions/text.js", post({ name: "Ada" }));
  assert.equal(text.status, 200);
  assert.match(text.headers.get("content-type"), /^text\/plain/);
  assert.equal(await text.text(), "hi Ada");
  const made = await fetch("function:functions/response.js", post({}));
  assert.equal(made.status, 201);
  assert.equal(made.headers.get("x-one"), "1");
  assert.equal(made.headers.get("content-type"), "application/json");
  assert.deepEqual(await made.json(), { ok: true });
  const csv = await fetch("function:functions/headers.js", post({}));
  assert.equal(csv.headers.get("content-type"), "text/csv");
  assert.equal(await csv.text(), "a,b");
  const empty = await fetch("function:functions/empty.js", post({}));
  assert.equal(empty.status, 200);
  assert.equal(await empty.text(), "");
});

test("errors are 500s with their message: callback(error), a throw, an async rejection, a bad answer", async () => {
  const fetch = dispatcher({
    "functions/string.js": (context, event, callback) => callback("boom"),
    "functions/error.js": (context, event, callback) => callback(new Error("no luck")),
    "functions/throws.js": () => {
      throw new TypeError("x is undefined");
    },
    "functions/rejects.js": async () => {
      await null;
      throw new Error("async no");
    },
    "functions/status.js": (context, event, callback) => callback(null, new Twilio.Response().setStatusCode(42)),
    // Calling back twice: the first answer counts.
    "functions/twice.js": (context, event, callback) => {
      callback(null, "first");
      callback("second");
    },
  });
  for (const [file, message] of [
    ["string", "boom"],
    ["error", "no luck"],
    ["throws", "x is undefined"],
    ["rejects", "async no"],
  ]) {
    const res = await fetch(`function:functions/${file}.js`, post({}));
    assert.equal(res.status, 500, file);
    assert.equal(await res.text(), message, file);
  }
  const status = await fetch("function:functions/status.js", post({}));
  assert.equal(status.status, 500);
  assert.match(await status.text(), /cannot be sent/);
  const twice = await fetch("function:functions/twice.js", post({}));
  assert.equal([twice.status, await twice.text()].join(" "), "200 first");
});

test("event is the form's parameters as strings, context the Worker's string bindings with DOMAIN_NAME", async () => {
  let seen;
  const fetch = dispatcher(
    { "functions/see.js": (context, event, callback) => callback(null, (seen = { context, event }) && "ok") },
    { env: { GREETING: "hello", AUTH: "secret", CONVERSATIONS: { get() {} }, COUNT: 3 }, domain: "sms.example.com" },
  );
  await fetch("function:functions/see.js", post({ sign: "leo", note: "a&b=c", empty: "" }));
  const { request, ...params } = seen.event;
  assert.deepEqual(params, { sign: "leo", note: "a&b=c", empty: "" });
  assert.equal(request.headers["idempotency-key"], "FN-1");
  assert.equal(seen.context.GREETING, "hello");
  assert.equal(seen.context.AUTH, "secret");
  assert.equal(seen.context.DOMAIN_NAME, "sms.example.com");
  assert.ok(!("CONVERSATIONS" in seen.context) && !("COUNT" in seen.context), "only strings");
  assert.throws(() => seen.context.getTwilioClient(), /getTwilioClient\(\) is not available to a Function at the edge/);
  assert.throws(() => Runtime.getAssets(), /Runtime.getAssets\(\) is not available/);
});

test("an unknown Function is a 404 naming it; other URLs go to the network untouched", async () => {
  const calls = [];
  const fetch = dispatcher(
    { "functions/a.js": (c, e, callback) => callback(null, "a") },
    { network: async (input, init) => (calls.push([input, init?.method]), new Response("net")) },
  );
  const missing = await fetch("function:functions/nope.js", post({}));
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /functions\/nope\.js.*functions\/a\.js/);
  assert.equal(await (await fetch("https://api.example.com/x", { method: "GET" })).text(), "net");
  assert.deepEqual(calls, [["https://api.example.com/x", "GET"]]);
  // A module without a handler is said to be one.
  const bare = functionsFetch({ files: { "functions/b.js": () => ({}) }, vars: () => ({}), network: fetch });
  const res = await bare("function:functions/b.js", post({}));
  assert.equal(res.status, 500);
  assert.match(await res.text(), /functions\/b\.js does not export a handler/);
});

test("a handler that never calls back leaves the answer pending, for the caller's timeout", async () => {
  const fetch = dispatcher({ "functions/silent.js": () => {} });
  const outcome = await Promise.race([
    fetch("function:functions/silent.js", post({})).then(() => "answered"),
    new Promise((r) => setTimeout(() => r("pending"), 200)),
  ]);
  assert.equal(outcome, "pending");
});

test("the build bundles functions/*.js: relative requires included, Node's modules refused by name when called", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sms-functions-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, "functions.mjs");
  const r = spawnSync(process.execPath, [path.join(ROOT, "scripts/functions-bundle.mjs"), FIXTURES, out], {
    encoding: "utf8",
    env: { ...process.env, ESBUILD_BIN: path.join(ROOT, "node_modules/.bin/esbuild") },
  });
  assert.equal(r.status, 0, r.stderr);
  // Every top-level .js file of the folder is a Function; lib/ holds a helper.
  const expected = fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".js")).sort();
  assert.ok(expected.includes("horoscope.js") && !expected.includes("signs.js"));
  assert.match(r.stderr, new RegExp(`functions: ${expected.join(", ").replace(/\./g, "\\.")}\n`));
  assert.match(r.stderr, /warning: functions\/disk\.js requires fs, which a Worker cannot run/);
  const { default: files } = await import(pathToFileURL(out).href);
  assert.deepEqual(Object.keys(files).sort(), expected.map((f) => `functions/${f}`));
  const fetch = functionsFetch({ files, vars: () => ({}), network: globalThis.fetch });
  const horoscope = await fetch("function:functions/horoscope.js", post({ sign: " Leo " }));
  assert.deepEqual(await horoscope.json(), { horoscope: "leo: a good day to text your friends." });
  // fs is required as the file loads: the call fails with the module's name, and the
  // other Functions are unaffected.
  const disk = await fetch("function:functions/disk.js", post({}));
  assert.equal(disk.status, 500);
  assert.equal(await disk.text(), 'require("fs") is not available to a Function at the edge: a Function here can require files of the project by a relative path, and has fetch and Twilio.Response');
  assert.equal((await fetch("function:functions/horoscope.js", post({ sign: "aries" }))).status, 200);

  // Nothing to bundle: nothing written, so the worker's build is unchanged.
  const none = path.join(dir, "none.mjs");
  const empty = spawnSync(process.execPath, [path.join(ROOT, "scripts/functions-bundle.mjs"), path.join(dir, "missing"), none], { encoding: "utf8" });
  assert.equal(empty.status, 0, empty.stderr);
  assert.ok(!fs.existsSync(none));

  // A syntax error stops the build, naming the file and line.
  const broken = path.join(dir, "broken");
  fs.mkdirSync(broken);
  fs.writeFileSync(path.join(broken, "bad.js"), "exports.handler = function (context, event, callback) {\n  callback(null, 'x'\n};\n");
  const bad = spawnSync(process.execPath, [path.join(ROOT, "scripts/functions-bundle.mjs"), broken, path.join(dir, "bad.mjs")], {
    encoding: "utf8",
    env: { ...process.env, ESBUILD_BIN: path.join(ROOT, "node_modules/.bin/esbuild") },
  });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /\[build\] broken\/bad\.js:3: /);
});
