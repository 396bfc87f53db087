// Starts tslab's kernel (`node lib/jupyter/tslab-kernel.cjs kernel --config-path FILE`) with two
// fixes for crashes that ended the kernel, and whatever it was training, in long cells:
// - tslab gives TypeScript's watch compiler a single timer slot and throws "Unexpected pending
//   rebuildTimer" when a second timer is asked for. TypeScript keeps two (rebuild the program;
//   re-resolve imports that failed), so a new file appearing where a failed import looked, then an
//   edit to an imported file while a cell ran, threw from a file watcher, and every later cell
//   failed to compile (tslab-timers.cjs).
// - tslab sends on its ZeroMQ sockets without waiting for the previous send, which zeromq 6
//   refuses: a kernel status message crossing a progress-bar update threw EBUSY (zmq-send-queue.cjs).
// It also exits when the process that started it is gone (parent-watch.cjs), and when it cannot
// bind a port, rather than hang until the client gives up (bind-or-exit.cjs).
// Plain JavaScript, so the kernel starts without a TypeScript loader.
"use strict";

const { installTimerQueue } = require("./tslab-timers.cjs");
const { serializeSends } = require("./zmq-send-queue.cjs");
const { exitWithParent } = require("./parent-watch.cjs");
const { exitOnBindFailure } = require("./bind-or-exit.cjs");

const fromTslab = (name) => require(require.resolve(name, { paths: [require.resolve("tslab")] }));
installTimerQueue(fromTslab("@tslab/typescript-for-tslab").sys);
serializeSends(fromTslab("zeromq"));
exitOnBindFailure(require("tslab/dist/jupyter.js").ZmqServer);
exitWithParent();
require("tslab/dist/main.js").main();
