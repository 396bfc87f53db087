import { execFileSync, spawn } from "node:child_process";
import { findJupyter, installKernelSpec, jupyterEnv, KERNEL_DISPLAY_NAME, projectRoot } from "../lib/jupyter/kernelspec";

const USAGE = `Open the notebooks interactively: JupyterLab when installed, else the classic Notebook,
serving the project root with the "${KERNEL_DISPLAY_NAME}" kernel.

Usage: npx tsx scripts/jupyter.ts [--classic] [--register] [-- JUPYTER_ARGS...]
  --classic    Use the classic Notebook even when JupyterLab is installed.
  --register   Also register the kernel for your user (jupyter kernelspec install --user), so
               Jupyter servers started elsewhere list it too.
  JUPYTER_ARGS are passed on, e.g. -- --port 8890 --no-browser`;

function hasJupyterLab(jupyter: string): boolean {
  try {
    execFileSync(jupyter, ["lab", "--version"], { stdio: "ignore", env: jupyterEnv() });
    return true;
  } catch {
    return false;
  }
}

function main(): void {
  const argv = process.argv.slice(2);
  const dashes = argv.indexOf("--");
  const own = dashes < 0 ? argv : argv.slice(0, dashes);
  const passOn = dashes < 0 ? [] : argv.slice(dashes + 1);
  if (own.includes("-h") || own.includes("--help")) {
    console.log(USAGE);
    return;
  }
  const unknown = own.filter((a) => a !== "--classic" && a !== "--register");
  if (unknown.length) {
    console.error(`Unknown option ${unknown[0]}\n\n${USAGE}`);
    process.exit(2);
  }

  const root = projectRoot();
  installKernelSpec({ user: own.includes("--register") });
  const jupyter = findJupyter();
  const app = !own.includes("--classic") && hasJupyterLab(jupyter) ? "lab" : "notebook";
  const args = [app, `--notebook-dir=${root}`, ...(process.getuid?.() === 0 ? ["--allow-root"] : []), ...passOn];
  console.error(`Starting ${app === "lab" ? "JupyterLab" : "Jupyter Notebook"} in ${root} (kernel "${KERNEL_DISPLAY_NAME}")`);

  const server = spawn(jupyter, args, { cwd: root, env: jupyterEnv(), stdio: ["inherit", "inherit", "pipe"] });
  let announced = false;
  server.stderr.setEncoding("utf8");
  server.stderr.on("data", (chunk: string) => {
    process.stderr.write(chunk);
    const url = /https?:\/\/(?:127\.0\.0\.1|localhost)[^\s]*/.exec(chunk)?.[0];
    if (url && !announced) {
      announced = true;
      console.log(`\nOpen ${url}\n`);
    }
  });
  server.on("error", (err) => {
    console.error(err.message);
    process.exit(1);
  });
  server.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
  // SIGTERM makes the server shut its kernels down; on a terminal it also got Ctrl-C itself.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => server.kill("SIGTERM"));
  }
}

main();
