// The scraper's HTTP client against a real server on 127.0.0.1: retries, timeouts, redirects,
// size caps, the address policy, robots.txt and the per-host delay.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as zlib from "node:zlib";
import { DEFAULT_USER_AGENT, HttpClient, parseRobots } from "../lib/scrape";
import { classifyAddress, refusal } from "../lib/scrape/net/address";

const hits = new Map<string, number[]>();
let robots = "User-agent: *\nDisallow: /private/\nAllow: /private/open.jpg\n";
let robotsStatus = 200;
let origin = "";

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://x");
  const times = hits.get(url.pathname) ?? [];
  times.push(Date.now());
  hits.set(url.pathname, times);
  const send = (status: number, body: string | Buffer = "", headers: Record<string, string> = {}) => {
    response.writeHead(status, { "Content-Length": String(Buffer.byteLength(body)), ...headers });
    response.end(body);
  };
  const hop = Number(url.searchParams.get("hop") ?? 0);
  switch (url.pathname) {
    case "/robots.txt": return send(robotsStatus, robots, { "Content-Type": "text/plain" });
    case "/ua": return send(200, String(request.headers["user-agent"]));
    case "/flaky": return times.length < 3 ? send(503) : send(200, "finally");
    case "/always-500": return send(500, "down");
    case "/busy": return send(429, "", { "Retry-After": "3600" });
    case "/slow": {
      const timer = setTimeout(() => send(200, "late"), 1500);
      response.on("close", () => clearTimeout(timer));
      return;
    }
    case "/chain": return send(302, "", { Location: `/chain?hop=${hop + 1}` });
    case "/loop-a": return send(302, "", { Location: "/loop-b" });
    case "/loop-b": return send(307, "", { Location: `${origin}/loop-a` });
    case "/to-ftp": return send(301, "", { Location: "ftp://example.org/file.jpg" });
    case "/declared-big": return send(200, Buffer.alloc(300_000));
    case "/gzip-bomb": return send(200, zlib.gzipSync(Buffer.alloc(5_000_000)), { "Content-Encoding": "gzip" });
    case "/gzip-small": return send(200, zlib.gzipSync(Buffer.from("hello, compressed")), { "Content-Encoding": "gzip" });
    case "/missing": return send(404, "nope");
    default: return send(200, `ok ${url.pathname}`);
  }
});

test.before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.after(() => {
  server.closeAllConnections();
  server.close();
});

const client = (options: ConstructorParameters<typeof HttpClient>[0] = {}) => new HttpClient({ network: "allow-loopback", hostDelayMs: 0, backoffMs: 5, ...options });

test("sends the honest User-Agent and decompresses gzip", async () => {
  const c = client();
  const ua = await c.get(`${origin}/ua`);
  assert.ok(ua.ok);
  assert.equal(ua.ok && ua.body.toString(), DEFAULT_USER_AGENT);
  assert.match(DEFAULT_USER_AGENT, /^charid-scraper\/\S+ \(.*obeys robots\.txt\)$/);
  const gz = await c.get(`${origin}/gzip-small`);
  assert.equal(gz.ok && gz.body.toString(), "hello, compressed");
  c.close();
});

test("retries 5xx with backoff until it succeeds, and gives up after the last retry", async () => {
  const c = client({ retries: 2 });
  const flaky = await c.get(`${origin}/flaky`);
  assert.ok(flaky.ok, JSON.stringify(flaky));
  assert.equal(flaky.attempts, 3);
  const [t0, t1, t2] = hits.get("/flaky")!;
  assert.ok(t1 - t0 >= 5 && t2 - t1 >= 10, `backoff doubles: ${t1 - t0} ms, ${t2 - t1} ms`);
  const down = await c.get(`${origin}/always-500`);
  assert.equal(down.ok, false);
  assert.deepEqual(down.ok === false && [down.kind, down.status, down.attempts, down.retryable], ["server-error", 500, 3, true]);
  assert.match(down.ok === false ? down.reason : "", /HTTP 500 after 3 attempts/);
  const busy = await c.get(`${origin}/busy`);
  assert.equal(busy.ok === false && busy.attempts, 1, "a Retry-After longer than maxWaitMs is not waited for");
  const missing = await c.get(`${origin}/missing`);
  assert.deepEqual(missing.ok === false && [missing.kind, missing.status, missing.retryable, missing.attempts], ["http-status", 404, false, 1]);
  c.close();
});

test("a response slower than the timeout is abandoned, retried, then reported as a timeout", async () => {
  const c = client({ timeoutMs: 150, retries: 1 });
  const started = Date.now();
  const slow = await c.get(`${origin}/slow`);
  assert.equal(slow.ok, false);
  assert.deepEqual(slow.ok === false && [slow.kind, slow.attempts, slow.retryable], ["timeout", 2, true]);
  assert.match(slow.ok === false ? slow.reason : "", /no complete response within 150 ms \(2 attempts\)/);
  assert.ok(Date.now() - started < 1200, "does not wait for the slow server");
  c.close();
});

test("redirects: followed up to the cap, loops detected, only http and https", async () => {
  const c = client({ maxRedirects: 3 });
  const chain = await c.get(`${origin}/chain`);
  assert.deepEqual(chain.ok === false && chain.kind, "too-many-redirects");
  const loop = await client({ maxRedirects: 10 }).get(`${origin}/loop-a`);
  assert.deepEqual(loop.ok === false && [loop.kind, loop.retryable], ["redirect-loop", false]);
  assert.match(loop.ok === false ? loop.reason : "", /redirect loop: .*\/loop-a was already visited \(after 2 redirects\)/);
  const ftp = await c.get(`${origin}/to-ftp`);
  assert.deepEqual(ftp.ok === false && [ftp.kind, ftp.reason], ["bad-url", "ftp: URLs are not fetched (http and https only)"]);
  const file = await c.get("file:///etc/passwd");
  assert.equal(file.ok === false && file.kind, "bad-url");
  c.close();
});

test("oversized bodies: refused by Content-Length, and by size once decompressed", async () => {
  const c = client({ maxBytes: 100_000 });
  const big = await c.get(`${origin}/declared-big`);
  assert.deepEqual(big.ok === false && big.kind, "too-large");
  assert.match(big.ok === false ? big.reason : "", /Content-Length 300 kB is over the 100 kB limit/);
  const bomb = await c.get(`${origin}/gzip-bomb`);
  assert.deepEqual(bomb.ok === false && [bomb.kind, bomb.retryable], ["too-large", false]);
  assert.match(bomb.ok === false ? bomb.reason : "", /once decompressed/);
  c.close();
});

test("loopback and private addresses are refused unless allowed, also behind a host name", async () => {
  const strict = new HttpClient({ hostDelayMs: 0 });
  for (const url of [`${origin}/ua`, origin.replace("127.0.0.1", "localhost") + "/ua", "http://[::1]:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data/"]) {
    const result = await strict.get(url);
    assert.deepEqual(result.ok === false && result.kind, "blocked-address", url);
    assert.match(result.ok === false ? result.reason : "", /(loopback|private) address, refused/);
  }
  strict.close();
  assert.equal(hits.get("/ua")?.length, 1, "nothing reached the server");
  const allowed = await client().get(origin.replace("127.0.0.1", "localhost") + "/ua");
  assert.ok(allowed.ok);
});

test("address classes", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", "loopback"], ["127.9.9.9", "loopback"], ["::1", "loopback"], ["::ffff:127.0.0.1", "loopback"],
    ["10.0.0.1", "private"], ["172.16.5.4", "private"], ["172.32.0.1", "public"], ["192.168.1.1", "private"],
    ["169.254.169.254", "private"], ["100.64.0.1", "private"], ["0.0.0.0", "private"], ["::", "private"],
    ["fc00::1", "private"], ["fd12:3456::1", "private"], ["fe80::1", "private"], ["::ffff:10.0.0.1", "private"],
    ["8.8.8.8", "public"], ["2001:4860:4860::8888", "public"], ["93.184.216.34", "public"],
  ];
  for (const [address, kind] of cases) assert.equal(classifyAddress(address), kind, address);
  assert.equal(refusal("127.0.0.1", "allow-loopback"), undefined);
  assert.match(refusal("10.0.0.1", "allow-loopback") ?? "", /private address, refused/);
  assert.equal(refusal("10.0.0.1", "allow-private"), undefined);
});

test("robots.txt rules: our group or *, longest match, Allow wins ties, wildcards and $", () => {
  const rules = parseRobots(
    ["User-agent: Googlebot", "Disallow: /", "", "User-agent: charid", "User-agent: other", "Disallow: /img/", "Allow: /img/public/", "Disallow: /*.gif$", "Disallow: /tmp", "Allow: /tmp", "Crawl-delay: 2", "", "User-agent: *", "Disallow: /"].join("\n"),
    "charid",
  );
  assert.equal(rules.allows("/index.html"), true);
  assert.equal(rules.allows("/img/a.jpg"), false);
  assert.equal(rules.allows("/img/public/a.jpg"), true, "the longer Allow wins");
  assert.equal(rules.allows("/x/anim.gif"), false);
  assert.equal(rules.allows("/x/anim.gif?size=2"), true, "$ anchors the end");
  assert.equal(rules.allows("/tmp/x"), true, "Allow wins a tie");
  assert.equal(rules.crawlDelaySeconds, 2);
  const others = parseRobots("User-agent: *\nDisallow: /private/\n# comment\nDisallow: /%7Euser/", "charid");
  assert.equal(others.allows("/private/x"), false);
  assert.equal(others.allows("/~user/page"), false, "percent-encoded and plain paths compare alike");
  assert.equal(parseRobots("User-agent: *\nDisallow:\n", "charid").allows("/anything"), true, "an empty Disallow allows all");
});

test("the client obeys robots.txt: disallowed paths are never requested; 4xx means no rules, 5xx means none allowed", async () => {
  const c = client();
  const robotsBefore = hits.get("/robots.txt")?.length ?? 0;
  const closed = await c.get(`${origin}/private/x.jpg`);
  assert.deepEqual(closed.ok === false && closed.kind, "robots");
  assert.match(closed.ok === false ? closed.reason : "", /disallowed by .*robots\.txt/);
  assert.equal(hits.get("/private/x.jpg"), undefined);
  assert.ok((await c.get(`${origin}/private/open.jpg`)).ok, "Allow overrides the Disallow");
  assert.equal(hits.get("/robots.txt")!.length - robotsBefore, 1, "robots.txt is fetched once per site");
  c.close();

  robotsStatus = 404;
  const none = client();
  assert.ok((await none.get(`${origin}/private/y.jpg`)).ok, "no robots.txt: everything allowed");
  none.close();
  robotsStatus = 503;
  const failing = client({ retries: 0 });
  const refused = await failing.get(`${origin}/anything`);
  assert.deepEqual(refused.ok === false && refused.kind, "robots");
  assert.match(refused.ok === false ? refused.reason : "", /HTTP 503; everything assumed disallowed/);
  failing.close();
  robotsStatus = 200;
  robots = "User-agent: *\nCrawl-delay: 0.2\n";
  const slowed = client();
  await Promise.all([1, 2, 3].map((i) => slowed.get(`${origin}/crawl-delay/${i}`)));
  const starts = [1, 2, 3].map((i) => hits.get(`/crawl-delay/${i}`)![0]).sort();
  assert.ok(starts[2] - starts[0] >= 380, `Crawl-delay spaces requests: ${starts[1] - starts[0]}, ${starts[2] - starts[1]} ms`);
  slowed.close();
});

test("politeness: requests to one host start at least hostDelayMs apart, even when issued together", async () => {
  robots = "";
  const c = client({ hostDelayMs: 120 });
  await c.get(`${origin}/warm`); // robots.txt and the first slot
  const started = Date.now();
  await Promise.all([1, 2, 3, 4].map((i) => c.get(`${origin}/polite/${i}`)));
  const starts = [1, 2, 3, 4].map((i) => hits.get(`/polite/${i}`)![0]).sort();
  for (let i = 1; i < starts.length; i++) assert.ok(starts[i] - starts[i - 1] >= 110, `gap ${starts[i] - starts[i - 1]} ms`);
  assert.ok(Date.now() - started >= 3 * 110);
  c.close();
});
