// A real redis-server of the test's own: a free port on 127.0.0.1, a temporary folder, append-only
// persistence (so a restart keeps the queue, as a production Redis for BullMQ should), optionally a
// password or TLS with a throwaway certificate. Stopped and removed by the test.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./ports";

export interface RedisServerOptions {
  password?: string;
  /** Serve TLS only (no plain port) with a self-signed certificate for 127.0.0.1 (its file: `certificate`). */
  tls?: boolean;
}

export class RedisServer {
  private child: ChildProcess | undefined;
  readonly certificate: string;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {
    this.certificate = path.join(dir, "cert.pem");
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-redis-"));
    const server = new RedisServer(dir, await freePort(), options);
    if (options.tls) server.makeCertificate();
    await server.launch();
    return server;
  }

  /** redis://:PASSWORD@127.0.0.1:PORT, or rediss:// with TLS. */
  get url(): string {
    const auth = this.options.password ? `:${encodeURIComponent(this.options.password)}@` : "";
    return `${this.options.tls ? "rediss" : "redis"}://${auth}127.0.0.1:${this.port}`;
  }

  private makeCertificate(): void {
    const key = path.join(this.dir, "key.pem");
    const run = spawnSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", this.certificate, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
      { encoding: "utf8" },
    );
    if (run.status !== 0) throw new Error(`openssl could not make a certificate: ${run.error?.message ?? run.stderr}`);
  }

  private args(): string[] {
    const args = ["--bind", "127.0.0.1", "--dir", this.dir, "--appendonly", "yes", "--save", "", "--daemonize", "no", "--logfile", ""];
    if (this.options.password) args.push("--requirepass", this.options.password);
    if (!this.options.tls) return ["--port", String(this.port), ...args];
    const key = path.join(this.dir, "key.pem");
    return ["--port", "0", "--tls-port", String(this.port), "--tls-cert-file", this.certificate, "--tls-key-file", key, "--tls-ca-cert-file", this.certificate, "--tls-auth-clients", "no", ...args];
  }

  private async launch(): Promise<void> {
    const child = spawn("redis-server", this.args(), { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    let log = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not get ready in 10 s:\n${log}`)), 10_000);
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (/Ready to accept connections/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("error", (error) => reject(new Error(`redis-server could not start (${error.message}); npm run setup -- --tests installs it`)));
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}:\n${log}`)));
    });
    child.removeAllListeners("exit");
  }

  /** SIGTERM (Redis flushes its append-only file and exits), then waits for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }

  /** Stops and starts again on the same port and folder; the queue survives in the append-only file. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  async remove(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
