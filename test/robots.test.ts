// robots.txt matching against RFC 9309, section by section, with the RFC's own examples; then the
// leniencies we allow beyond it. The client's use of these rules is in scrape-http.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRobots } from "../lib/scrape/net/robots";

const robots = (...lines: string[]) => lines.join("\n");
const allowed = (text: string, agent: string, path: string) => parseRobots(text, agent).allows(path);

test("§2.2: record names are case-insensitive; CR, LF and CRLF all end lines; rules before any User-agent are ignored", () => {
  for (const text of ["USER-AGENT: FooBot\nALLOW: /x/\nDISALLOW: /\n", "uSeR-aGeNt: FooBot\r\nAlLoW: /x/\r\ndIsAlLoW: /\r\n", "user-agent: FooBot\rallow: /x/\rdisallow: /"]) {
    assert.equal(allowed(text, "FooBot", "/x/y"), true, JSON.stringify(text));
    assert.equal(allowed(text, "FooBot", "/a/b"), false, JSON.stringify(text));
  }
  const stray = robots("Disallow: /foo/", "", "User-agent: *", "Allow: /bar/");
  assert.equal(allowed(stray, "FooBot", "/foo/x"), true);
});

test("§2.2.1: the product token matches case-insensitively, and only as a whole token", () => {
  const text = robots("User-agent: ExampleBot", "Disallow: /", "", "User-agent: *", "Disallow: /private/");
  for (const agent of ["ExampleBot", "examplebot", "EXAMPLEBOT"]) assert.equal(allowed(text, agent, "/a"), false, agent);
  assert.equal(allowed(robots("user-agent: EXAMPLEBOT", "disallow: /"), "ExampleBot", "/a"), false, "the robots.txt side is case-insensitive too");
  for (const agent of ["Example", "ExampleBotX"]) {
    assert.equal(allowed(text, agent, "/a"), true, `${agent} falls back to *`);
    assert.equal(allowed(text, agent, "/private/a"), false, `${agent} falls back to *`);
  }
});

test("§2.2.1: groups naming the same product token are merged; otherwise the * group; otherwise no rules", () => {
  const twoGroups = robots("user-agent: ExampleBot", "disallow: /foo", "disallow: /bar", "", "user-agent: ExampleBot", "disallow: /baz");
  for (const path of ["/foo", "/bar", "/baz"]) assert.equal(allowed(twoGroups, "ExampleBot", path), false, path);
  assert.equal(allowed(twoGroups, "ExampleBot", "/qux"), true);

  const starAndBaz = robots("user-agent: *", "disallow: /foo", "disallow: /bar", "", "user-agent: BazBot", "disallow: /baz");
  assert.equal(allowed(starAndBaz, "ExampleBot", "/foo"), false);
  assert.equal(allowed(starAndBaz, "ExampleBot", "/bar"), false);
  assert.equal(allowed(starAndBaz, "ExampleBot", "/baz"), true, "BazBot's group is not ExampleBot's");

  const specificOnly = robots("user-agent: FooBot", "allow: /", "user-agent: BarBot", "disallow: /");
  assert.equal(allowed(specificOnly, "QuxBot", "/x"), true, "no matching group and no *: no rules apply");
  assert.equal(allowed("", "QuxBot", "/x"), true, "no groups at all: no rules apply");
  assert.equal(allowed(robots("User-agent: *", "Disallow: /x/", "User-agent: FooBot", "Disallow: /y/"), "FooBot", "/x/page"), true, "a named group replaces *, it does not add to it");
});

test("§2.2.2: matching is case-sensitive from the path's first octet; the rule with the most octets wins; Allow wins a tie", () => {
  assert.equal(allowed(robots("user-agent: FooBot", "disallow: /x/"), "FooBot", "/x/y"), false);
  assert.equal(allowed(robots("user-agent: FooBot", "disallow: /X/"), "FooBot", "/x/y"), true, "case-sensitive");
  const fish = robots("user-agent: FooBot", "disallow: /", "allow: /fish");
  for (const path of ["/fish", "/fish.html", "/fish/salmon.html", "/fishheads", "/fish.html?id=anything"]) assert.equal(allowed(fish, "FooBot", path), true, path);
  for (const path of ["/Fish.asp", "/catfish", "/?id=fish", "/bar"]) assert.equal(allowed(fish, "FooBot", path), false, path);

  const longer = robots("user-agent: FooBot", "allow: /x/page.html", "disallow: /x/");
  assert.equal(allowed(longer, "FooBot", "/x/page.html"), true);
  assert.equal(allowed(longer, "FooBot", "/x/"), false);
  assert.equal(allowed(robots("user-agent: FooBot", "disallow: /x/page.html", "allow: /x/"), "FooBot", "/x/page.html"), false, "order does not matter, length does");
  assert.equal(allowed(robots("user-agent: FooBot", "allow: /page", "disallow: /*.html"), "FooBot", "/page.html"), false, "the wildcard pattern is longer");
  assert.equal(allowed(robots("user-agent: FooBot", "disallow: /x/page.html", "allow: /x/page.html"), "FooBot", "/x/page.html"), true, "Allow wins a tie");
  assert.equal(allowed(robots("user-agent: FooBot", "allow: /folder", "disallow: /folder"), "FooBot", "/folder/page"), true, "Allow wins a tie");
});

test("§2.2.2: no matching rule or no rules means allowed; an empty Disallow is no rule; /robots.txt is always allowed", () => {
  assert.equal(allowed(robots("user-agent: FooBot", "disallow: /private/"), "FooBot", "/public/x"), true);
  assert.equal(allowed(robots("user-agent: FooBot", "disallow:"), "FooBot", "/anything"), true);
  assert.equal(allowed(robots("user-agent: FooBot", "disallow: /"), "FooBot", "/robots.txt"), true);
});

test("§2.2.2: paths are compared percent-encoded (the RFC's table, both as rule and as URI)", () => {
  const allowOnly = (pattern: string) => robots("User-agent: FooBot", "Disallow: /", `Allow: ${pattern}`);
  // Row 1: nothing to encode.
  assert.equal(allowed(allowOnly("/foo/bar?baz=quz"), "FooBot", "/foo/bar?baz=quz"), true);
  // Row 2: a URL in the query; reserved characters are compared as written, raw with raw, encoded with encoded.
  assert.equal(allowed(allowOnly("/foo/bar?baz=https://foo.bar"), "FooBot", "/foo/bar?baz=https://foo.bar"), true);
  assert.equal(allowed(allowOnly("/foo/bar?baz=https%3A%2F%2Ffoo.bar"), "FooBot", "/foo/bar?baz=https%3A%2F%2Ffoo.bar"), true);
  // Rows 3 and 4: a character outside ASCII is its UTF-8 octets, percent-encoded, whichever side writes it raw.
  for (const pattern of ["/foo/bar/ツ", "/foo/bar/%E3%83%84", "/foo/bar/%e3%83%84"]) {
    for (const path of ["/foo/bar/%E3%83%84", "/foo/bar/%e3%83%84", "/foo/bar/ツ"]) assert.equal(allowed(allowOnly(pattern), "FooBot", path), true, `${pattern} vs ${path}`);
    assert.equal(allowed(allowOnly(pattern), "FooBot", "/foo/bar/%E3%83%85"), false, pattern);
  }
  // Row 5: escaped unreserved characters are compared unescaped.
  for (const [pattern, path] of [["/foo/bar/%62%61%7A", "/foo/bar/baz"], ["/foo/bar/baz", "/foo/bar/%62%61%7a"], ["/%7Euser/", "/~user/x"], ["/~user/", "/%7euser/x"]]) {
    assert.equal(allowed(allowOnly(pattern), "FooBot", path), true, `${pattern} vs ${path}`);
  }
  // Reserved characters are not unescaped: an encoded "/" is not a path separator.
  assert.equal(allowed(allowOnly("/a/b"), "FooBot", "/a%2Fb"), false);
  assert.equal(allowed(allowOnly("/a%2fb"), "FooBot", "/a%2Fb"), true, "though its hex digits' case does not matter");
});

test("§2.2.3: '#' starts a comment, '$' ends the pattern, '*' is any run of characters (the RFC's examples)", () => {
  const comments = robots("User-agent: FooBot", "# Disallow: /", "Disallow: /foo/quz#qux", "allow: / # comment in line");
  assert.equal(allowed(comments, "FooBot", "/foo/bar"), true);
  assert.equal(allowed(comments, "FooBot", "/foo/quz"), false);

  const exactly = robots("User-agent: FooBot", "Disallow: /", "allow: /this/path/exactly$");
  assert.equal(allowed(exactly, "FooBot", "/this/path/exactly"), true);
  for (const path of ["/this/path/exactly/", "/this/path/exactly?x=1", "/this/path/exactlyx"]) assert.equal(allowed(exactly, "FooBot", path), false, path);

  const anything = robots("User-agent: FooBot", "Disallow: /", "allow: /this/*/exactly");
  for (const path of ["/this/a/exactly", "/this//exactly", "/this/a/b/exactly/more"]) assert.equal(allowed(anything, "FooBot", path), true, path);
  for (const path of ["/this/exactly", "/that/a/exactly"]) assert.equal(allowed(anything, "FooBot", path), false, path);

  const php = robots("user-agent: FooBot", "disallow: /", "allow: /*.php$");
  for (const path of ["/filename.php", "/folder/filename.php", "/a.php.php"]) assert.equal(allowed(php, "FooBot", path), true, path);
  for (const path of ["/filename.php?parameters", "/filename.php/", "/filename.php5", "/windows.PHP"]) assert.equal(allowed(php, "FooBot", path), false, path);
  assert.equal(allowed(robots("user-agent: FooBot", "allow: /$", "disallow: /"), "FooBot", "/"), true);
  assert.equal(allowed(robots("user-agent: FooBot", "allow: /$", "disallow: /"), "FooBot", "/page.html"), false);
});

test("§2.2.3: '*' and '$' meant literally are written %2A and %24 (the RFC's table)", () => {
  const literal = robots("User-agent: FooBot", "Disallow: /path/file-with-a-%2A.html", "Disallow: /path/foo-%24", "Disallow: /price$5/");
  assert.equal(allowed(literal, "FooBot", "/path/file-with-a-*.html"), false);
  assert.equal(allowed(literal, "FooBot", "/path/file-with-a-%2A.html"), false);
  assert.equal(allowed(literal, "FooBot", "/path/file-with-a-b.html"), true, "%2A is no wildcard");
  assert.equal(allowed(literal, "FooBot", "/path/foo-$"), false);
  assert.equal(allowed(literal, "FooBot", "/path/foo-"), true, "%24 is no anchor");
  assert.equal(allowed(literal, "FooBot", "/price$5/x"), false, "a '$' before the end is literal");
});

test("§2.2.4: Sitemap, Crawl-delay and unknown lines do not end a group; only a User-agent line after a rule does", () => {
  for (const other of ["Sitemap: https://foo.bar/sitemap", "Invalid-Unknown-Line: unknown", "Crawl-delay: 3", "Host: foo.bar"]) {
    const text = robots("User-agent: BarBot", other, "User-agent: *", "Disallow: /");
    assert.equal(allowed(text, "BarBot", "/"), false, other);
    assert.equal(allowed(text, "BarBot", "/page"), false, other);
  }
  const delays = robots("User-agent: a", "Crawl-delay: 5", "User-agent: b", "Disallow: /x", "", "User-agent: c", "Disallow:", "Crawl-delay: 1", "User-agent: d");
  assert.equal(parseRobots(delays, "a").crawlDelaySeconds, 5, "Crawl-delay belongs to its group");
  assert.equal(parseRobots(delays, "b").crawlDelaySeconds, 5);
  assert.equal(parseRobots(delays, "b").allows("/x"), false);
  assert.equal(parseRobots(delays, "c").crawlDelaySeconds, 1);
  assert.equal(parseRobots(delays, "c").allows("/x"), true, "an empty Disallow still ends the agent list");
  assert.equal(parseRobots(delays, "d").crawlDelaySeconds, undefined, "d starts a new, empty group");
  const blank = robots("User-agent: a", "", "User-agent: b", "Disallow: /");
  assert.equal(allowed(blank, "a", "/x"), false, "blank lines between User-agent lines do not end the group");
});

test("§5.1: the RFC's simple example", () => {
  const text = robots(
    "User-Agent: *", "Disallow: *.gif$", "Disallow: /example/", "Allow: /publications/", "",
    "User-Agent: foobot", "Disallow:/", "Allow:/example/page.html", "Allow:/example/allowed.gif", "",
    "User-Agent: barbot", "User-Agent: bazbot", "Disallow: /example/page.html", "",
    "User-Agent: quxbot", "", "EOF",
  );
  const cases: [string, string, boolean][] = [
    ["otherbot", "/publications/a.html", true], ["otherbot", "/example/a.html", false], ["otherbot", "/images/a.gif", false],
    ["otherbot", "/publications/a.gif", true], // "/publications/" is longer than "*.gif$"
    ["otherbot", "/images/a.gif?x", true], ["otherbot", "/about", true],
    ["foobot", "/example/page.html", true], ["foobot", "/example/allowed.gif", true], ["foobot", "/example/other.html", false], ["foobot", "/about", false],
    ["barbot", "/example/page.html", false], ["bazbot", "/example/page.html", false], ["barbot", "/example/other.html", true], ["bazbot", "/a.gif", true],
    ["quxbot", "/example/page.html", true], ["quxbot", "/a.gif", true],
  ];
  for (const [agent, path, expected] of cases) assert.equal(allowed(text, agent, path), expected, `${agent} ${path}`);
});

test("§5.2: the RFC's longest-match example", () => {
  const text = robots("User-Agent: foobot", "Allow: /example/page/", "Disallow: /example/page/disallowed.gif");
  assert.equal(allowed(text, "foobot", "/example/page/disallowed.gif"), false);
  assert.equal(allowed(text, "foobot", "/example/page/allowed.gif"), true);
});

test("leniency: a User-agent value is read up to the first character a product token cannot hold", () => {
  const text = robots("User-Agent: *", "Disallow: /", "User-Agent: Foo Bar", "Allow: /x/", "Disallow: /", "User-Agent: charid/0.1", "Allow: /y/", "Disallow: /");
  assert.equal(allowed(text, "Foo", "/x/y"), true);
  assert.equal(allowed(text, "Bar", "/x/y"), false, "Bar falls back to *");
  assert.equal(allowed(text, "charid", "/y/z"), true);
  assert.equal(allowed(robots("User-agent: * # everyone", "Disallow: /"), "charid", "/x"), false);
});

test("leniency: common misspellings of User-agent and Disallow are read as meant", () => {
  for (const disallow of ["dissallow", "dissalow", "disalow", "diasllow", "disallaw", "Disalow"]) {
    assert.equal(allowed(robots("User-agent: *", `${disallow}: /private/`), "charid", "/private/x"), false, disallow);
  }
  for (const userAgent of ["useragent", "user agent", "User Agent"]) {
    const text = robots("User-agent: *", "Disallow: /private/", "", `${userAgent}: badbot`, "Disallow: /");
    assert.equal(allowed(text, "charid", "/public/x"), true, `${userAgent} starts badbot's group, not more rules for *`);
    assert.equal(allowed(text, "badbot", "/public/x"), false, userAgent);
  }
});

test("a UTF-8 byte order mark before the first line is skipped (trim drops it)", () => {
  assert.equal(allowed("\uFEFFUser-agent: *\nDisallow: /\n", "charid", "/x"), false);
});

test("a pattern of many wildcards is matched in linear time", () => {
  const text = robots("User-agent: *", `Disallow: /${"*a".repeat(30)}*b`);
  const started = Date.now();
  assert.equal(allowed(text, "charid", `/${"a".repeat(5000)}`), true);
  assert.equal(allowed(text, "charid", `/${"a".repeat(5000)}b`), false);
  assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
});
