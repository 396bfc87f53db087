// Ends the kernel when the process that started it (the notebook driver or Jupyter server, named
// by jupyter_client in JPY_PARENT_PID) is gone: tslab, unlike ipykernel, does not watch for that, so
// a killed `npm run nb` or queue worker left its kernel running the notebook on its own.
"use strict";

function exitWithParent(env = process.env, intervalMs = 1000) {
  const parent = Number(env.JPY_PARENT_PID);
  if (!parent) return;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, intervalMs).unref();
}

module.exports = { exitWithParent };
