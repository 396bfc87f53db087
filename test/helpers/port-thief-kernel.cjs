// Kernel launcher for test/kernel-start.test.ts: takes the kernel's shell port, as any other process
// may between jupyter_client choosing it and the kernel binding it, then starts the real kernel.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");

const connectionFile = process.argv[2];
const conn = JSON.parse(fs.readFileSync(connectionFile, "utf8"));
const kernel = path.join(__dirname, "..", "..", "lib", "jupyter", "tslab-kernel.cjs");
const thief = net.createServer().listen(conn.shell_port, conn.ip, () => {
  const child = spawn(process.execPath, [kernel, "kernel", "--config-path", connectionFile], {
    stdio: "inherit",
    // The kernel watches its parent (lib/jupyter/parent-watch.cjs); here that is this launcher.
    env: { ...process.env, JPY_PARENT_PID: String(process.pid) },
  });
  child.on("exit", (code) => {
    thief.close();
    process.exit(code ?? 1);
  });
});
