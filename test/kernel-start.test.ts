import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { jupyterEnv, projectRoot } from "../lib/jupyter/kernelspec";
import { DriverEvent, executeWithNbclient } from "../lib/runner/driver";
import { freePort } from "./helpers/ports";

const root = projectRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "charid-kernel-start-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const STARTUP_TIMEOUT = 180;

/** A kernel spec named `name` in a Jupyter data folder of its own; `script` gets the connection file as $0. */
function kernelSpecDir(name: string, script: string): string {
  const dataDir = path.join(tmp, name);
  fs.mkdirSync(path.join(dataDir, "kernels", name), { recursive: true });
  const spec = { argv: ["/bin/sh", "-c", script, "{connection_file}"], display_name: name, language: "typescript" };
  fs.writeFileSync(path.join(dataDir, "kernels", name, "kernel.json"), JSON.stringify(spec));
  return dataDir;
}

async function execute(kernel: string, dataDir: string): Promise<{ code: number; events: DriverEvent[]; seconds: number }> {
  const notebook = path.join(tmp, `${kernel}.ipynb`);
  fs.copyFileSync(path.join(__dirname, "fixtures", "params.ipynb"), notebook);
  const events: DriverEvent[] = [];
  const started = Date.now();
  const exit = await executeWithNbclient({
    input: notebook,
    output: notebook,
    kernel,
    timeoutPerCell: null,
    startupTimeout: STARTUP_TIMEOUT,
    trust: false,
    env: jupyterEnv({ JUPYTER_PATH: dataDir, CHARID_RUN_DIR: tmp }),
    cwd: root,
    onEvent: (event) => events.push(event),
  });
  return { code: exit.code, events, seconds: (Date.now() - started) / 1000 };
}

test("a kernel whose port is taken exits at once naming the address, instead of hanging", async () => {
  const thief = net.createServer();
  await new Promise<void>((resolve) => thief.listen(0, "127.0.0.1", resolve));
  const port = (thief.address() as net.AddressInfo).port;
  const free = await Promise.all([0, 1, 2, 3].map(() => freePort()));
  const connectionFile = path.join(tmp, "taken.json");
  fs.writeFileSync(connectionFile, JSON.stringify({
    transport: "tcp", ip: "127.0.0.1", key: "k", signature_scheme: "hmac-sha256",
    shell_port: port, iopub_port: free[0], control_port: free[1], stdin_port: free[2], hb_port: free[3],
  }));
  const started = Date.now();
  const kernel = spawn(process.execPath, [path.join(root, "lib", "jupyter", "tslab-kernel.cjs"), "kernel", "--config-path", connectionFile], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  kernel.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => kernel.kill(), 60_000);
  const code = await new Promise<number | null>((resolve) => kernel.on("exit", resolve));
  clearTimeout(killer);
  thief.close();
  assert.equal(code, 1, `the kernel should exit with 1, stderr: ${stderr}`);
  assert.match(stderr, new RegExp(`cannot bind 127\\.0\\.0\\.1:${port} \\(Address already in use\\)`));
  assert.ok((Date.now() - started) / 1000 < 50, "it exits once the bind fails, not when killed");
});

test("a kernel that cannot bind its port is replaced by a fresh one on new ports, and the notebook runs", async () => {
  const marker = path.join(tmp, "thief-ran");
  const real = `exec node ${JSON.stringify(path.join(root, "lib", "jupyter", "tslab-kernel.cjs"))} kernel --config-path "$0"`;
  const thief = `touch ${JSON.stringify(marker)}; exec node ${JSON.stringify(path.join(__dirname, "helpers", "port-thief-kernel.cjs"))} "$0"`;
  const dataDir = kernelSpecDir("charid-port-thief", `if [ -e ${JSON.stringify(marker)} ]; then ${real}; else ${thief}; fi`);
  const { code, events, seconds } = await execute("charid-port-thief", dataDir);
  const retries = events.filter((e) => e.event === "kernel_retry");
  assert.equal(code, 0, JSON.stringify(events));
  assert.equal(retries.length, 1);
  assert.match(JSON.stringify(retries[0]), /Kernel died before replying to kernel_info/);
  assert.deepEqual(events.filter((e) => e.event === "cell_done").length, 4, "every code cell ran on the fresh kernel");
  assert.ok(seconds < STARTUP_TIMEOUT / 2, `${seconds}s: the dead kernel is noticed, not waited out`);
});

test("a kernel that never starts fails the run after three tries, outside any cell", async () => {
  const dataDir = kernelSpecDir("charid-never-starts", 'echo "no kernel here" >&2; exit 3');
  const { code, events } = await execute("charid-never-starts", dataDir);
  assert.equal(code, 1);
  assert.equal(events.filter((e) => e.event === "kernel_retry").length, 2);
  const failed = events.find((e) => e.event === "failed");
  assert.ok(failed && failed.event === "failed");
  assert.equal(failed.index, null);
  assert.match(failed.message, /Kernel died before replying to kernel_info/);
  assert.equal(events.some((e) => e.event === "cell_start"), false);
});
