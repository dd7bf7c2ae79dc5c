// Bundles a project's Twilio Functions (functions/*.js, CommonJS `exports.handler` as
// Twilio's are) into one ES module whose default export maps `functions/<file>.js` to a
// loader of that file's exports (src/entry-functions.mjs reads it). scripts/build.sh runs it:
//   node scripts/functions-bundle.mjs FUNCTIONS_DIR OUT_FILE
// Writes nothing when FUNCTIONS_DIR has no .js file, so such a build bundles nothing new.
//
// A file is loaded when its Function is first called, not when the worker starts: one that
// fails as it loads fails its own calls (a 500 Studio takes as `fail`), not the worker.
// `require` of a relative path bundles that file; any other `require` (Node's modules, npm
// packages: fs, axios, twilio, …) cannot run in a Worker, and becomes a module that throws
// an error naming it, so the Function fails with that message; the build says which.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [dir, out] = process.argv.slice(2);
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".js")).sort() : [];
if (files.length === 0) process.exit(0);

// The esbuild package beside the esbuild binary setup.sh installed (node_modules/.bin/esbuild).
const esbuild = createRequire(fs.realpathSync(process.env.ESBUILD_BIN))("esbuild");

const refused = new Map(); // "functions/x.js" → the modules it requires that cannot run
const UNSUPPORTED = "unsupported-require";
const refuse = {
  name: "refuse-node-modules",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind === "entry-point" || path.isAbsolute(args.path)) return undefined;
      const from = path.relative(path.dirname(dir), args.importer);
      refused.set(from, [...(refused.get(from) ?? []), args.path]);
      return { path: args.path, namespace: UNSUPPORTED };
    });
    build.onLoad({ filter: /.*/, namespace: UNSUPPORTED }, (args) => ({
      contents: `throw new Error(${JSON.stringify(
        `require(${JSON.stringify(args.path)}) is not available to a Function at the edge: ` +
          "a Function here can require files of the project by a relative path, and has fetch and Twilio.Response",
      )});`,
      loader: "js",
    }));
  },
};

const entry = `export default {\n${files
  .map((f) => `  ${JSON.stringify(`functions/${f}`)}: () => require(${JSON.stringify(path.resolve(dir, f))}),`)
  .join("\n")}\n};\n`;
try {
  await esbuild.build({
    stdin: { contents: entry, resolveDir: path.resolve(dir), sourcefile: "functions.mjs", loader: "js" },
    bundle: true,
    format: "esm",
    platform: "neutral",
    outfile: out,
    logLevel: "silent",
    plugins: [refuse],
  });
} catch (e) {
  for (const m of e.errors ?? []) {
    const where = m.location ? `${path.relative(path.dirname(dir), m.location.file)}:${m.location.line}: ` : "";
    console.error(`[build] ${where}${m.text}`);
  }
  if (!e.errors) console.error(`[build] bundling functions/ failed: ${e.message}`);
  process.exit(1);
}
console.error(`[build] functions: ${files.join(", ")}`);
for (const [file, modules] of refused) {
  console.error(`[build] warning: ${file} requires ${[...new Set(modules)].join(", ")}, which a Worker cannot run: calling it fails`);
}
