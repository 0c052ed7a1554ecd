import { utf8Tail } from './text';

/**
 * Replaces every occurrence of each secret by "***", also in the escaped form it takes inside an SQL string
 * literal, so that no message, log line or failure carries a secret whichever layer quoted it.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, secret.replace(/\\/g, '\\\\').replace(/'/g, "\\'")])) {
      out = out.split(form).join('***');
    }
  }
  return out;
}

/** A name that says its value is a secret: PASSWORD, db_pass, API_TOKEN, x-api-key, secret… */
const SECRET_NAME = String.raw`[A-Za-z0-9_.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth(?:orization)?)[A-Za-z0-9_.-]*`;
/** A value: quoted, or up to a blank or a shell separator; an authorization scheme's name is left to the next form. */
const VALUE = String.raw`(?!(?:Bearer|Basic)\s)("[^"\n]*"|'[^'\n]*'|[^\s"',;&|]+)`;

/** Forms in which a secret travels in a command line or in a program's output; the last group is the value. */
const SECRET_FORMS: readonly RegExp[] = [
  // NAME=value, name: value, --password=value (an option's dashes are part of the name)
  new RegExp(String.raw`(\b${SECRET_NAME}\s*[=:]\s*)${VALUE}`, 'gi'),
  // --password value, --token value
  new RegExp(String.raw`(--${SECRET_NAME}\s+)${VALUE}`, 'gi'),
  // Authorization: Bearer …, Basic …
  /(\b(?:Bearer|Basic)\s+)([A-Za-z0-9._~+/=-]+)/g,
  // scheme://user:password@host
  /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)(?=@)/gi,
];

/** Values that are too short to be told apart from ordinary words are not treated as secrets. */
const MIN_SECRET_LENGTH = 4;

/**
 * The values a command line gives to secret-looking names (`API_TOKEN=…`, `--password=…`, `https://u:…@`), so that
 * the command's own output can be scrubbed of them even where it prints them bare.
 */
export function secretsIn(text: string): string[] {
  const found = new Set<string>();
  for (const form of SECRET_FORMS)
    for (const match of text.matchAll(form)) {
      const value = match[match.length - 1]!.replace(/^(["'])(.*)\1$/, '$2');
      if (value.length >= MIN_SECRET_LENGTH && value !== '***') found.add(value);
    }
  return [...found];
}

/** Control characters but tab and newline: a remote program's output must not drive a terminal or fake a log line. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Output of a program or a server outside the worker, made fit for a result, a failure or a log: each of `secrets`
 * replaced by "***", so is the value of every secret-looking assignment (`password=…`, `Bearer …`, a URL's
 * password), control characters dropped, and at most the last `limitBytes` bytes kept.
 */
export function scrubOutput(text: string, secrets: readonly string[], limitBytes: number): string {
  let out = redact(
    text.replace(CONTROL, ''),
    [...secrets].sort((a, b) => b.length - a.length),
  );
  for (const form of SECRET_FORMS) out = out.replace(form, (...m: string[]) => `${m[1]}***`);
  return utf8Tail(out, limitBytes);
}

/**
 * A server's error message without the values it quotes: MySQL and MariaDB print a row's values inside quotes
 * ("Duplicate entry '…' for key …", "Incorrect integer value: '…'"), and a value may itself hold a quote, so
 * everything from the first quote on is left out. Identifiers in backticks stay (they are no row data).
 */
export function withoutQuotedValues(message: string): string {
  const first = message.search(/['"]/);
  return first < 0 ? message : `${message.slice(0, first).trimEnd()} …`;
}
