// robots.txt as RFC 9309 reads it: the group for our product token (else "*"), longest matching
// rule wins, Allow wins a tie, "*" and "$" in patterns. Crawl-delay (not in the RFC, widely used)
// is honoured as a minimum gap between requests to the host.

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
  pattern: string;
  regex: RegExp;
}

interface Group {
  agents: string[];
  rules: Rule[];
  crawlDelay?: number;
}

function patternToRegex(pattern: string): RegExp {
  const anchored = pattern.endsWith("$");
  const body = (anchored ? pattern.slice(0, -1) : pattern)
    .split("*")
    .map((part) => normalisePath(part).replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}${anchored ? "$" : ""}`);
}

/** Percent-encodes what needs it and upper-cases escapes, so "/a%7e" and "/a~" compare alike. */
function normalisePath(path: string): string {
  return path.replace(/%[0-9a-f]{2}/gi, (e) => {
    const c = String.fromCharCode(parseInt(e.slice(1), 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : e.toUpperCase();
  });
}

function parseGroups(text: string): Group[] {
  const groups: Group[] = [];
  let current: Group | undefined;
  let lastWasAgent = false;
  for (const rawLine of text.split(/\r?\n|\r/)) {
    const line = rawLine.replace(/#.*$/, "").trim();
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "user-agent") {
      if (!current || !lastWasAgent) groups.push((current = { agents: [], rules: [] }));
      current.agents.push(value.toLowerCase());
      lastWasAgent = true;
      continue;
    }
    lastWasAgent = false;
    if (!current) continue;
    if ((key === "allow" || key === "disallow") && value) {
      current.rules.push({ allow: key === "allow", pattern: value, regex: patternToRegex(value) });
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
      const path = normalisePath(pathAndQuery);
      let best: Rule | undefined;
      for (const rule of rules) {
        if (!rule.regex.test(path)) continue;
        const longer = !best || rule.pattern.length > best.pattern.length;
        if (longer || (rule.pattern.length === best!.pattern.length && rule.allow)) best = rule;
      }
      return best?.allow ?? true;
    },
  };
}

export const ALLOW_ALL = (source: string): RobotsRules => ({ source, allows: () => true });
export const DISALLOW_ALL = (source: string): RobotsRules => ({ source, allows: (p) => p === "/robots.txt" });
