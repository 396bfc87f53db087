// One image-search query per class: "<search term> shirt doll" by default, as the seed did.

export const DEFAULT_QUERY_TEMPLATE = "{class} shirt doll";
/** The seed left "ben" out: the name is too ambiguous for a search engine. */
export const DEFAULT_EXCLUDED = ["ben"];

export interface QueryOptions {
  /** `{class}` is replaced by the class's search term. */
  template?: string;
  /** Search term per class folder name, where the readable folder name is not a good query. */
  terms?: Record<string, string>;
  /** Classes not to search for at all (ambiguous names). */
  exclude?: readonly string[];
  /** Search results taken per class. */
  limit?: number;
}

export interface ClassQuery {
  label: string;
  term: string;
  query: string;
  limit: number;
}

export interface QueryPlan {
  queries: ClassQuery[];
  excluded: { label: string; reason: string }[];
}

/** `winnie_the_pooh` → "winnie the pooh", `SpongeBob-SquarePants` → "spongebob squarepants". */
export function readableTerm(label: string): string {
  return label
    .replace(/[_\-.]+/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase();
}

export function searchTerm(label: string, terms: Record<string, string> = {}): string {
  return terms[label] ?? readableTerm(label);
}

export function buildQueries(classes: readonly string[], options: QueryOptions = {}): QueryPlan {
  const template = options.template ?? DEFAULT_QUERY_TEMPLATE;
  if (!template.includes("{class}")) throw new Error(`query template "${template}" has no {class} placeholder`);
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`the per-class limit must be a positive whole number, got ${limit}`);
  const terms = options.terms ?? {};
  const unknown = Object.keys(terms).filter((label) => !classes.includes(label));
  if (unknown.length > 0) throw new Error(`search terms given for unknown classes: ${unknown.join(", ")}`);
  const exclude = new Set(options.exclude ?? DEFAULT_EXCLUDED);
  const plan: QueryPlan = { queries: [], excluded: [] };
  for (const label of classes) {
    if (exclude.has(label)) {
      plan.excluded.push({ label, reason: "on the exclusion list (ambiguous for a search engine)" });
      continue;
    }
    const term = searchTerm(label, terms);
    if (!term) {
      plan.excluded.push({ label, reason: "empty search term" });
      continue;
    }
    plan.queries.push({ label, term, query: template.split("{class}").join(term).replace(/\s+/g, " ").trim(), limit });
  }
  return plan;
}
