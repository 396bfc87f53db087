// Queued sweeps (npm run nb -- --queue, npm run worker) against a real redis-server started here, with
// real worker processes running a small fixture notebook through the runner: results coming back,
// a Redis restart, a resubmission, a worker killed mid-job, failing notebooks, refusals, passwords, TLS.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { Queue } from "bullmq";
import { collectResults } from "../lib/experiments";
import { checkConnection, enqueueJobs, jobId, parseJob, QUEUE_NAME, readCheckout, redactUrl, redisOptions, waitForJobs, type NotebookJob } from "../lib/queue";
import { SweepDisplay } from "../lib/queue/display";
import { packRunFolder, unpackRunFolder } from "../lib/queue/transfer";
import { parseRunArgs } from "../lib/runner/cli-args";
import type { RunResult } from "../lib/runner";
import { RedisServer } from "./helpers/redis-server";

const root = path.resolve(__dirname, "..");
const fixture = "test/fixtures/queue-steps.ipynb";
const PASSWORD = "pa ss/w:rd@1";
const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-queue-test-"));
/** The submitter's runs root; worker w1 keeps its run folders there too (same machine), the others elsewhere. */
const out = path.join(work, "runs");
let redis: RedisServer;
const workers = new Map<string, Proc>();

class Proc {
  output = "";
  stdout = "";
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.on("data", (chunk: Buffer) => {
      this.output += chunk.toString();
      this.stdout += chunk.toString();
    });
    child.stderr!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (Date.now() > until) assert.fail(`no ${pattern} in ${timeoutMs / 1000} s; output:\n${this.output}`);
      await sleep(100);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tsx(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  return new Proc(spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] }));
}

async function startWorker(name: string, runs = path.join(work, `runs-${name}`)): Promise<void> {
  const proc = tsx("scripts/worker.ts", ["--queue", redis.url, "--allow-dirty", "--lock-seconds", "4", "--name", name, "--runs", runs]);
  workers.set(name, proc);
  await proc.waitFor(new RegExp(`worker ${name} at commit [0-9a-f]{10}`), 60_000);
}

function submit(args: string[], url = redis.url): Proc {
  return tsx("scripts/run-notebook.ts", [fixture, ...args, "--queue", url, "--allow-dirty", "--out", out]);
}

/** The CLI's closing table: `ok  10.3s  seed=1  <run folder>  nb-<id> on w1`. */
function table(stdout: string): { status: string; folder: string; id: string; worker: string }[] {
  return [...stdout.matchAll(/^(ok|FAILED)\s+\S+\s+\S+\s+(\S+)\s+(nb-[0-9a-f]{24}) on (\S+)$/gm)].map(([, status, folder, id, worker]) => ({
    status,
    folder: path.resolve(root, folder),
    id,
    worker,
  }));
}

function runJson(folder: string): RunResult {
  return JSON.parse(fs.readFileSync(path.join(folder, "run.json"), "utf8")) as RunResult;
}

function stdoutOf(folder: string): string {
  const nb = JSON.parse(fs.readFileSync(path.join(folder, "notebook.ipynb"), "utf8"));
  return nb.cells
    .flatMap((c: { outputs?: { name?: string; text?: string | string[] }[] }) => c.outputs ?? [])
    .filter((o: { name?: string }) => o.name === "stdout")
    .map((o: { text?: string | string[] }) => (Array.isArray(o.text) ? o.text.join("") : o.text ?? ""))
    .join("");
}

async function jobCounters(id: string): Promise<{ attemptsStarted: number; attemptsMade: number }> {
  const queue = new Queue(QUEUE_NAME, { connection: redisOptions(redis.url) });
  try {
    const job = await queue.getJob(id);
    assert.ok(job, `job ${id} is in the queue`);
    return { attemptsStarted: job.attemptsStarted, attemptsMade: job.attemptsMade };
  } finally {
    await queue.close();
  }
}

before(async () => {
  redis = await RedisServer.start({ password: PASSWORD });
  await Promise.all([startWorker("w1", out), startWorker("w2")]);
});

after(async () => {
  await Promise.all(
    [...workers.values()].map(async (proc) => {
      proc.child.kill("SIGTERM");
      const timer = setTimeout(() => proc.child.kill("SIGKILL"), 15_000);
      await proc.exited;
      clearTimeout(timer);
    }),
  );
  await redis?.remove();
  fs.rmSync(work, { recursive: true, force: true });
});

test("job ids hash what determines a run; job data is checked field by field; queue flags need --queue", () => {
  const job: NotebookJob = { notebook: fixture, params: { a: 1, b: [1, 2] }, label: "1-a=1", commit: "a".repeat(40), dirty: false, fetchMaxBytes: 10, submittedFrom: "here" };
  assert.match(jobId(job), /^nb-[0-9a-f]{24}$/);
  assert.equal(jobId({ ...job, params: { b: [1, 2], a: 1 }, submittedFrom: "elsewhere", fetchMaxBytes: 99 }), jobId(job));
  assert.notEqual(jobId({ ...job, commit: "b".repeat(40) }), jobId(job));
  assert.notEqual(jobId({ ...job, params: { a: 2, b: [1, 2] } }), jobId(job));
  assert.deepEqual(parseJob(JSON.parse(JSON.stringify(job))), job);
  assert.throws(() => parseJob({ ...job, commit: "HEAD" }), /commit must be 40 hex digits/);
  assert.throws(() => parseJob({ ...job, params: "process.exit()" }), /params must be an object of JSON values/);
  assert.throws(() => parseRunArgs([fixture, "--allow-dirty"]), /--allow-dirty goes with --queue URL/);
  const args = parseRunArgs([fixture, "--grid", "seed=1,2", "--queue", "redis://h:1", "--fetch-max-mb", "0.5", "--attempts", "2"]);
  assert.ok(args !== "help" && args.queue);
  assert.deepEqual(args.queue, { url: "redis://h:1", allowDirty: false, retryFailed: false, fetchMaxBytes: 2 ** 19, attempts: 2 });
});

test("Redis URLs: password, user, database and TLS; the password never shown", () => {
  const options = redisOptions("rediss://ann:p%40ss%2Fw@redis.example:6380/2");
  assert.deepEqual(
    { host: options.host, port: options.port, username: options.username, password: options.password, db: options.db, tls: options.tls },
    { host: "redis.example", port: 6380, username: "ann", password: "p@ss/w", db: 2, tls: { servername: "redis.example" } },
  );
  assert.equal(redisOptions("redis://127.0.0.1").port, 6379);
  assert.equal(redisOptions("redis://127.0.0.1").tls, undefined);
  assert.equal(redactUrl("redis://:hunter2@h:1"), "redis://:***@h:1");
  assert.throws(() => redisOptions("http://h:1"), /redis:\/\/HOST:PORT or rediss:\/\/HOST:PORT/);
});

test("run folders travel gzipped; big files stay behind, listed; paths cannot leave the destination", () => {
  const from = path.join(work, "pack-from");
  fs.mkdirSync(path.join(from, "sub"), { recursive: true });
  fs.writeFileSync(path.join(from, "run.json"), "{}");
  fs.writeFileSync(path.join(from, "sub", "small.txt"), "x".repeat(100));
  fs.writeFileSync(path.join(from, "big.bin"), Buffer.alloc(5000));
  const packed = packRunFolder(from, 1000, "w9");
  assert.deepEqual(packed.files.map((f) => f.path), ["run.json", "sub/small.txt"]);
  const to = path.join(work, "pack-to");
  unpackRunFolder(packed, to);
  assert.equal(fs.readFileSync(path.join(to, "sub", "small.txt"), "utf8"), "x".repeat(100));
  assert.ok(!fs.existsSync(path.join(to, "big.bin")));
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(to, "remote-files.json"), "utf8")).files, [{ path: "big.bin", size: 5000 }]);
  assert.throws(() => unpackRunFolder({ ...packed, files: [{ ...packed.files[0], path: "../escaped" }] }, to), /refusing to write \.\.\/escaped outside/);
  assert.ok(!fs.existsSync(path.join(work, "escaped")));
});

test("on a terminal the job lines and the overall line are redrawn in place, cut to its width", () => {
  const writes: string[] = [];
  const tty = Object.assign(new Writable({ write: (chunk, _encoding, done) => (writes.push(String(chunk)), done()) }), { isTTY: true, columns: 70 });
  const display = new SweepDisplay("sweep x", [{ id: "nb-aaaaaaaa1111", label: "1-seed=1" }, { id: "nb-bbbbbbbb2222", label: "2-seed=2".repeat(10) }], tty);
  display.update("nb-aaaaaaaa1111", { state: "active", worker: "w1", cell: "cell 2/5" });
  display.render();
  display.update("nb-aaaaaaaa1111", { state: "completed", worker: "w1" });
  display.update("nb-bbbbbbbb2222", { state: "failed", worker: "w2", attempt: 2, error: "boom" });
  display.render();
  assert.equal(writes.length, 2);
  assert.ok(!writes[0].includes("\x1b[3F") && writes[1].startsWith("\x1b[3F"), "the second drawing goes back up three lines");
  const lines = writes[1].split("\n").filter(Boolean).map((line) => line.replace(/\x1b\[\d*[A-Za-z]/g, ""));
  assert.deepEqual(lines.map((line) => line.length <= 69), [true, true, true]);
  assert.match(lines[0], /^nb-aaaaaaaa\s+1-seed=1\s+done\s+on w1$/);
  assert.match(lines[2], /^sweep x: 2\/2 finished \(1 failed\) · 0 running · 0 waiting/);
  assert.match(writes[0], /running {2}on w1 {2}cell 2\/5/);
});

let firstSweep: ReturnType<typeof table> = [];
const gridArgs = ["--grid", "seed=1,2,3", "-p", "steps=3", "-p", "stepSeconds=0.5", "-p", "bigFileKb=64", "--fetch-max-mb", "0.03", "--label", "grid"];

test("a grid runs as jobs on two workers, Redis restarts mid-sweep, and the run folders come back beside local runs", async () => {
  const sub = submit(gridArgs);
  await sub.waitFor(/running\s+on w[12]/);
  assert.doesNotMatch(sub.output, /3\/3 finished/);
  await redis.restart();
  assert.equal(await sub.exited, 0, sub.output);
  firstSweep = table(sub.stdout);
  assert.equal(firstSweep.length, 3, sub.output);
  assert.ok(firstSweep.every((r) => r.status === "ok"));
  assert.deepEqual(new Set(firstSweep.map((r) => r.worker)), new Set(["w1", "w2"]), "both workers took jobs");
  assert.match(sub.output, /nb-[0-9a-f]{8}\s+grid-\d-steps=3_\S+_seed=\d\s+running\s+on w[12]\s+cell \d\/5/, "per-job state with the running cell");
  assert.match(sub.output, /sweep queue-steps: 3\/3 finished · 0 running · 0 waiting/);
  assert.ok(!sub.output.includes(PASSWORD) && !sub.output.includes(encodeURIComponent(PASSWORD)), "the password is not printed");

  const collected = collectResults("queue-steps", out);
  assert.deepEqual(collected.map((r) => r.seed).sort(), [1, 2, 3]);
  for (const r of collected) {
    assert.equal(r.bestValidAccuracy, r.seed / 10);
    assert.ok(r.worker === "w1" || r.worker === "w2", `collectResults says where ${r.run} ran`);
  }
  for (const run of firstSweep) {
    assert.equal(path.dirname(run.folder), path.join(out, "queue-steps"));
    assert.match(stdoutOf(run.folder), /step 3\/3\n/);
    const saved = runJson(run.folder);
    assert.equal(saved.queued?.jobId, run.id);
    assert.equal(saved.queued?.commit, readCheckout(root).commit);
    if (run.worker === "w2") {
      // Fetched through Redis: the 64 KiB file is over the 0.03 MB limit and stayed on w2.
      const remote = JSON.parse(fs.readFileSync(path.join(run.folder, "remote-files.json"), "utf8"));
      assert.deepEqual(remote.files, [{ path: "big.bin", size: 65536 }]);
      assert.equal(remote.runDir, path.join(work, "runs-w2", "queue-steps", path.basename(run.folder)));
      assert.ok(fs.existsSync(path.join(remote.runDir, "big.bin")) && !fs.existsSync(path.join(run.folder, "big.bin")));
    } else {
      assert.ok(fs.existsSync(path.join(run.folder, "big.bin")), "w1 shares this runs root: its folder is the run folder");
    }
  }
});

test("submitting the same sweep again names the same jobs, runs nothing and rewrites nothing", async () => {
  assert.equal(firstSweep.length, 3, "needs the sweep of the test before");
  const mtimes = () => firstSweep.map((r) => fs.statSync(path.join(r.folder, "results.json")).mtimeMs);
  const before = mtimes();
  const attemptsBefore = [...workers.values()].map((w) => (w.output.match(/\] attempt \d/g) ?? []).length);
  const sub = submit(gridArgs);
  assert.equal(await sub.exited, 0, sub.output);
  assert.match(sub.output, /queued 3 run\(s\) .*\(3 already in the queue from an earlier submission\)/);
  assert.deepEqual(table(sub.stdout), firstSweep);
  assert.deepEqual(mtimes(), before);
  assert.deepEqual([...workers.values()].map((w) => (w.output.match(/\] attempt \d/g) ?? []).length), attemptsBefore);
  assert.equal(fs.readdirSync(path.join(out, "queue-steps")).length, 3);
});

test("a worker killed mid-job: the job goes to another worker and resumes from its checkpoint; the killed kernel ends", async () => {
  const checkpoint = path.join(work, "resume.ckpt.json");
  const sub = submit(["-p", "steps=5", "-p", "stepSeconds=1", "-p", `checkpointFile=${JSON.stringify(checkpoint)}`, "-p", "seed=7", "--label", "resume"]);
  let progress = { done: 0, kernelPid: 0 };
  for (const until = Date.now() + 60_000; progress.done < 2; await sleep(200)) {
    if (Date.now() > until) assert.fail(`no checkpoint after 60 s:\n${sub.output}`);
    if (fs.existsSync(checkpoint)) progress = JSON.parse(fs.readFileSync(checkpoint, "utf8"));
  }
  const victim = [...sub.output.matchAll(/running\s+on (w\d)/g)].pop()![1];
  workers.get(victim)!.child.kill("SIGKILL");
  workers.delete(victim);
  await startWorker("w3");
  assert.equal(await sub.exited, 0, sub.output);
  const [run] = table(sub.stdout);
  assert.notEqual(run.worker, victim);
  const saved = runJson(run.folder);
  assert.ok(saved.queued!.attempt >= 2, `attempt ${saved.queued!.attempt}`);
  const printed = stdoutOf(run.folder);
  const resumedAt = Number(printed.match(/resumed from step (\d)/)?.[1]);
  assert.ok(resumedAt >= 2, printed);
  assert.doesNotMatch(printed, /step 1\/5/, "the steps done before the kill are not run again");
  assert.match(printed, /step 5\/5/);
  assert.match(fs.readFileSync(path.join(run.folder, "results.json"), "utf8"), /"seed":7/);
  // The killed worker's kernel went with it (its driver got SIGTERM from Linux; the kernel watches its driver).
  assert.throws(() => process.kill(progress.kernelPid, 0), { code: "ESRCH" }, `kernel ${progress.kernelPid} of the killed worker is still running`);
});

test("a failing cell fails its job at once with the cell and error; a dying kernel is retried, up to --attempts", async () => {
  const sets = path.join(work, "failing.json");
  fs.writeFileSync(sets, JSON.stringify([{ failAtStep: 1 }, { exitAtStep: 1 }]));
  const sub = submit(["--sweep", sets, "-p", "steps=2", "-p", "stepSeconds=0.1", "--attempts", "2", "--label", "fail"]);
  assert.equal(await sub.exited, 1, sub.output);
  const [thrown, died] = table(sub.stdout);
  assert.deepEqual([thrown.status, died.status], ["FAILED", "FAILED"]);
  assert.match(sub.output, new RegExp(`${thrown.id} fail-1-[^\\n]*: [^\\n]*queue-steps\\.ipynb failed at cell 4 "// the steps, resumed from checkpointFile when it records\\.\\.\\.":\\nError: fixture failure at step 1`));
  assert.match(sub.output, new RegExp(`${died.id} fail-2-[^\\n]*: [^\\n]* failed at cell 4 [^\\n]*\\nkernel died`));
  assert.deepEqual(await jobCounters(thrown.id), { attemptsStarted: 1, attemptsMade: 1 });
  assert.deepEqual(await jobCounters(died.id), { attemptsStarted: 2, attemptsMade: 2 });
  // Both executed notebooks came back, with the outputs up to the failure.
  assert.equal(runJson(thrown.folder).status, "failed");
  assert.equal(runJson(thrown.folder).error?.cellIndex, 4);
  assert.match(stdoutOf(thrown.folder), /step 1\/2/);
  assert.equal(runJson(died.folder).queued?.attempt, 2);
});

test("workers refuse jobs of another commit and notebooks their checkout does not track, without retrying", async () => {
  const untracked = path.join(root, "runs", `queue-test-untracked-${process.pid}.ipynb`);
  fs.mkdirSync(path.dirname(untracked), { recursive: true });
  fs.copyFileSync(path.join(root, fixture), untracked);
  try {
    const commit = readCheckout(root).commit;
    const base: NotebookJob = { notebook: fixture, params: {}, label: "refused", commit, dirty: true, fetchMaxBytes: 2 ** 20, submittedFrom: "test" };
    const jobs: NotebookJob[] = [
      { ...base, label: "other-commit", commit: "0".repeat(40) },
      { ...base, label: "outside", notebook: "../../etc/hosts.ipynb" },
      { ...base, label: "untracked", notebook: path.relative(root, untracked) },
    ];
    const { ids } = await enqueueJobs(redis.url, jobs);
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    const runs = await waitForJobs(redis.url, jobs, ids, { out, stream: sink, pollMs: 300 });
    assert.deepEqual(runs.map((r) => r.status), ["failed", "failed", "failed"]);
    assert.match(runs[0].error ?? "", new RegExp(`^refused by worker w\\d: its checkout is at commit ${commit.slice(0, 10)} and the job was submitted at 0000000000; check out 0{40} on that machine`));
    assert.match(runs[1].error ?? "", /^refused by worker w\d: \.\.\/\.\.\/etc\/hosts\.ipynb is outside the checkout/);
    assert.match(runs[2].error ?? "", /^refused by worker w\d: runs\/queue-test-untracked-\d+\.ipynb is not tracked by git/);
    assert.ok(runs.every((r) => r.runDir === undefined), "nothing ran");
    for (const id of ids) assert.equal((await jobCounters(id)).attemptsStarted, 1);
  } finally {
    fs.rmSync(untracked, { force: true });
  }
});

test("a missing or wrong password is refused with what to put in the URL, before anything is queued", async () => {
  const bare = `redis://127.0.0.1:${redis.port}`;
  const missing = submit(["-p", "seed=99"], bare);
  assert.equal(await missing.exited, 1);
  assert.match(missing.output, /asks for a password: put it in the URL, redis:\/\/:PASSWORD@HOST:PORT/);
  await assert.rejects(checkConnection(`redis://:nope@127.0.0.1:${redis.port}`), (error: Error) => {
    assert.match(error.message, /^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the user name or password in the URL/);
    return true;
  });
});

test("rediss:// reaches a TLS-only Redis, trusting a private CA through NODE_EXTRA_CA_CERTS", async () => {
  const tls = await RedisServer.start({ tls: true, password: PASSWORD });
  try {
    const probe = (url: string, env: NodeJS.ProcessEnv) => {
      const code = `const q = require("./lib/queue"); const { Queue } = require("bullmq");
        (async () => { await q.checkConnection(process.argv[1]);
          const queue = new Queue("tls-probe", { connection: q.redisOptions(process.argv[1]) });
          await queue.add("x", { a: 1 }, { jobId: "probe-1" }); console.log("jobs:", (await queue.getJobCounts()).waiting); await queue.close();
        })().catch((e) => { console.error(e.message); process.exit(1); });`;
      return new Proc(spawn(process.execPath, ["--import", "tsx", "-e", code, url], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] }));
    };
    const trusted = probe(tls.url, { ...process.env, NODE_EXTRA_CA_CERTS: tls.certificate });
    assert.equal(await trusted.exited, 0, trusted.output);
    assert.match(trusted.output, /jobs: 1/);
    // This process does not trust the certificate, nor does a plain connection get an answer.
    await assert.rejects(checkConnection(tls.url), /TLS to rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+ failed .*NODE_EXTRA_CA_CERTS=\/path\/to\/ca\.pem/);
    await assert.rejects(checkConnection(tls.url.replace("rediss:", "redis:"), 3000), /then use rediss:\/\//);
  } finally {
    await tls.remove();
  }
});
