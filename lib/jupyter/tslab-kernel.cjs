// Starts tslab's kernel (`node lib/jupyter/tslab-kernel.cjs kernel --config-path FILE`) with one
// fix: tslab gives TypeScript's watch compiler a single timer slot and throws "Unexpected pending
// rebuildTimer" when a second timer is asked for. TypeScript keeps two (rebuild the program;
// re-resolve imports that failed), so creating a file that a failed import was looking for and then
// editing an imported file while a cell runs threw from a file watcher, which killed the kernel and
// whatever it was training, and every later cell failed to compile. Plain JavaScript, so the kernel
// starts without a TypeScript loader.
"use strict";

const { installTimerQueue } = require("./tslab-timers.cjs");

installTimerQueue(require("@tslab/typescript-for-tslab").sys);
require("tslab/dist/main.js").main();
