import { MAX_TEXT_BYTES } from './text-limits';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';

/**
 * Signed answers to the questions of a run (approve, reject, retry, abort, discard): the text that is signed, the
 * allowed_signers entries of a runbook, and the check of an SSH signature (SSHSIG, OpenSSH's PROTOCOL.sshsig) made
 * with `ssh-keygen -Y sign -n drctl-approval`.
 *
 * Pure and deterministic: it runs inside the workflow sandbox (in update validators), which has no Node APIs, no
 * Buffer, atob or crypto; bytes made by the sandbox's TextEncoder come from another realm, so nothing here relies on
 * `instanceof Uint8Array`. Ed25519 and SHA-2 are @noble's pure JavaScript. Only ssh-ed25519 keys are supported.
 */

/** The SSHSIG namespace of drctl's answers: a signature made for anything else (git, file) is refused. */
export const APPROVAL_NAMESPACE = 'drctl-approval';

/** The answers a human gives to a question of a run. */
export const ANSWER_DECISIONS = ['approve', 'reject', 'retry', 'abort', 'discard'] as const;
export type AnswerDecision = (typeof ANSWER_DECISIONS)[number];

/** An armored signature longer than this is refused unread (an Ed25519 one is about 300 characters). */
export const MAX_ARMOR_CHARS = 4096;
/** How far in the future a signature's time may be (the signer's clock ahead of the worker's). */
export const MAX_FUTURE_SKEW_MS = 2 * 60_000;

/** One entry of an allowed_signers file (`man ssh-keygen`, ALLOWED SIGNERS), ssh-ed25519 keys only. */
export interface AllowedSigner {
  /** The principal patterns (`*`, `?`, `!negation`, as ssh patterns) the key may sign as. */
  principals: string[];
  keyType: 'ssh-ed25519';
  /** Base64 of the SSH public key blob, as in the allowed_signers line. */
  publicKey: string;
  /** The namespace patterns the key may sign in (absent: any). */
  namespaces?: string[];
  /** ISO 8601 (UTC): the key is valid from then on. */
  validAfter?: string;
  /** ISO 8601 (UTC): the key is valid until then. */
  validBefore?: string;
}

/** What an answer's signature covers. */
export interface SignedFields {
  workflowId: string;
  runId: string;
  questionId: string;
  decision: AnswerDecision;
  by: string;
  reason: string;
  /** ISO 8601 UTC as `Date.toISOString()` writes it, e.g. "2026-12-07T13:00:00.000Z". */
  signedAt: string;
}

export type VerifyResult = { ok: true; principal: string } | { ok: false; why: string };

// ---------------------------------------------------------------------------------------------------------------
// The signed text

const FIELD_ORDER = ['workflowId', 'runId', 'questionId', 'decision', 'by', 'reason', 'signedAt'] as const;

/**
 * The canonical text an answer's signature covers, version 1: the line `drctl-approval v1`, then one line per field in
 * this fixed order — workflowId, runId, questionId, decision, by, reason, signedAt — each `name=` followed by the value
 * as a JSON string, every line ending with "\n". JSON quoting makes it unambiguous: a reason holding newlines, quotes,
 * `=` or a field name cannot pass for another field. The version line lets a later format never be confused with this.
 */
export function approvalMessage(fields: SignedFields): string {
  return ['drctl-approval v1', ...FIELD_ORDER.map((f) => `${f}=${JSON.stringify(fields[f])}`)]
    .map((line) => `${line}\n`)
    .join('');
}

// ---------------------------------------------------------------------------------------------------------------
// Bytes

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Map([...BASE64].map((c, i) => [c, i]));

/** Decodes standard padded base64 (RFC 4648 §4), or undefined when it is not that. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const c of text) {
    if (c === '=') break;
    value = (value << 6) | BASE64_VALUE.get(c)!;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

/** UTF-8 bytes of `text`, as a Uint8Array of this realm. */
export function utf8(text: string): Uint8Array {
  return Uint8Array.from(new TextEncoder().encode(text));
}

const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An SSH `string` (RFC 4251 §5): uint32 big-endian length, then the bytes. */
function sshString(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  return concat([Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff), bytes]);
}

/** Reads the SSH wire encoding; every read returns undefined past the end. */
class SshReader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  raw(length: number): Uint8Array | undefined {
    if (this.at + length > this.bytes.length) return undefined;
    const out = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  uint32(): number | undefined {
    const b = this.raw(4);
    return b && ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }

  string(): Uint8Array | undefined {
    const length = this.uint32();
    return length === undefined ? undefined : this.raw(length);
  }

  get done(): boolean {
    return this.at === this.bytes.length;
  }
}

/** The 32-byte Ed25519 key of an ssh-ed25519 public key blob, or undefined when the blob is not one. */
function ed25519KeyOfBlob(blob: Uint8Array): Uint8Array | undefined {
  const r = new SshReader(blob);
  const type = r.string();
  const key = r.string();
  if (!type || latin1(type) !== 'ssh-ed25519' || key?.length !== 32 || !r.done) return undefined;
  return key;
}

/** A value from a signature, quoted and cut short, safe to put in a sentence. */
const quoted = (bytes: Uint8Array) => JSON.stringify(latin1(bytes.subarray(0, 40)));

// ---------------------------------------------------------------------------------------------------------------
// SSHSIG

const ARMOR_BEGIN = '-----BEGIN SSH SIGNATURE-----';
const ARMOR_END = '-----END SSH SIGNATURE-----';
const MAGIC = utf8('SSHSIG');
const HASHES = { sha512, sha256 } as const;

export type SshSignatureResult =
  { ok: true; publicKeyBlob: Uint8Array; hashAlgorithm: keyof typeof HASHES } | { ok: false; why: string };

/**
 * Checks an armored SSH signature (`ssh-keygen -Y sign`) over `message` in `namespace`, whoever made it: the armor
 * (line breaks and surrounding whitespace ignored), the magic, version 1, the namespace, a sha512 or sha256 hash, an
 * ssh-ed25519 key, then the Ed25519 signature (strict RFC 8032, not ZIP-215) over the SSHSIG signed data. Says which
 * key signed; whether that key may sign is the caller's business. Never throws.
 */
export function verifySshSignature(
  armored: string,
  message: Uint8Array,
  namespace: string,
): SshSignatureResult {
  try {
    return checkSshSignature(armored, message, namespace);
  } catch {
    return { ok: false, why: 'the signature could not be checked (malformed input).' };
  }
}

function checkSshSignature(armored: string, message: Uint8Array, namespace: string): SshSignatureResult {
  const parsed = parseSshSignature(armored);
  if ('why' in parsed) return { ok: false, why: parsed.why };
  if (latin1(parsed.namespace) !== namespace)
    return {
      ok: false,
      why: `the signature was made for the namespace ${quoted(parsed.namespace)}, not "${namespace}" (sign with ssh-keygen -Y sign -n ${namespace}).`,
    };
  const signedData = sshSignedData(parsed.namespace, parsed.reserved, parsed.hashAlgorithm, message);
  if (!ed25519Verifies(parsed.signature, signedData, parsed.publicKey))
    return {
      ok: false,
      why: 'the signature does not match what was signed: the answer (its question, decision, reason, signer or time) differs from the signed one, or the signature is corrupt.',
    };
  return { ok: true, publicKeyBlob: parsed.publicKeyBlob, hashAlgorithm: parsed.hashAlgorithm };
}

/**
 * What an SSHSIG signature signs (PROTOCOL.sshsig): "SSHSIG", then as SSH strings the namespace, the reserved field,
 * the hash algorithm's name and the hash of the message. Unlike the signature blob, it holds no version and no key.
 */
export function sshSignedData(
  namespace: Uint8Array,
  reserved: Uint8Array,
  hashAlgorithm: keyof typeof HASHES,
  message: Uint8Array,
): Uint8Array {
  return concat([
    MAGIC,
    sshString(namespace),
    sshString(reserved),
    sshString(utf8(hashAlgorithm)),
    sshString(HASHES[hashAlgorithm](Uint8Array.from(message))),
  ]);
}

/** Strict RFC 8032 (zip215: false, as OpenSSH); a point that does not decode is a bad signature, not an error. */
function ed25519Verifies(signature: Uint8Array, data: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, data, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

interface ParsedSignature {
  publicKeyBlob: Uint8Array;
  publicKey: Uint8Array;
  namespace: Uint8Array;
  reserved: Uint8Array;
  hashAlgorithm: keyof typeof HASHES;
  signature: Uint8Array;
}

function parseSshSignature(armored: string): ParsedSignature | { why: string } {
  if (typeof armored !== 'string' || armored.trim() === '')
    return { why: 'the answer carries no signature.' };
  if (armored.length > MAX_ARMOR_CHARS)
    return { why: `the signature is longer than ${MAX_ARMOR_CHARS} characters: not read.` };
  const text = armored.trim();
  if (!text.startsWith(ARMOR_BEGIN) || !text.endsWith(ARMOR_END))
    return {
      why: `the signature is not an armored SSH signature (from "${ARMOR_BEGIN}" to "${ARMOR_END}", as ssh-keygen -Y sign writes it).`,
    };
  const blob = decodeBase64(text.slice(ARMOR_BEGIN.length, -ARMOR_END.length).replace(/\s+/g, ''));
  if (!blob) return { why: 'the signature between its armor lines is not valid base64.' };
  const r = new SshReader(blob);
  const malformed = { why: 'the signature is truncated or malformed (not an SSHSIG blob).' };
  const magic = r.raw(MAGIC.length);
  if (!magic || !sameBytes(magic, MAGIC)) return malformed;
  const version = r.uint32();
  if (version === undefined) return malformed;
  if (version !== 1)
    return { why: `the signature has SSHSIG version ${version}; only version 1 is supported.` };
  const publicKeyBlob = r.string();
  const namespace = r.string();
  const reserved = r.string();
  const hashAlgorithm = r.string();
  const signatureBlob = r.string();
  if (!publicKeyBlob || !namespace || !reserved || !hashAlgorithm || !signatureBlob || !r.done)
    return malformed;
  const hashName = latin1(hashAlgorithm);
  if (hashName !== 'sha512' && hashName !== 'sha256')
    return {
      why: `the signature hashes with ${quoted(hashAlgorithm)}; only sha512 and sha256 are accepted.`,
    };
  const keyType = new SshReader(publicKeyBlob).string();
  const publicKey = ed25519KeyOfBlob(publicKeyBlob);
  if (!publicKey)
    return {
      why: `the signature was made with ${keyType ? `a ${quoted(keyType)} key` : 'a malformed key'}; only ssh-ed25519 keys are accepted.`,
    };
  const s = new SshReader(signatureBlob);
  const signatureType = s.string();
  const signature = s.string();
  if (!signatureType || latin1(signatureType) !== 'ssh-ed25519' || signature?.length !== 64 || !s.done)
    return { why: 'the signature is not an ssh-ed25519 signature of 64 bytes.' };
  return { publicKeyBlob, publicKey, namespace, reserved, hashAlgorithm: hashName, signature };
}

// ---------------------------------------------------------------------------------------------------------------
// Answers

export interface VerifyOptions {
  /** A signature whose signedAt is older than this (before nowMs) is refused; absent: no age limit. */
  maxAgeMs?: number;
}

/**
 * Checks that `armored` is an SSH signature, in the namespace drctl-approval, over `approvalMessage(fields)`, by a key
 * that an entry of `signers` allows for `fields.by` (its principals match, its namespaces allow drctl-approval, its
 * validity window holds `nowMs`). With `maxAgeMs`, `signedAt` must be at most that old, and not more than
 * MAX_FUTURE_SKEW_MS ahead of `nowMs`. The sentence of a refusal never names or lists the allowed signers or keys.
 * Never throws.
 */
export function verifyApprovalSignature(
  armored: string,
  fields: SignedFields,
  signers: AllowedSigner[],
  nowMs: number,
  options: VerifyOptions = {},
): VerifyResult {
  try {
    const bad = fieldsProblem(fields) ?? ageProblem(fields.signedAt, nowMs, options.maxAgeMs);
    if (bad) return { ok: false, why: bad };
    const checked = verifySshSignature(armored, utf8(approvalMessage(fields)), APPROVAL_NAMESPACE);
    if (!checked.ok) return checked;
    return signerAllows(signers, checked.publicKeyBlob, fields.by, nowMs);
  } catch {
    return { ok: false, why: 'the signature could not be checked (malformed input).' };
  }
}

const MAX_FIELD_CHARS = 256;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function fieldsProblem(fields: SignedFields): string | undefined {
  if (typeof fields !== 'object' || fields === null) return 'the answer is not an object.';
  for (const f of FIELD_ORDER) {
    if (typeof fields[f] !== 'string' || fields[f] === '')
      return `the answer's ${f} is missing or not a string.`;
    if (f !== 'reason' && fields[f].length > MAX_FIELD_CHARS)
      return `the answer's ${f} is longer than ${MAX_FIELD_CHARS} characters.`;
  }
  if (!(ANSWER_DECISIONS as readonly string[]).includes(fields.decision))
    return `the decision must be one of ${ANSWER_DECISIONS.join(', ')}.`;
  if (utf8(fields.reason).length > MAX_TEXT_BYTES)
    return `the reason is longer than ${MAX_TEXT_BYTES} bytes.`;
  if (!ISO_UTC.test(fields.signedAt) || Number.isNaN(Date.parse(fields.signedAt)))
    return 'signedAt must be an ISO 8601 UTC time such as 2026-12-07T13:00:00.000Z.';
  return undefined;
}

function ageProblem(signedAt: string, nowMs: number, maxAgeMs: number | undefined): string | undefined {
  if (maxAgeMs === undefined) return undefined;
  const at = Date.parse(signedAt);
  if (at > nowMs + MAX_FUTURE_SKEW_MS)
    return `the answer was signed at ${signedAt}, ahead of the run's clock (${new Date(nowMs).toISOString()}): check the signer's clock.`;
  if (nowMs - at > maxAgeMs)
    return `the answer was signed at ${signedAt}, more than ${Math.round(maxAgeMs / 1000)} s ago (the runbook's approval.signatureMaxAge): sign it again.`;
  return undefined;
}

/** Whether an entry of `signers` allows the key `publicKeyBlob` to sign drctl answers as `by` at `nowMs`. */
function signerAllows(
  signers: AllowedSigner[],
  publicKeyBlob: Uint8Array,
  by: string,
  nowMs: number,
): VerifyResult {
  const notAllowed: VerifyResult = {
    ok: false,
    why: `the signature is not from a key the runbook allows for ${JSON.stringify(by)}.`,
  };
  const entries = (Array.isArray(signers) ? signers : []).filter((s) => {
    const key = typeof s?.publicKey === 'string' ? decodeBase64(s.publicKey) : undefined;
    return key !== undefined && sameBytes(key, publicKeyBlob) && matchPatternList(by, s.principals ?? []);
  });
  if (entries.length === 0) return notAllowed;
  const inNamespace = entries.filter(
    (s) => !s.namespaces || matchPatternList(APPROVAL_NAMESPACE, s.namespaces),
  );
  if (inNamespace.length === 0)
    return {
      ok: false,
      why: `the runbook's entry for ${JSON.stringify(by)} does not allow its key to sign in the namespace ${APPROVAL_NAMESPACE} (its namespaces option).`,
    };
  const valid = inNamespace.find((s) => windowProblem(s, nowMs) === undefined);
  if (!valid)
    return {
      ok: false,
      why: `the runbook's entry for ${JSON.stringify(by)} ${windowProblem(inNamespace[0]!, nowMs)}.`,
    };
  return { ok: true, principal: by };
}

function windowProblem(signer: AllowedSigner, nowMs: number): string | undefined {
  if (signer.validAfter !== undefined && nowMs < Date.parse(signer.validAfter))
    return `is not valid before ${signer.validAfter}`;
  if (signer.validBefore !== undefined && nowMs > Date.parse(signer.validBefore))
    return `expired at ${signer.validBefore}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Patterns (OpenSSH match.c)

/** `*` any run of characters, `?` any one character, everything else itself (case-sensitive). */
export function matchPattern(text: string, pattern: string): boolean {
  const s = [...text];
  const p = [...pattern];
  let i = 0;
  let j = 0;
  let star = -1;
  let resume = 0;
  while (i < s.length) {
    if (j < p.length && (p[j] === '?' || (p[j] !== '*' && p[j] === s[i]))) {
      i++;
      j++;
    } else if (j < p.length && p[j] === '*') {
      star = j++;
      resume = i;
    } else if (star >= 0) {
      j = star + 1;
      i = ++resume;
    } else return false;
  }
  while (j < p.length && p[j] === '*') j++;
  return j === p.length;
}

/**
 * A pattern list as ssh reads one (match_pattern_list): `text` matches when it matches one of the patterns and none
 * of the negated ones (`!pattern`).
 */
export function matchPatternList(text: string, patterns: string[]): boolean {
  let positive = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    if (matchPattern(text, negated ? pattern.slice(1) : pattern)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

// ---------------------------------------------------------------------------------------------------------------
// allowed_signers

/**
 * Reads an allowed_signers file (`man ssh-keygen`, ALLOWED SIGNERS): one entry per line,
 * `principals [options] ssh-ed25519 base64 [comment]`; blank lines and `#` lines are skipped. `principals` is a
 * comma-separated pattern list (quoted when it holds spaces). Options, comma-separated, names in any case, values in
 * double quotes as ssh-keygen requires: `namespaces="pattern,…"`, `valid-after="…"`, `valid-before="…"`, the times
 * YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]. Unlike ssh-keygen, which reads a time without Z in the local time zone, a time
 * without Z is read as UTC: the worker's time zone must not change who may sign. Only ssh-ed25519 keys are supported;
 * another key type, `cert-authority` or a key that does not parse is refused. Throws an Error naming `source:line`.
 */
export function parseAllowedSigners(text: string, source: string): AllowedSigner[] {
  const signers: AllowedSigner[] = [];
  text.split('\n').forEach((line, i) => {
    try {
      const signer = parseAllowedSignersLine(line);
      if (signer) signers.push(signer);
    } catch (err) {
      throw new Error(`${source}:${i + 1}: ${(err as Error).message}`, { cause: err });
    }
  });
  return signers;
}

/** One allowed_signers line (see parseAllowedSigners); undefined for a blank or comment line. Throws a sentence. */
export function parseAllowedSignersLine(line: string): AllowedSigner | undefined {
  const rest = line.replace(/\r$/, '').trim();
  if (rest === '' || rest.startsWith('#')) return undefined;
  const [principalsField, afterPrincipals] = nextToken(rest);
  if (!principalsField || principalsField === '' || afterPrincipals === '')
    throw new Error('expected "principals [options] ssh-ed25519 AAAA…", found only one word');
  let [token, after] = nextToken(afterPrincipals);
  let options: SignerOptions = {};
  if (!looksLikeKeyType(token)) {
    options = parseOptions(token);
    [token, after] = nextToken(after);
  }
  if (token === '') throw new Error('the key is missing after the principals and options');
  if (token !== 'ssh-ed25519')
    throw new Error(
      `the key type is "${token.slice(0, 40)}": only ssh-ed25519 keys can sign drctl answers (make one with ssh-keygen -t ed25519)`,
    );
  const [base64] = nextToken(after);
  const blob = decodeBase64(base64);
  if (!blob || !ed25519KeyOfBlob(blob))
    throw new Error('the ssh-ed25519 key does not parse (truncated or mistyped base64?)');
  const principals = principalsField.split(',');
  if (principals.some((p) => p === '' || p === '!'))
    throw new Error(`the principals "${principalsField}" hold an empty name`);
  return { principals, keyType: 'ssh-ed25519', publicKey: base64, ...options };
}

type SignerOptions = Pick<AllowedSigner, 'namespaces' | 'validAfter' | 'validBefore'>;

/** The next whitespace-delimited token (a double-quoted one may hold spaces; its quotes are removed), and the rest. */
function nextToken(text: string): [string, string] {
  const s = text.trimStart();
  if (s.startsWith('"')) {
    const end = s.indexOf('"', 1);
    if (end < 0) throw new Error('a quoted field has no closing quote');
    if (end + 1 < s.length && !/\s/.test(s[end + 1]!))
      throw new Error('a closing quote is not followed by a space');
    return [s.slice(1, end), s.slice(end + 1).trimStart()];
  }
  // Options may hold quoted values with spaces: `namespaces="a b"` stays one token.
  let inQuotes = false;
  let i = 0;
  for (; i < s.length; i++) {
    if (s[i] === '"') inQuotes = !inQuotes;
    else if (!inQuotes && /\s/.test(s[i]!)) break;
  }
  if (inQuotes) throw new Error('a quoted option value has no closing quote');
  return [s.slice(0, i), s.slice(i).trimStart()];
}

const looksLikeKeyType = (token: string) =>
  /^(ssh-|ecdsa-|sk-|rsa-)/.test(token) || token.endsWith('@openssh.com');

function parseOptions(text: string): SignerOptions {
  const options: SignerOptions = {};
  let rest = text;
  while (rest !== '') {
    const match = /^([A-Za-z-]+)(?:=("[^"]*"|[^,]*))?(?:,|$)/.exec(rest);
    if (!match) throw new Error(`cannot read the options "${text.slice(0, 80)}"`);
    rest = rest.slice(match[0].length);
    const name = match[1]!.toLowerCase();
    if (name === 'cert-authority')
      throw new Error(
        "cert-authority (trusting certificates signed by a CA) is not supported: list each approver's own ssh-ed25519 key",
      );
    const field = OPTION_FIELDS.get(name);
    if (!field)
      throw new Error(`unknown option "${match[1]}" (known: namespaces, valid-after, valid-before)`);
    const value = match[2];
    if (value === undefined || !value.startsWith('"'))
      throw new Error(
        `the option ${name} needs a value in double quotes, e.g. ${name}="${field === 'namespaces' ? APPROVAL_NAMESPACE : '20270101Z'}"`,
      );
    if (options[field] !== undefined) throw new Error(`the option ${name} is given twice`);
    const unquoted = value.slice(1, -1);
    if (field === 'namespaces') options.namespaces = unquoted.split(',');
    else options[field] = signerTime(unquoted, name);
  }
  if (options.validAfter && options.validBefore && options.validBefore <= options.validAfter)
    throw new Error('valid-before is not after valid-after');
  return options;
}

const OPTION_FIELDS = new Map<string, keyof SignerOptions>([
  ['namespaces', 'namespaces'],
  ['valid-after', 'validAfter'],
  ['valid-before', 'validBefore'],
]);

/** YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z] (or a UTC suffix), read as UTC, to ISO 8601. */
function signerTime(value: string, option: string): string {
  const match = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(?:[Zz]|UTC|utc)?$/.exec(value);
  const bad = new Error(`the option ${option}="${value}" is not a time YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]`);
  if (!match) throw bad;
  const [y, mo, d, h = 0, mi = 0, s = 0] = match
    .slice(1)
    .map((v) => (v === undefined ? undefined : Number(v)));
  const ms = Date.UTC(y!, mo! - 1, d!, h, mi, s);
  const date = new Date(ms);
  if (
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== mo! - 1 ||
    date.getUTCDate() !== d ||
    date.getUTCHours() !== h ||
    date.getUTCMinutes() !== mi ||
    date.getUTCSeconds() !== s
  )
    throw bad;
  return date.toISOString();
}
