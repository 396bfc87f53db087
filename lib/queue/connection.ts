// The Redis connection behind the queue: redis://[user:password@]host:port[/db] or rediss:// for TLS,
// the options BullMQ's ioredis connections get, and a first PING that turns connection failures into
// messages naming the fix.
import type { RedisOptions } from "bullmq";
import { Redis } from "ioredis";

export class QueueConnectionError extends Error {
  override name = "QueueConnectionError";
}

/** ioredis options for a redis:// or rediss:// URL. The CA of a private TLS certificate comes from NODE_EXTRA_CA_CERTS. */
export function redisOptions(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueConnectionError(`--queue expects a Redis URL such as redis://127.0.0.1:6379, got "${url}"`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new QueueConnectionError(`--queue expects redis://HOST:PORT or rediss://HOST:PORT (TLS), got "${redactUrl(url)}"`);
  }
  const db = parsed.pathname.replace(/^\//, "");
  if (db && !/^\d+$/.test(db)) throw new QueueConnectionError(`the path of a Redis URL is a database number (redis://HOST:PORT/0), got "/${db}"`);
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  return {
    host,
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(parsed.protocol === "rediss:" ? { tls: { servername: host } } : {}),
    // Commands wait for a reconnection instead of failing, so a Redis restart pauses workers and
    // the submitter rather than ending them; reconnect every 0.5-3 s for as long as it takes.
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times: number) => Math.min(500 * times, 3000),
  };
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return url.replace(/\/\/[^@/]*@/, "//***@");
  }
}

/** Connects once, without retrying, and PINGs; throws QueueConnectionError saying what to fix. */
export async function checkConnection(url: string, timeoutMs = 10_000): Promise<void> {
  const options = redisOptions(url);
  const client = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  let lastError: Error | undefined;
  client.on("error", (error: Error) => {
    lastError = error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new QueueConnectionError(explainConnectionError(url, lastError ?? (error as Error)));
  } finally {
    client.disconnect();
  }
}

export function explainConnectionError(url: string, error: Error): string {
  const where = redactUrl(url);
  const text = error.message;
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (/NOAUTH/.test(text)) return `Redis at ${where} asks for a password: put it in the URL, redis://:PASSWORD@HOST:PORT (or redis://USER:PASSWORD@HOST:PORT)`;
  if (/WRONGPASS|invalid password|invalid username-password/i.test(text)) return `Redis at ${where} refused the user name or password in the URL (${text})`;
  if (code === "ECONNREFUSED") return `nothing accepts connections at ${where}: start Redis there (redis-server --port PORT) or correct the URL`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `the host of ${where} does not resolve (${code})`;
  if (/certificate|self[- ]signed|SSL|TLS|wrong version number|EPROTO/i.test(text + code)) {
    return `TLS to ${where} failed (${text}): use rediss:// for a TLS port, and when the server's certificate is not from a public CA start with NODE_EXTRA_CA_CERTS=/path/to/ca.pem`;
  }
  if (/ECONNRESET|Connection is closed|ETIMEDOUT|timeout/i.test(text + code)) {
    const tlsHint = url.startsWith("rediss:") ? "" : " (a TLS-only port closes plain connections: then use rediss://)";
    return `Redis at ${where} closed or did not answer the connection${tlsHint}: ${text}`;
  }
  return `cannot use Redis at ${where}: ${text}`;
}
