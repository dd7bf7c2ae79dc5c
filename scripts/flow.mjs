// `npm run flow -- check flows/x.json [more.json …]`: checks Studio flows offline, as the
// worker checks them when its isolate starts (the same Rust code, through the dev phone's
// inspector built from the worker's crate), and lists every widget it cannot run and why.
// Exits 1 when a flow has a problem.
import path from "node:path";
import { buildInspector, Inspector } from "./inspector.mjs";

const [command, ...files] = process.argv.slice(2);
if (command !== "check" || files.length === 0) {
  console.error("usage: npm run flow -- check flows/<name>.json [more.json …]");
  process.exit(2);
}
const inspector = new Inspector(await buildInspector((s) => process.stderr.write(s.replace("[phone]", "[flow]"))));
let failed = false;
for (const file of files) {
  const answer = await inspector.inspect({ secret: "", account_sid: "", to: "", from: "", cookie: "", now: 0, check_flow: path.resolve(file) });
  if (answer.ok) {
    const flows = answer.flows.length > 1 ? ` (with ${answer.flows.filter((f) => f !== answer.flow).join(", ")})` : "";
    console.log(`ok    ${file}: ${answer.widgets} widgets${flows}`);
  } else {
    failed = true;
    console.log(`FAIL  ${file}`);
    for (const problem of answer.problems ?? [answer.error]) console.log(`      ${problem}`);
  }
}
inspector.close();
process.exit(failed ? 1 : 0);
