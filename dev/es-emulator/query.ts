import { parsingException } from './errors';
import type { Source } from './index-state';

/**
 * The subset of the query DSL the orchestrator and its tests use: match_all, match_none, term, terms,
 * match, ids, bool. Text is analysed like the standard analyzer does for simple input (lower-cased words);
 * a `.keyword` sub-field matches the exact string, as a dynamic mapping's keyword sub-field does.
 */
export type Query = Record<string, unknown>;

export function matches(query: Query | undefined, id: string, source: Source): boolean {
  if (query === undefined) return true;
  const entries = Object.entries(query);
  if (entries.length !== 1) throw parsingException('[_na] query malformed, must start with start_object');
  const [kind, body] = entries[0] as [string, unknown];
  switch (kind) {
    case 'match_all':
      return true;
    case 'match_none':
      return false;
    case 'term':
      return fieldQuery(body, (field, value) => termMatches(source, field, value));
    case 'terms':
      return termsMatches(body, source);
    case 'match':
      return fieldQuery(body, (field, value) => textMatches(source, field, value));
    case 'ids':
      return ((body as { values?: unknown[] }).values ?? []).map(String).includes(id);
    case 'bool':
      return boolMatches(body as Record<string, unknown>, id, source);
    default:
      throw parsingException(`unknown query [${kind}]`);
  }
}

/** The `q` URI parameter in its simplest forms: `field:value`, or words searched in every field. */
export function matchesQueryString(q: string, id: string, source: Source): boolean {
  const separator = q.indexOf(':');
  if (separator > 0)
    return matches({ match: { [q.slice(0, separator)]: q.slice(separator + 1) } }, id, source);
  const words = analyze(q);
  return leafValues(source).some((value) => analyze(String(value)).some((token) => words.includes(token)));
}

function fieldQuery(body: unknown, test: (field: string, value: unknown) => boolean): boolean {
  const entries = Object.entries((body ?? {}) as Record<string, unknown>);
  const [field, spec] = entries[0] ?? [];
  if (field === undefined) throw parsingException('query malformed, no field after start_object');
  const value =
    spec !== null && typeof spec === 'object' && 'value' in spec ? (spec as { value: unknown }).value : spec;
  const queryText =
    spec !== null && typeof spec === 'object' && 'query' in spec ? (spec as { query: unknown }).query : value;
  return test(field, queryText);
}

function termsMatches(body: unknown, source: Source): boolean {
  const entries = Object.entries((body ?? {}) as Record<string, unknown>).filter(([key]) => key !== 'boost');
  const [field, values] = entries[0] ?? [];
  if (field === undefined || !Array.isArray(values))
    throw parsingException('[terms] query malformed, no field');
  return values.some((value) => termMatches(source, field, value));
}

function boolMatches(body: Record<string, unknown>, id: string, source: Source): boolean {
  const clauses = (key: string): Query[] => {
    const value = body[key];
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]) as Query[];
  };
  const must = [...clauses('must'), ...clauses('filter')];
  const should = clauses('should');
  if (!must.every((q) => matches(q, id, source))) return false;
  if (clauses('must_not').some((q) => matches(q, id, source))) return false;
  const minimumShould = body.minimum_should_match ?? (must.length === 0 && should.length > 0 ? 1 : 0);
  return should.filter((q) => matches(q, id, source)).length >= Number(minimumShould);
}

/** A term query is not analysed: it matches an exact keyword value or one token of an analysed text value. */
function termMatches(source: Source, field: string, value: unknown): boolean {
  if (field.endsWith('.keyword')) {
    return valuesAt(source, field.slice(0, -'.keyword'.length)).some(
      (v) => typeof v === 'string' && v === value,
    );
  }
  return valuesAt(source, field).some((v) => {
    if (typeof v === 'string') return typeof value === 'string' && analyze(v).includes(value);
    return v === value || String(v) === String(value);
  });
}

function textMatches(source: Source, field: string, value: unknown): boolean {
  if (field.endsWith('.keyword')) return termMatches(source, field, value);
  const wanted = analyze(String(value));
  return valuesAt(source, field).some((v) => {
    if (typeof v === 'string') return analyze(v).some((token) => wanted.includes(token));
    return String(v) === String(value);
  });
}

function analyze(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}_]+/u)
    .filter((token) => token !== '');
}

function valuesAt(source: Source, path: string): unknown[] {
  let current: unknown[] = [source];
  for (const part of path.split('.')) {
    const next: unknown[] = [];
    for (const value of current) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const child = (value as Record<string, unknown>)[part];
        if (Array.isArray(child)) next.push(...child);
        else if (child !== undefined) next.push(child);
      }
    }
    current = next;
  }
  return current;
}

function leafValues(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(leafValues);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(leafValues);
  return value === null || value === undefined ? [] : [value];
}
