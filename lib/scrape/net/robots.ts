// robots.txt as RFC 9309 reads it: the groups naming our product token (else "*"), longest
// matching rule wins, Allow wins a tie, "*" and "$" in patterns, paths compared in one
// percent-encoding. Crawl-delay (not in the RFC, widely used) is honoured as a minimum gap between
// requests to the host.

export interface RobotsRules {
  /** Whether a path (with its query) may be fetched. */
  allows(pathAndQuery: string): boolean;
  /** Seconds between requests the site asks for, when it does. */
  crawlDelaySeconds?: number;
  /** What the rules came from, for messages. */
  source: string;
}

interface Rule {
  allow: boolean;
  /** The pattern's literal pieces, in canonical encoding, that its "*"s separate. */
  pieces: string[];
  /** The pattern ended in "$": the path must end where the pattern does. */
  anchored: boolean;
  /** Octets in the canonical pattern: the longest matching rule wins (§2.2.2). */
  length: number;
}

interface Group {
  agents: string[];
  rules: Rule[];
  crawlDelay?: number;
}

/** Misspelt record names that real files use, read as meant (§2.2.4 lets crawlers accept them). */
const MISSPELLINGS: Record<string, string> = {
  useragent: "user-agent",
  "user agent": "user-agent",
  dissallow: "disallow",
  dissalow: "disallow",
  disalow: "disallow",
  diasllow: "disallow",
  disallaw: "disallow",
};

const percentEncode = (chars: string): string =>
  Array.from(new TextEncoder().encode(chars), (octet) => `%${octet.toString(16).toUpperCase().padStart(2, "0")}`).join("");

/**
 * One encoding for rules and URIs (§2.2.2): octets outside ASCII percent-encoded as UTF-8, escapes
 * upper-cased, escaped unreserved characters decoded; so "/ツ", "/%e3%83%84" and "/%E3%83%84"
 * compare alike, as do "/%7Euser" and "/~user". Reserved characters stay as written.
 */
function canonical(text: string): string {
  return text.replace(/[^\x00-\x7f]+/g, percentEncode).replace(/%[0-9a-f]{2}/gi, (escape) => {
    const char = String.fromCharCode(parseInt(escape.slice(1), 16));
    return /[A-Za-z0-9\-._~]/.test(char) ? char : escape.toUpperCase();
  });
}

function parseRule(allow: boolean, pattern: string): Rule {
  const anchored = pattern.endsWith("$");
  // A "$" anywhere else is literal, as "*" and "$" in a URI are: "%24" and "%2A" in both (§2.2.3).
  const pieces = (anchored ? pattern.slice(0, -1) : pattern).split("*").map((piece) => canonical(piece.replace(/\$/g, percentEncode)));
  return { allow, pieces, anchored, length: pieces.join("*").length + (anchored ? 1 : 0) };
}

/** Pieces in order from the path's start, leftmost first: linear time, whatever the "*"s. */
function matches(rule: Rule, path: string): boolean {
  if (!path.startsWith(rule.pieces[0])) return false;
  let at = rule.pieces[0].length;
  for (const piece of rule.pieces.slice(1)) {
    const found = path.indexOf(piece, at);
    if (found < 0) return false;
    at = found + piece.length;
  }
  if (!rule.anchored) return true;
  // After a "*" the last piece may sit anywhere from where it was found, so also at the very end.
  return rule.pieces.length === 1 ? at === path.length : path.endsWith(rule.pieces[rule.pieces.length - 1]);
}

/** The product token a User-agent line names: "*", else its leading letters, "_" and "-" ("Foo/1.0", "Foo Bar": "foo"). */
function namedAgent(value: string): string {
  return /^\*(\s|$)/.test(value) ? "*" : /^[A-Za-z_-]*/.exec(value)![0].toLowerCase();
}

/** Groups as §2.2 defines them: User-agent lines then rules; only a User-agent line after a rule starts the next. */
function parseGroups(text: string): Group[] {
  const groups: Group[] = [];
  let current: Group | undefined;
  let ruleSeen = false;
  for (const rawLine of text.split(/\r\n|\r|\n/)) {
    const line = rawLine.replace(/#.*$/, "");
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const key = MISSPELLINGS[name] ?? name;
    const value = line.slice(colon + 1).trim();
    if (key === "user-agent") {
      if (!current || ruleSeen) groups.push((current = { agents: [], rules: [] }));
      current.agents.push(namedAgent(value));
      ruleSeen = false;
    } else if (!current) {
      continue; // rules before the first User-agent line belong to no group
    } else if (key === "allow" || key === "disallow") {
      ruleSeen = true;
      if (value) current.rules.push(parseRule(key === "allow", value));
    } else if (key === "crawl-delay" && Number.isFinite(Number(value))) {
      current.crawlDelay = Number(value);
    }
  }
  return groups;
}

export function parseRobots(text: string, productToken: string, source = "robots.txt"): RobotsRules {
  const groups = parseGroups(text);
  const token = productToken.toLowerCase();
  let chosen = groups.filter((g) => g.agents.includes(token));
  if (chosen.length === 0) chosen = groups.filter((g) => g.agents.includes("*"));
  const rules = chosen.flatMap((g) => g.rules);
  const delays = chosen.map((g) => g.crawlDelay).filter((d): d is number => d !== undefined);
  return {
    source,
    crawlDelaySeconds: delays.length ? Math.max(...delays) : undefined,
    allows(pathAndQuery) {
      if (pathAndQuery === "/robots.txt") return true;
      const path = canonical(pathAndQuery.replace(/[*$]/g, percentEncode));
      let best: Rule | undefined;
      for (const rule of rules) {
        if (!matches(rule, path)) continue;
        if (!best || rule.length > best.length || (rule.length === best.length && rule.allow)) best = rule;
      }
      return best?.allow ?? true;
    },
  };
}

export const ALLOW_ALL = (source: string): RobotsRules => ({ source, allows: () => true });
export const DISALLOW_ALL = (source: string): RobotsRules => ({ source, allows: (p) => p === "/robots.txt" });
