/** The pairSettings activity reads a runbook's approvers when a run starts: lines, allowed_signers files, bare names. */
import { ApplicationFailure } from '@temporalio/common';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createPairSettingsActivities } from '../activities/pair-settings';
import { RunbookRegistry } from '../activities/runbooks';
import { parseRunbook } from '../config/load';
import { TEST_APPROVER, TEST_APPROVER_LINE } from './helpers/approver';

const KEY_BASE64 = TEST_APPROVER.publicKey.split(' ')[1]!;

/** pairSettings of a runbook saved in a folder of its own, with `files` beside it. */
async function approvalSettings(approval: Record<string, unknown>, files: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'approvers-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  const doc = {
    pair: 'signed',
    sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
    mysql: {
      user: 'dr',
      password: 'env:X',
      replicationUser: 'repl',
      replicationPassword: 'env:X',
      servers: [
        { name: 'db-gra-1', site: 'gra', host: '10.0.0.1', port: 3306, role: 'primary' },
        { name: 'db-rbx-1', site: 'rbx', host: '10.0.0.2', port: 3306, role: 'replica' },
      ],
    },
    approval,
  };
  const loaded = parseRunbook(stringify(doc), path.join(dir, 'runbook.yaml'));
  const { pairSettings } = createPairSettingsActivities({
    runbooks: new RunbookRegistry(new Map([['signed', loaded]])),
  });
  return { dir, settings: () => pairSettings({ pair: 'signed' }).then((s) => s.approval) };
}

describe('pairSettings: the approvers', () => {
  it('gives the workflow the signers of lines and files (read now), the names, and the signature policy', async () => {
    const { settings } = await approvalSettings(
      {
        approvers: [TEST_APPROVER_LINE, 'file:keys/allowed_signers', 'night-shift'],
        unsigned: 'allow',
        signatureMaxAge: '5m',
        fourEyes: true,
      },
      {
        'keys/allowed_signers': `# SRE\n*@sre.example,!intern@sre.example valid-before="20300101Z" ${TEST_APPROVER.publicKey}\n`,
      },
    );
    expect(await settings()).toEqual({
      policy: 'required',
      approvers: ['oncall', '*@sre.example', 'night-shift'],
      timeoutMs: 1_800_000,
      onTimeout: 'reject',
      signers: [
        {
          principals: ['oncall'],
          keyType: 'ssh-ed25519',
          publicKey: KEY_BASE64,
          namespaces: ['drctl-approval'],
        },
        {
          principals: ['*@sre.example', '!intern@sre.example'],
          keyType: 'ssh-ed25519',
          publicKey: KEY_BASE64,
          validBefore: '2030-01-01T00:00:00.000Z',
        },
      ],
      unsigned: 'allow',
      unsignedApprovers: ['night-shift'],
      signatureMaxAgeMs: 300_000,
      fourEyes: true,
    });
  });

  it('defaults: every answer signed, within 10 minutes, the requester may approve', async () => {
    const { settings } = await approvalSettings({ approvers: [TEST_APPROVER_LINE] });
    expect(await settings()).toMatchObject({
      unsigned: 'refuse',
      unsignedApprovers: [],
      signatureMaxAgeMs: 600_000,
      fourEyes: false,
    });
  });

  it('fails non-retryable, naming the field and the file, when an allowed_signers file is missing or invalid', async () => {
    const { dir, settings } = await approvalSettings({
      approvers: [TEST_APPROVER_LINE, 'file:allowed_signers'],
    });
    const failure = (await settings().catch((e: unknown) => e)) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'ApproversUnavailable', nonRetryable: true });
    expect(failure.message).toBe(
      `the approvers of pair signed cannot be read: approval.approvers[1]: cannot read the allowed_signers file ${path.join(dir, 'allowed_signers')} (ENOENT)`,
    );

    writeFileSync(
      path.join(dir, 'allowed_signers'),
      `oncall ${TEST_APPROVER.publicKey}\nbob ssh-rsa AAAAB3NzaC1yc2E\n`,
    );
    await expect(settings()).rejects.toMatchObject({
      type: 'ApproversUnavailable',
      message: expect.stringContaining(
        `approval.approvers[1]: the allowed_signers file is invalid: ${path.join(dir, 'allowed_signers')}:2: the key type is "ssh-rsa"`,
      ),
    });

    writeFileSync(path.join(dir, 'allowed_signers'), '# nobody yet\n');
    await expect(settings()).rejects.toMatchObject({
      type: 'ApproversUnavailable',
      message: expect.stringContaining('lists no signer'),
    });
  });
});
