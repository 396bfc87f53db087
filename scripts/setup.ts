// npm run setup [-- --tests] [--check]: system packages (apt-get on Debian when missing) and the
// project's Jupyter kernel. --check installs nothing: it fails, with the list, when a command or
// module the project uses is missing or (where dpkg exists) comes from a Debian package the list
// does not name — the CI guard against a step that only works because of a package installed by hand.
import * as fs from "node:fs";
import { installKernelSpec } from "../lib/jupyter/kernelspec";
import { checkSystem, ensureSystem, notFromListedPackages, REQUIREMENTS, TEST_REQUIREMENTS } from "../lib/setup/system";

function main(): void {
  const requirements = process.argv.includes("--tests") ? [...REQUIREMENTS, ...TEST_REQUIREMENTS] : REQUIREMENTS;
  if (process.argv.includes("--check")) {
    const missing = checkSystem(requirements).map(({ requirement, problems }) => `${requirement.what}: ${problems.join("; ")}`);
    const foreign = fs.existsSync("/usr/bin/dpkg") ? notFromListedPackages(requirements) : [];
    const all = [...missing, ...foreign];
    if (all.length > 0) throw new Error(`${all.length} problem(s):\n${all.map((p) => `  - ${p}`).join("\n")}`);
    console.log(`setup check: all ${requirements.length} requirements met${foreign.length === 0 && fs.existsSync("/usr/bin/dpkg") ? ", each from the listed Debian packages" : ""}`);
    return;
  }
  ensureSystem(requirements);
  const spec = installKernelSpec({ user: true });
  console.log(`kernel "TypeScript (charid)" registered: ${spec}`);
}

try {
  main();
} catch (error) {
  console.error(`setup failed: ${(error as Error).message}`);
  process.exit(1);
}
