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

test("with the queue, a send that throws synchronously does not hold up the sends after it", async () => {
  serializeSends(zmq);
  const push = new zmq.Push();
  const pull = new zmq.Pull();
  await pull.bind("inproc://charid-after-a-throw");
  push.connect("inproc://charid-after-a-throw");
  const errors: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => (errors.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    void push.send(undefined); // zeromq throws "Message must be present", synchronously; not awaited, as tslab does
    await push.send("after"); // without the fix, the queue's rejected link skips this send and rejects it
  } finally {
    process.stderr.write = write;
  }
  assert.equal(errors.length, 1, `one failed send reported: ${errors.join("")}`);
  assert.equal(String((await pull.receive())[0]), "after");
  push.close();
  pull.close();
});
