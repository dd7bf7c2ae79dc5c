// Where things are: this repository (the framework), and the project of the worker the scripts
// run for (this repository, or a user's project when its sms-worker.mjs runs them).
import path from "node:path";
import { fileURLToPath } from "node:url";

/** This repository (the framework). */
export const FRAMEWORK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The worker's project: its wrangler.toml, .dev.vars and .cache/. This repository, or a user's
 * project when its sms-worker.mjs runs these scripts (SMS_WORKER_PROJECT). */
export const ROOT = process.env.SMS_WORKER_PROJECT ? path.resolve(process.env.SMS_WORKER_PROJECT) : FRAMEWORK;
/** The worker's crate (the one with `worker!`): the project itself, or this repository's worker/. */
export const WORKER_CRATE = ROOT === FRAMEWORK ? path.join(FRAMEWORK, "worker") : ROOT;
