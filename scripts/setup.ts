// npm run setup: system packages (apt-get on Debian when missing) and the project's Jupyter kernel.
import { installKernelSpec } from "../lib/jupyter/kernelspec";
import { ensureSystem, REQUIREMENTS, TEST_REQUIREMENTS } from "../lib/setup/system";

function main(): void {
  const forTests = process.argv.includes("--tests");
  ensureSystem(forTests ? [...REQUIREMENTS, ...TEST_REQUIREMENTS] : REQUIREMENTS);
  const spec = installKernelSpec({ user: true });
  console.log(`kernel "TypeScript (charid)" registered: ${spec}`);
}

try {
  main();
} catch (error) {
  console.error(`setup failed: ${(error as Error).message}`);
  process.exit(1);
}
