// One send at a time per ZeroMQ socket; see tslab-kernel.cjs for why.
"use strict";

/**
 * zeromq 6 refuses a send while the socket's previous send is in flight ("Socket is busy writing",
 * EBUSY, thrown synchronously). tslab sends without waiting, so a status message that crosses a
 * display update (a progress bar redrawn during training) threw, and killed the kernel. Each socket
 * gets a queue: a send starts when the previous one has finished. A failed send is reported on
 * stderr instead of rejecting a promise nobody awaits.
 */
function serializeSends(zmq) {
  const proto = zmq.Socket.prototype;
  if (proto.__charidSerialized) return;
  const send = proto.send;
  const queues = new WeakMap();
  const queued = function (message) {
    const previous = queues.get(this) || Promise.resolve();
    // The catch is on the chain, not on send's promise: a send that throws synchronously (a closed
    // socket) must not leave a rejected link that silently skips every later send on the socket.
    const next = previous
      .then(() => send.call(this, message))
      .catch((error) => {
        process.stderr.write(`zeromq send failed: ${error && error.message}\n`);
      });
    queues.set(this, next);
    return next;
  };
  Object.defineProperty(proto, "send", { value: queued, writable: false, enumerable: false, configurable: true });
  Object.defineProperty(proto, "__charidSerialized", { value: true });
}

module.exports = { serializeSends };
