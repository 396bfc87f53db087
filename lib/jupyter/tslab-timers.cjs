// A queue in front of tslab's single timer slot; see tslab-kernel.cjs for why.
"use strict";
/**
 * tslab assigns `sys.setTimeout` / `sys.clearTimeout` on an object created from `ts.sys`. Accessors
 * on `ts.sys` catch those assignments and put a queue in front of tslab's slot: any number of
 * timers share the slot, and when tslab fires it (before each compile) they all run, including
 * ones scheduled while they run, so the compile sees every change.
 */
function installTimerQueue(sys) {
  const queues = new WeakMap();
  const queueOf = (owner) => {
    let queue = queues.get(owner);
    if (!queue) queues.set(owner, (queue = newQueue()));
    return queue;
  };
  for (const name of ["setTimeout", "clearTimeout"]) {
    const original = sys[name];
    Object.defineProperty(sys, name, {
      configurable: true,
      get() {
        const queue = queues.get(this);
        return queue && queue.slotSet && queue.slotClear ? queue[name] : original;
      },
      set(fn) {
        queueOf(this)[name === "setTimeout" ? "slotSet" : "slotClear"] = fn;
      },
    });
  }
}

function newQueue() {
  const pending = new Map();
  let slot = null;
  let flushing = false;
  const queue = {
    slotSet: null,
    slotClear: null,
    setTimeout(callback) {
      const handle = {};
      pending.set(handle, callback);
      if (!slot && !flushing) slot = queue.slotSet(flush);
      return handle;
    },
    clearTimeout(handle) {
      pending.delete(handle);
      if (pending.size === 0 && slot && !flushing) {
        queue.slotClear(slot);
        slot = null;
      }
    },
  };
  function flush() {
    flushing = true;
    try {
      while (pending.size > 0) {
        const [handle, callback] = pending.entries().next().value;
        pending.delete(handle);
        callback();
      }
    } finally {
      flushing = false;
      slot = null;
    }
  }
  return queue;
}

module.exports = { installTimerQueue };
