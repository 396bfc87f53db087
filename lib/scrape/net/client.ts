// The HTTP client every scraper request goes through: http/https only, robots.txt obeyed,
// per-host politeness, retries with backoff on 5xx / 429 / timeouts / dropped connections,
// a cap on redirects (with loop detection), a size cap, and an honest User-Agent.
import { createAgents, FetchError, requestOnce, type Exchange, type FailureKind, type RequestLimits } from "./request";
import { type NetworkPolicy } from "./address";
import { HostPacer } from "./pacer";
import { ALLOW_ALL, DISALLOW_ALL, parseRobots, type RobotsRules } from "./robots";

export const PRODUCT_TOKEN = "charid";
export const DEFAULT_USER_AGENT = `${PRODUCT_TOKEN}-scraper/0.1 (image-dataset builder for a classification contest; obeys robots.txt)`;

export interface HttpOptions {
  /** Sent with every request; keep the product token first so robots.txt groups can name us. */
  userAgent?: string;
  /** Deadline for one attempt, from connecting to the last byte. */
  timeoutMs?: number;
  /** Further attempts after a 5xx, 429, timeout or dropped connection. */
  retries?: number;
  /** Wait before the first retry; doubles each time (a Retry-After header wins when longer). */
  backoffMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
  network?: NetworkPolicy;
  /** Minimum gap between two requests to the same host. */
  hostDelayMs?: number;
  obeyRobots?: boolean;
  /** Longest Retry-After or Crawl-delay honoured; a site asking for more is given up on. */
  maxWaitMs?: number;
}

export type FetchResult =
  | { ok: true; url: string; finalUrl: string; status: number; contentType: string; body: Buffer; attempts: number }
  | { ok: false; url: string; kind: FailureKind; reason: string; status?: number; attempts: number; retryable: boolean };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
const RETRYABLE_KINDS = new Set<FailureKind>(["server-error", "timeout", "network"]);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export class HttpClient {
  readonly userAgent: string;
  private readonly options: Required<Omit<HttpOptions, "userAgent">>;
  private readonly limits: RequestLimits;
  private readonly pacer: HostPacer;
  private readonly robots = new Map<string, Promise<RobotsRules | FetchError>>();

  constructor(options: HttpOptions = {}) {
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.options = {
      timeoutMs: options.timeoutMs ?? 15_000,
      retries: options.retries ?? 2,
      backoffMs: options.backoffMs ?? 1_000,
      maxBytes: options.maxBytes ?? 20e6,
      maxRedirects: options.maxRedirects ?? 5,
      network: options.network ?? "public-only",
      hostDelayMs: options.hostDelayMs ?? 1_000,
      obeyRobots: options.obeyRobots ?? true,
      maxWaitMs: options.maxWaitMs ?? 60_000,
    };
    this.limits = {
      timeoutMs: this.options.timeoutMs,
      maxBytes: this.options.maxBytes,
      userAgent: this.userAgent,
      network: this.options.network,
      agents: createAgents(this.options.network),
    };
    this.pacer = new HostPacer(this.options.hostDelayMs);
  }

  /** GETs a URL, following redirects; never throws for what the network or the server does. */
  async get(url: string, options: { maxBytes?: number } = {}): Promise<FetchResult> {
    const limits = options.maxBytes ? { ...this.limits, maxBytes: options.maxBytes } : this.limits;
    let attempts = 0;
    const fail = (kind: FailureKind, reason: string, status?: number): FetchResult => ({ ok: false, url, kind, reason, status, attempts, retryable: RETRYABLE_KINDS.has(kind) });
    const seen = new Set<string>();
    let current: URL;
    try {
      current = new URL(url);
    } catch {
      return fail("bad-url", `not a valid URL: ${url}`);
    }
    for (let hop = 0; ; hop++) {
      if (current.protocol !== "http:" && current.protocol !== "https:") return fail("bad-url", `${current.protocol} URLs are not fetched (http and https only)`);
      seen.add(current.href);
      const rules = this.options.obeyRobots ? await this.robotsFor(current) : undefined;
      if (rules instanceof FetchError) return fail(rules.kind, rules.message);
      if (rules && !rules.allows(current.pathname + current.search)) return fail("robots", `disallowed by ${rules.source} for ${this.userAgent.split("/")[0]}: ${current.pathname}`);
      const delayMs = Math.min((rules?.crawlDelaySeconds ?? 0) * 1000, this.options.maxWaitMs);
      let exchange: Exchange;
      try {
        const result = await this.withRetries(current, limits, delayMs);
        attempts += result.attempts;
        exchange = result.exchange;
      } catch (error) {
        const failure = error as FetchError & { attempts: number };
        attempts += failure.attempts;
        return fail(failure.kind, failure.message, failure.status);
      }
      if (REDIRECTS.has(exchange.status)) {
        const location = exchange.headers.location;
        if (!location) return fail("http-status", `HTTP ${exchange.status} redirect without a Location header`, exchange.status);
        const next = new URL(location, current);
        if (seen.has(next.href)) return fail("redirect-loop", `redirect loop: ${next.href} was already visited (after ${hop + 1} redirects)`, exchange.status);
        if (hop + 1 > this.options.maxRedirects) return fail("too-many-redirects", `more than ${this.options.maxRedirects} redirects`, exchange.status);
        current = next;
        continue;
      }
      if (exchange.status < 200 || exchange.status >= 300) {
        const kind = exchange.status >= 500 || RETRY_STATUSES.has(exchange.status) ? "server-error" : "http-status";
        return fail(kind, `HTTP ${exchange.status}${attempts > 1 ? ` after ${attempts} attempts` : ""}`, exchange.status);
      }
      const type = exchange.headers["content-type"] ?? "";
      return { ok: true, url, finalUrl: current.href, status: exchange.status, contentType: type, body: exchange.body, attempts };
    }
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.limits.agents.http.destroy();
    this.limits.agents.https.destroy();
  }

  private async withRetries(url: URL, limits: RequestLimits, minDelayMs: number): Promise<{ exchange: Exchange; attempts: number }> {
    let attempts = 0;
    for (;;) {
      attempts++;
      await this.pacer.wait(url.host, minDelayMs);
      let wait = this.options.backoffMs * 2 ** (attempts - 1);
      try {
        const exchange = await requestOnce(url, limits);
        if (!RETRY_STATUSES.has(exchange.status) || attempts > this.options.retries) return { exchange, attempts };
        const asked = retryAfterMs(exchange.headers["retry-after"]);
        if (asked !== undefined && asked > this.options.maxWaitMs) return { exchange, attempts };
        wait = Math.max(wait, asked ?? 0);
      } catch (error) {
        const failure = error as FetchError;
        const transient = failure.kind === "timeout" || failure.kind === "network";
        if (!transient || attempts > this.options.retries) {
          const message = attempts > 1 ? `${failure.message} (${attempts} attempts)` : failure.message;
          throw Object.assign(new FetchError(failure.kind, message, failure.status), { attempts });
        }
      }
      await sleep(wait);
    }
  }

  /** The site's rules; a FetchError when the site itself may not be reached (refused address). */
  private robotsFor(url: URL): Promise<RobotsRules | FetchError> {
    let rules = this.robots.get(url.origin);
    if (!rules) {
      rules = this.fetchRobots(url.origin);
      this.robots.set(url.origin, rules);
    }
    return rules;
  }

  /** RFC 9309: 4xx means no rules; 5xx or unreachable means "assume everything is disallowed". */
  private async fetchRobots(origin: string): Promise<RobotsRules | FetchError> {
    const source = `${origin}/robots.txt`;
    let current = new URL(source);
    for (let hop = 0; hop <= 5; hop++) {
      let exchange: Exchange;
      try {
        // RFC 9309 §2.5: crawlers parse at least 500 KiB of robots.txt.
        exchange = (await this.withRetries(current, { ...this.limits, maxBytes: 500 * 1024 }, 0)).exchange;
      } catch (error) {
        if (error instanceof FetchError && error.kind === "blocked-address") return error;
        return DISALLOW_ALL(`${source} (unreachable: ${(error as Error).message}; everything assumed disallowed)`);
      }
      if (REDIRECTS.has(exchange.status) && exchange.headers.location) {
        current = new URL(exchange.headers.location, current);
        continue;
      }
      if (exchange.status >= 200 && exchange.status < 300) return parseRobots(exchange.body.toString("utf8"), PRODUCT_TOKEN, source);
      if (exchange.status >= 400 && exchange.status < 500) return ALLOW_ALL(`${source} (HTTP ${exchange.status}: no rules)`);
      return DISALLOW_ALL(`${source} (HTTP ${exchange.status}; everything assumed disallowed)`);
    }
    return DISALLOW_ALL(`${source} (too many redirects; everything assumed disallowed)`);
  }
}
