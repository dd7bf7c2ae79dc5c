// The project's Twilio Functions (functions/*.js), wired into the worker: scripts/build.sh
// bundles this file only when the project has a functions/ directory, and injects its
// exports (esbuild's --inject) in place of the globals `fetch`, `Twilio` and `Runtime`
// everywhere in the bundle. So the wasm's outside calls (src/platform/fetch.rs calls the
// global `fetch`) reach a Function at `function:functions/<file>.js` with no code of their
// own in the wasm, the Functions see Twilio's globals, and the builds without functions/
// are byte for byte what they were. The work is src/functions-runtime.mjs.
import { env } from "cloudflare:workers";
import FILES from "./functions.mjs";
import { functionsFetch, Twilio, Runtime } from "./functions-runtime.mjs";

// The host the worker was last reached at, for the Functions' `context.DOMAIN_NAME` (a
// Service's domain on Twilio). Unknown in a Durable Object that no request reached here.
let host;

/** The worker's default export, noting the host each request came to. */
export function serving(entry) {
  return {
    ...entry,
    fetch(request, env, ctx) {
      try {
        host = new URL(request.url).host;
      } catch {}
      return entry.fetch(request, env, ctx);
    },
  };
}

const fetch = functionsFetch({
  files: FILES,
  // `env` from cloudflare:workers: the same bindings in the worker and in its Durable Object.
  vars: () => env,
  domain: () => host,
  network: (input, init) => globalThis.fetch(input, init),
});

export { fetch, Twilio, Runtime };
