// Loaded with `node --import` by scripts/project.mjs: a bare import (`twilio`) that the
// framework's own folder cannot resolve is resolved from the user's project instead, whose
// package.json lists it. A framework checked out by cargo (git or crates.io) has no
// node_modules of its own.
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(`
import path from "node:path";
import { pathToFileURL } from "node:url";
const project = pathToFileURL(path.join(process.env.SMS_WORKER_PROJECT ?? process.cwd(), "package.json")).href;
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (e?.code !== "ERR_MODULE_NOT_FOUND" || /^[./]|^[a-z]+:/.test(specifier)) throw e;
    return next(specifier, { ...context, parentURL: project });
  }
}
`),
);
