// zmq-send-queue.cjs: back-to-back sends on one socket, as tslab makes them, all go out in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";

const zmq = require(require.resolve("zeromq", { paths: [require.resolve("tslab")] }));
const { serializeSends } = require(path.join(__dirname, "..", "lib", "jupyter", "zmq-send-queue.cjs"));

/** Sends `count` messages without waiting, to a peer that binds only afterwards: sends must queue. */
async function burst(address: string, count: number): Promise<{ thrown: string[]; received: string[] }> {
  const push = new zmq.Push({ sendHighWaterMark: 1 });
  const pull = new zmq.Pull();
  push.connect(address);
  const thrown: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      push.send(`message ${i}`); // not awaited, as tslab does
    } catch (error) {
      thrown.push((error as Error).message);
    }
  }
  await pull.bind(address);
  const received: string[] = [];
  const expected = count - thrown.length;
  while (received.length < expected) received.push(String((await pull.receive())[0]));
  push.close();
  pull.close();
  return { thrown, received };
}

test("unpatched, a send while another is in flight throws EBUSY (the crash tslab hit)", async () => {
  const { thrown } = await burst("inproc://charid-plain", 50);
  assert.ok(thrown.some((m) => /busy writing/i.test(m)), `expected EBUSY, got ${thrown.length} errors`);
});

test("with the queue, every send goes out, in order", async () => {
  serializeSends(zmq);
  const { thrown, received } = await burst("inproc://charid-queued", 200);
  assert.deepEqual(thrown, []);
  assert.deepEqual(received, Array.from({ length: 200 }, (_, i) => `message ${i}`));
});
