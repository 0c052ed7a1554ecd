import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVAL_NAMESPACE,
  approvalMessage,
  matchPatternList,
  MAX_ARMOR_CHARS,
  parseAllowedSigners,
  sshSignedData,
  utf8,
  verifyApprovalSignature,
  verifySshSignature,
  type AllowedSigner,
  type SignedFields,
} from '../common/approval-signature';
import {
  generateKey,
  sshKeygenSign,
  sshKeygenVerifies,
  TEST_APPROVER,
  writeTestApproverKey,
} from './helpers/approver';

/** The published SSHSIG test vector (a throwaway key): a message of another format, signed in drctl-approval. */
const VECTOR = {
  allowedSigners: `approver@drctl.test namespaces="drctl-approval" ${TEST_APPROVER.publicKey}\n`,
  message: 'drctl-approval v1 run=dr-20261207-001 step=failover-db approver=alice decision=approve',
  sha512:
    'e80a861a1ab524c627247590cf4d88de46b168a0ba2d105ebeb93d1ce681ef6021fdc89b518707b19d122802d45088d63c52eca5f6bec44b1f72b3b677d88993',
  signedDataPrefix: '5353485349470000000e647263746c2d617070726f76616c000000000000000673686135313200000040',
  signature: [
    '-----BEGIN SSH SIGNATURE-----',
    'U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg7A+PEhPGgosPi/+vYzQ9zkH5CL',
    'XKg1Q2LnvCKesRFhwAAAAOZHJjdGwtYXBwcm92YWwAAAAAAAAABnNoYTUxMgAAAFMAAAAL',
    'c3NoLWVkMjU1MTkAAABAzcKIMfSUjxvZu3TuMJfxRK+3q2bcQyDLLG9QG6o+4zyQbWObEz',
    'SOk1qDcs0HYeGHP50lauhBmv5aAT9FqyXcBA==',
    '-----END SSH SIGNATURE-----',
    '',
  ].join('\n'),
};

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('SSHSIG: the published test vector', () => {
  it('verifies, with the signed data the vector gives', () => {
    const result = verifySshSignature(VECTOR.signature, utf8(VECTOR.message), APPROVAL_NAMESPACE);
    expect(result).toMatchObject({ ok: true, hashAlgorithm: 'sha512' });
    const data = sshSignedData(utf8(APPROVAL_NAMESPACE), new Uint8Array(), 'sha512', utf8(VECTOR.message));
    expect(data.length).toBe(106);
    expect(hex(data)).toBe(VECTOR.signedDataPrefix + VECTOR.sha512);
    expect(
      sshKeygenVerifies(
        VECTOR.allowedSigners,
        'approver@drctl.test',
        APPROVAL_NAMESPACE,
        VECTOR.signature,
        VECTOR.message,
      ).ok,
    ).toBe(true);
  });

  it('verifies with line breaks moved and surrounding whitespace', () => {
    const body = VECTOR.signature.split('\n').slice(1, -2).join('');
    const rewrapped = `\n  -----BEGIN SSH SIGNATURE-----\r\n${body.match(/.{1,40}/g)!.join('\r\n')}\n-----END SSH SIGNATURE-----  \n`;
    expect(verifySshSignature(rewrapped, utf8(VECTOR.message), APPROVAL_NAMESPACE).ok).toBe(true);
  });

  it('refuses the vector for another decision or another namespace', () => {
    const tampered = verifySshSignature(
      VECTOR.signature,
      utf8(VECTOR.message.replace('approve', 'reject')),
      APPROVAL_NAMESPACE,
    );
    expect(tampered).toEqual({
      ok: false,
      why: expect.stringMatching(/^the signature does not match what was signed/),
    });
    expect(
      verifySshSignature(VECTOR.signature, undefined as unknown as Uint8Array, APPROVAL_NAMESPACE),
    ).toEqual({
      ok: false,
      why: 'the signature could not be checked (malformed input).',
    });
    const git = verifySshSignature(VECTOR.signature, utf8(VECTOR.message), 'git');
    expect(git).toEqual({ ok: false, why: expect.stringContaining('namespace "drctl-approval", not "git"') });
  });
});

describe('allowed_signers', () => {
  const key = TEST_APPROVER.publicKey;
  const base64 = key.split(' ')[1]!;

  it('reads principals, options and comments as ssh-keygen does; times without Z are UTC', () => {
    const text = [
      '# approvers of shop-prod',
      '',
      `alice ${key} alice@laptop`,
      `"bob,carol smith" ${key}`,
      `*@sre.example,!intern@sre.example NAMESPACES="drctl-approval,file",valid-after="20260101",valid-before="202701021530Z" ${key}\r`,
      `  dave   valid-before="20270102153045UTC"   ${key}   a comment with "quotes"`,
    ].join('\n');
    expect(parseAllowedSigners(text, 'signers')).toEqual<AllowedSigner[]>([
      { principals: ['alice'], keyType: 'ssh-ed25519', publicKey: base64 },
      { principals: ['bob', 'carol smith'], keyType: 'ssh-ed25519', publicKey: base64 },
      {
        principals: ['*@sre.example', '!intern@sre.example'],
        keyType: 'ssh-ed25519',
        publicKey: base64,
        namespaces: ['drctl-approval', 'file'],
        validAfter: '2026-01-01T00:00:00.000Z',
        validBefore: '2027-01-02T15:30:00.000Z',
      },
      {
        principals: ['dave'],
        keyType: 'ssh-ed25519',
        publicKey: base64,
        validBefore: '2027-01-02T15:30:45.000Z',
      },
    ]);
  });

  it.each([
    [
      'an RSA key',
      'alice ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ',
      /only ssh-ed25519 keys can sign drctl answers/,
    ],
    [
      'an ECDSA key',
      `alice ecdsa-sha2-nistp256 AAAAE2VjZHNh`,
      /the key type is "ecdsa-sha2-nistp256": only ssh-ed25519/,
    ],
    ['a certificate authority', `alice cert-authority ${key}`, /cert-authority .* is not supported/],
    ['a truncated key', 'alice ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwPjxITxoKLD4v', /key does not parse/],
    ['base64 that is not a key', 'alice ssh-ed25519 not-base64!', /key does not parse/],
    ['a name without a key', 'alice', /found only one word/],
    ['options without a key', 'alice namespaces="drctl-approval"', /key is missing/],
    ['an unknown option', `alice no-touch-required ${key}`, /unknown option "no-touch-required"/],
    ['an unquoted value', `alice valid-after=20260101 ${key}`, /valid-after needs a value in double quotes/],
    [
      'a time that is no date',
      `alice valid-before="20261301" ${key}`,
      /valid-before="20261301" is not a time/,
    ],
    ['a time of another format', `alice valid-before="2026-01-01" ${key}`, /is not a time YYYYMMDD/],
    [
      'an empty window',
      `alice valid-after="20270101",valid-before="20260101" ${key}`,
      /valid-before is not after valid-after/,
    ],
    ['an option twice', `alice namespaces="a",namespaces="b" ${key}`, /namespaces is given twice/],
    ['an unclosed quote', `"alice ${key}`, /no closing quote/],
  ])('refuses %s, naming the source and line', (_what, line, why) => {
    expect(() => parseAllowedSigners(`# first\n${line}\n`, '/etc/drctl/allowed_signers')).toThrow(
      new RegExp(`^/etc/drctl/allowed_signers:2: .*${why.source}`),
    );
  });
});

describe('principal patterns (ssh pattern lists)', () => {
  it.each([
    ['alice', ['alice'], true],
    ['alice', ['bob', 'alice'], true],
    ['alice', ['Alice'], false],
    ['alice@sre.example', ['*@sre.example'], true],
    ['intern@sre.example', ['*@sre.example', '!intern@sre.example'], false],
    ['intern@sre.example', ['!intern@sre.example'], false],
    ['bob', ['!intern@sre.example'], false],
    ['bob', ['b?b'], true],
    ['boob', ['b?b'], false],
    ['anyone', ['*'], true],
    ['a*b', ['a**b'], true],
  ])('%s against %j: %s', (text, patterns, expected) => {
    expect(matchPatternList(text, patterns)).toBe(expected);
  });
});

const FIELDS: SignedFields = {
  workflowId: 'dr-move-shop-prod',
  runId: '0196a3c4-7f00-7000-8000-000000000001',
  questionId: 'q1',
  decision: 'approve',
  by: 'alice',
  reason: 'planned maintenance of GRA',
  signedAt: '2026-12-07T13:00:00.000Z',
};
const SIGNED_AT_MS = Date.parse(FIELDS.signedAt);

describe('approvalMessage', () => {
  it('is versioned, in a fixed order, each value a JSON string on its own line', () => {
    expect(approvalMessage({ ...FIELDS, reason: 'line one\nby="mallory"\n=' })).toBe(
      [
        'drctl-approval v1',
        'workflowId="dr-move-shop-prod"',
        'runId="0196a3c4-7f00-7000-8000-000000000001"',
        'questionId="q1"',
        'decision="approve"',
        'by="alice"',
        'reason="line one\\nby=\\"mallory\\"\\n="',
        'signedAt="2026-12-07T13:00:00.000Z"',
        '',
      ].join('\n'),
    );
  });

  it('gives different texts for answers that differ only in where a field ends', () => {
    const a = approvalMessage({ ...FIELDS, reason: 'x"\nsignedAt="2030-01-01T00:00:00.000Z' });
    const b = approvalMessage({ ...FIELDS, reason: 'x' });
    expect(a).not.toBe(b);
    expect(a.split('\n').filter((l) => l.startsWith('signedAt='))).toHaveLength(1);
  });
});

describe('verifyApprovalSignature, against ssh-keygen', () => {
  let dir: string;
  let alice: { key: string; publicKey: string };
  let other: { key: string; publicKey: string };
  let signature: string;
  const message = approvalMessage(FIELDS);

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'approval-signature-'));
    alice = generateKey(dir, 'alice');
    other = generateKey(dir, 'other');
    signature = sshKeygenSign(alice.key, APPROVAL_NAMESPACE, message);
  });

  const signersOf = (text: string) => parseAllowedSigners(text, 'test');
  const verify = (sig: string, fields: SignedFields, allowed: string, nowMs = SIGNED_AT_MS) =>
    verifyApprovalSignature(sig, fields, signersOf(allowed), nowMs);

  it('accepts what ssh-keygen -Y sign made, sha512 and sha256', () => {
    expect(verify(signature, FIELDS, `alice ${alice.publicKey}`)).toEqual({ ok: true, principal: 'alice' });
    const sha256 = sshKeygenSign(alice.key, APPROVAL_NAMESPACE, message, ['-O', 'hashalg=sha256']);
    expect(sha256).not.toBe(signature);
    expect(verify(sha256, FIELDS, `alice ${alice.publicKey}`)).toEqual({ ok: true, principal: 'alice' });
  });

  it('agrees with ssh-keygen -Y verify on the same allowed_signers file (checked now)', () => {
    const now = Date.now();
    const cases: [string, string][] = [
      ['the key for alice', `alice ${alice.publicKey}`],
      ['a pattern matching alice', `bob,al?ce ${alice.publicKey}`],
      ['a wildcard with alice negated', `*,!alice ${alice.publicKey}`],
      ['another principal only', `bob ${alice.publicKey}`],
      ['another key for alice', `alice ${other.publicKey}`],
      ['two entries, the second allowing alice', `alice ${other.publicKey}\nalice ${alice.publicKey}`],
      ['namespaces allowing drctl-*', `alice namespaces="git,drctl-*" ${alice.publicKey}`],
      ['namespaces not allowing drctl-approval', `alice namespaces="git,file" ${alice.publicKey}`],
      ['a key that expired', `alice valid-before="20200101Z" ${alice.publicKey}`],
      ['a key not yet valid', `alice valid-after="20990101Z" ${alice.publicKey}`],
      ['a key valid now', `alice valid-after="20200101Z",valid-before="20990101Z" ${alice.publicKey}`],
    ];
    for (const [what, allowed] of cases) {
      const ours = verify(signature, FIELDS, `${allowed}\n`, now);
      const theirs = sshKeygenVerifies(`${allowed}\n`, 'alice', APPROVAL_NAMESPACE, signature, message);
      expect({ what, ok: ours.ok }).toEqual({ what, ok: theirs.ok });
    }
    // Both refuse a signature made in another namespace.
    const git = sshKeygenSign(alice.key, 'git', message);
    expect(
      sshKeygenVerifies(`alice ${alice.publicKey}\n`, 'alice', APPROVAL_NAMESPACE, git, message).ok,
    ).toBe(false);
    expect(verify(git, FIELDS, `alice ${alice.publicKey}`).ok).toBe(false);
  });

  it.each<[string, Partial<SignedFields>]>([
    ['reason', { reason: 'planned maintenance of RBX' }],
    ['decision', { decision: 'reject' }],
    ['questionId', { questionId: 'q2' }],
    ['runId', { runId: '0196a3c4-7f00-7000-8000-000000000002' }],
    ['workflowId', { workflowId: 'dr-move-other' }],
    ['signedAt', { signedAt: '2026-12-07T13:00:01.000Z' }],
  ])('refuses the signature for an answer whose %s was changed', (_field, change) => {
    const result = verify(signature, { ...FIELDS, ...change }, `alice ${alice.publicKey}`);
    expect(result).toEqual({
      ok: false,
      why: expect.stringMatching(/^the signature does not match what was signed/),
    });
  });

  it('refuses another signer, without naming the allowed signers or their keys', () => {
    const allowed = `alice,carol ${alice.publicKey}\nbob ${other.publicKey}`;
    const results = [
      verify(signature, { ...FIELDS, by: 'mallory' }, allowed), // signed as alice, sent as mallory
      verify(
        sshKeygenSign(alice.key, APPROVAL_NAMESPACE, approvalMessage({ ...FIELDS, by: 'bob' })),
        { ...FIELDS, by: 'bob' },
        allowed,
      ),
      verify(sshKeygenSign(other.key, APPROVAL_NAMESPACE, message), FIELDS, allowed),
    ];
    expect(results[0]).toEqual({ ok: false, why: expect.stringMatching(/^the signature does not match/) });
    expect(results[1]).toEqual({
      ok: false,
      why: 'the signature is not from a key the runbook allows for "bob".',
    });
    expect(results[2]).toEqual({
      ok: false,
      why: 'the signature is not from a key the runbook allows for "alice".',
    });
    for (const r of results) {
      const why = r.ok ? '' : r.why;
      for (const secret of ['carol', alice.publicKey.split(' ')[1]!, other.publicKey.split(' ')[1]!])
        expect(why).not.toContain(secret);
    }
  });

  it('refuses a key outside its validity window, or whose namespaces do not allow drctl-approval', () => {
    expect(verify(signature, FIELDS, `alice valid-before="20261207125959Z" ${alice.publicKey}`)).toEqual({
      ok: false,
      why: 'the runbook\'s entry for "alice" expired at 2026-12-07T12:59:59.000Z.',
    });
    expect(verify(signature, FIELDS, `alice valid-after="20261208" ${alice.publicKey}`)).toEqual({
      ok: false,
      why: 'the runbook\'s entry for "alice" is not valid before 2026-12-08T00:00:00.000Z.',
    });
    expect(verify(signature, FIELDS, `alice namespaces="git" ${alice.publicKey}`)).toEqual({
      ok: false,
      why: expect.stringContaining('does not allow its key to sign in the namespace drctl-approval'),
    });
  });

  it('refuses an RSA signature with a sentence', () => {
    const rsa = generateKey(dir, 'rsa', 'rsa');
    const result = verify(
      sshKeygenSign(rsa.key, APPROVAL_NAMESPACE, message),
      FIELDS,
      `alice ${alice.publicKey}`,
    );
    expect(result).toEqual({
      ok: false,
      why: 'the signature was made with a "ssh-rsa" key; only ssh-ed25519 keys are accepted.',
    });
  });

  it('refuses garbage, oversized and missing signatures, and malformed answers, without throwing', () => {
    const allowed = `alice ${alice.publicKey}`;
    const body = signature.split('\n').slice(1, -2).join('');
    const cases: [unknown, unknown, RegExp][] = [
      ['', FIELDS, /carries no signature/],
      [undefined, FIELDS, /carries no signature/],
      ['hello', FIELDS, /not an armored SSH signature/],
      [`-----BEGIN SSH SIGNATURE-----\n!!!!\n-----END SSH SIGNATURE-----`, FIELDS, /not valid base64/],
      [
        `-----BEGIN SSH SIGNATURE-----\n${body.slice(0, 40)}\n-----END SSH SIGNATURE-----`,
        FIELDS,
        /truncated or malformed/,
      ],
      [
        `-----BEGIN SSH SIGNATURE-----\nQUJDREVGR0g=\n-----END SSH SIGNATURE-----`,
        FIELDS,
        /truncated or malformed/,
      ],
      [signature + ' '.repeat(MAX_ARMOR_CHARS), FIELDS, /longer than 4096 characters/],
      [
        signature,
        { ...FIELDS, decision: 'yes' },
        /decision must be one of approve, reject, retry, abort, discard/,
      ],
      [signature, { ...FIELDS, by: 42 }, /by is missing or not a string/],
      [signature, { ...FIELDS, reason: 'é'.repeat(513) }, /reason is longer than 1024 bytes/],
      [signature, { ...FIELDS, signedAt: 'yesterday' }, /signedAt must be an ISO 8601 UTC time/],
      [signature, null, /not an object/],
    ];
    for (const [sig, fields, why] of cases) {
      const result = verifyApprovalSignature(
        sig as string,
        fields as SignedFields,
        signersOf(allowed),
        SIGNED_AT_MS,
      );
      expect(result).toEqual({ ok: false, why: expect.stringMatching(why) });
    }
    expect(
      verifyApprovalSignature(signature, FIELDS, 'nonsense' as unknown as AllowedSigner[], SIGNED_AT_MS).ok,
    ).toBe(false);
  });

  it('refuses a signedVersion other than 1 and a hash other than sha512/sha256', () => {
    const blob = Buffer.from(signature.split('\n').slice(1, -2).join(''), 'base64');
    const armor = (b: Buffer) =>
      `-----BEGIN SSH SIGNATURE-----\n${b.toString('base64')}\n-----END SSH SIGNATURE-----\n`;
    const v2 = Buffer.from(blob);
    v2.writeUInt32BE(2, 6);
    expect(verify(armor(v2), FIELDS, `alice ${alice.publicKey}`)).toEqual({
      ok: false,
      why: 'the signature has SSHSIG version 2; only version 1 is supported.',
    });
    const md5 = Buffer.from(
      blob.toString('latin1').replace('\x00\x00\x00\x06sha512', '\x00\x00\x00\x06sha1xx'),
      'latin1',
    );
    expect(verify(armor(md5), FIELDS, `alice ${alice.publicKey}`)).toEqual({
      ok: false,
      why: 'the signature hashes with "sha1xx"; only sha512 and sha256 are accepted.',
    });
  });

  it("with a maximum age, refuses an answer signed too long ago or ahead of the run's clock", () => {
    const signers = signersOf(`alice ${alice.publicKey}`);
    const at = (ms: number) => verifyApprovalSignature(signature, FIELDS, signers, ms, { maxAgeMs: 600_000 });
    expect(at(SIGNED_AT_MS + 600_000)).toEqual({ ok: true, principal: 'alice' });
    expect(at(SIGNED_AT_MS + 600_001)).toEqual({
      ok: false,
      why: expect.stringMatching(/more than 600 s ago .*sign it again/),
    });
    expect(at(SIGNED_AT_MS - 180_000)).toEqual({
      ok: false,
      why: expect.stringMatching(/ahead of the run's clock/),
    });
  });

  it('signs and verifies with the test approver key the fixtures list', () => {
    const key = writeTestApproverKey();
    const sig = sshKeygenSign(key, APPROVAL_NAMESPACE, approvalMessage({ ...FIELDS, by: 'oncall' }));
    expect(verify(sig, { ...FIELDS, by: 'oncall' }, `oncall ${TEST_APPROVER.publicKey}`)).toEqual({
      ok: true,
      principal: 'oncall',
    });
  });
});
