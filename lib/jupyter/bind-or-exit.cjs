// A kernel that cannot bind its ports exits at once; see tslab-kernel.cjs for why.
"use strict";

/**
 * jupyter_client picks free ports for a kernel and releases them; tslab binds them seconds later,
 * after loading TypeScript. A port taken in between (any outgoing connection can get it) made
 * tslab's bind reject inside a promise nobody awaits: tslab logged it and kept running with no
 * shell socket, so the client waited for its whole startup timeout and failed the run. Exiting
 * tells the client within a second that the kernel died, and the notebook driver starts a fresh
 * one on new ports (lib/runner/nbexec.py).
 */
function exitOnBindFailure(ZmqServer, exit = (code) => process.exit(code)) {
  const proto = ZmqServer.prototype;
  if (proto.__charidExitOnBindFailure) return;
  const bindSocket = proto.bindSocket;
  proto.bindSocket = async function (sock, port) {
    try {
      await bindSocket.call(this, sock, port);
    } catch (error) {
      const address = this.connInfo ? `${this.connInfo.ip}:${port}` : `port ${port}`;
      process.stderr.write(`tslab kernel: cannot bind ${address} (${error && error.message}); exiting\n`);
      exit(1);
    }
  };
  Object.defineProperty(proto, "__charidExitOnBindFailure", { value: true });
}

module.exports = { exitOnBindFailure };
