// Twilio Functions at the edge: a `fetch` that answers the URLs `function:functions/<file>.js`
// by calling that bundled Function's `exports.handler(context, event, callback)` in the
// worker, and hands every other URL to the network. Studio's Run Function widget calls its
// Function through these URLs (STUDIO_FUNCTIONS maps a function_sid to the file), the same
// outside call every other widget makes, so the wasm needs no code of its own for it.
//
// Plain JavaScript with no import, so `node --test` runs it as it is (tests/functions-runtime
// .test.mjs); src/entry-functions.mjs wires it to the bundled files and the Worker's env. The
// build includes both only when the project has a functions/ directory (scripts/build.sh).

/** The scheme of a local Function's URL: `function:functions/get-sign.js`. */
export const SCHEME = "function:";

/** What Twilio's runtime has and the edge does not: each use fails with this sentence. */
export function unsupported(what, instead) {
  return new Error(`${what} is not available to a Function at the edge${instead ? `: ${instead}` : ""}`);
}

/**
 * `Twilio.Response`, as Twilio Functions' docs describe it: a status (200 unless set),
 * headers and a body (a string, bytes, or an object sent as JSON). Its setters chain.
 */
export class TwilioResponse {
  constructor(options = {}) {
    this._statusCode = options.statusCode ?? 200;
    this._headers = { ...(options.headers ?? {}) };
    this._body = options.body;
  }
  setStatusCode(code) {
    this._statusCode = code;
    return this;
  }
  setBody(body) {
    this._body = body;
    return this;
  }
  appendHeader(key, value) {
    this._headers[key] = value;
    return this;
  }
  setHeaders(headers) {
    this._headers = { ...(headers ?? {}) };
    return this;
  }
  setCookie(key, value, attributes = []) {
    const cookie = [`${key}=${value}`, ...attributes].join(";");
    const previous = this._headers["Set-Cookie"];
    this._headers["Set-Cookie"] = previous === undefined ? [cookie] : [].concat(previous, cookie);
    return this;
  }
  removeCookie(key) {
    return this.setCookie(key, "", ["Max-Age=0"]);
  }
}

/** The `Twilio` global a Function sees: `Twilio.Response`, and nothing that needs Twilio's servers. */
export const Twilio = Object.freeze({ Response: TwilioResponse });

/** The `Runtime` global: Twilio's Assets, Functions and Sync live on Twilio's servers. */
export const Runtime = Object.freeze({
  getAssets() {
    throw unsupported("Runtime.getAssets()", "Assets live on Twilio's servers");
  },
  getFunctions() {
    throw unsupported("Runtime.getFunctions()", "require a file under functions/ by its relative path");
  },
  getSync() {
    throw unsupported("Runtime.getSync()");
  },
});

/**
 * The fetch-like function that runs local Functions: `files` maps `functions/<file>.js` to a
 * loader returning the file's exports; `vars()` gives the Worker's env (its strings are the
 * Function's `context`, as a Service's environment variables are); `domain()` the worker's
 * host, if one is known; `network` is the fetch every other URL goes to.
 */
export function functionsFetch({ files, vars, domain = () => undefined, network }) {
  return function fetch(input, init) {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input?.url;
    if (typeof url !== "string" || !url.startsWith(SCHEME)) return network(input, init);
    return run(files, url.slice(SCHEME.length), input, init, vars, domain);
  };
}

async function run(files, path, input, init, vars, domain) {
  const load = Object.hasOwn(files, path) ? files[path] : undefined;
  if (load === undefined) {
    const known = Object.keys(files).join(", ") || "none";
    return text(404, `no Function ${path} in this worker (the build bundled: ${known})`);
  }
  const request = new Request("http://function.invalid/", {
    method: init?.method ?? input?.method ?? "POST",
    headers: init?.headers ?? input?.headers,
    body: init?.body ?? (typeof input === "object" && !(input instanceof URL) ? input.body : undefined),
  });
  let event, handler;
  try {
    event = await readEvent(request);
    handler = load()?.handler;
  } catch (e) {
    return text(500, message(e));
  }
  if (typeof handler !== "function") return text(500, `${path} does not export a handler function (exports.handler)`);
  return call(handler, context(vars(), domain()), event);
}

/** The Function's `event`: the form's parameters (a JSON object's, for a JSON body), as strings. */
async function readEvent(request) {
  const body = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
  const type = request.headers.get("content-type") ?? "";
  const event = type.includes("application/json") && body.trim() !== "" ? JSON.parse(body) : Object.fromEntries(new URLSearchParams(body));
  if (event === null || typeof event !== "object" || Array.isArray(event)) throw new Error("the Function's JSON body is not an object");
  // What Twilio's runtime adds to `event`: the request's headers (and cookies, which a
  // widget's call never carries). A parameter of that name wins.
  if (!Object.hasOwn(event, "request")) event.request = { headers: Object.fromEntries(request.headers), cookies: {} };
  return event;
}

/** The Function's `context`: the Worker's string bindings (vars and secrets) and DOMAIN_NAME. */
function context(env, domain) {
  const context = {};
  for (const key in env ?? {}) if (typeof env[key] === "string") context[key] = env[key];
  if (context.DOMAIN_NAME === undefined && domain) context.DOMAIN_NAME = domain;
  context.getTwilioClient = () => {
    throw unsupported("context.getTwilioClient()", "call Twilio's REST API with fetch");
  };
  return context;
}

/**
 * Runs the handler to its first `callback`: an error is a 500 with its message (Studio takes
 * `fail`); a handler that throws, or whose Promise rejects before calling back, the same. One
 * that never calls back is left to the caller's timeout (Studio's 10 s), as on Twilio.
 */
function call(handler, context, event) {
  return new Promise((resolve) => {
    let done = false;
    const callback = (error, value) => {
      if (done) return;
      done = true;
      resolve(error !== undefined && error !== null && error !== false ? text(500, message(error)) : answer(value));
    };
    const fail = (e) => callback(e ?? new Error("the handler failed"));
    try {
      const returned = handler(context, event, callback);
      if (returned && typeof returned.then === "function") returned.then(undefined, fail);
    } catch (e) {
      fail(e);
    }
  });
}

/** The HTTP answer for the callback's value: Twilio's rules for strings, objects and `Twilio.Response`. */
function answer(value) {
  try {
    if (value instanceof TwilioResponse) {
      const headers = new Headers();
      for (const [key, v] of Object.entries(value._headers)) {
        for (const one of [].concat(v)) headers.append(key, String(one));
      }
      let body = value._body;
      if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array) && !(body instanceof ArrayBuffer)) {
        body = JSON.stringify(body);
        if (!headers.has("content-type")) headers.set("content-type", "application/json");
      }
      // 204, 205 and 304 carry no body: the Response constructor refuses one.
      if ([204, 205, 304].includes(value._statusCode)) body = null;
      return new Response(body ?? null, { status: value._statusCode, headers });
    }
    if (value === undefined || value === null) return new Response(null, { status: 200 });
    if (typeof value === "string") return text(200, value);
    return new Response(JSON.stringify(value), { status: 200, headers: { "content-type": "application/json" } });
  } catch (e) {
    // An impossible status (`setStatusCode(42)`), a header Headers refuses, a cycle in JSON.
    return text(500, `the Function's answer cannot be sent: ${message(e)}`);
  }
}

function message(error) {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

function text(status, body) {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
