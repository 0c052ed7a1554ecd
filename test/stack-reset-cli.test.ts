import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { confirmed } from '../dev/stack/confirm';

const DRCTL = path.resolve(__dirname, '..', 'bin', 'drctl');

/** A terminal that answers `answer` to the first question, and what was printed on it. */
function terminal(answer: string) {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => {
    printed += chunk.toString();
    if (printed.includes('[y/N]')) input.write(`${answer}\n`);
  });
  return { streams: { input, output }, printed: () => printed };
}

describe('drctl stack reset asks first', () => {
  it('goes on after "y" or "yes" only, and without asking with --yes', async () => {
    for (const [answer, expected] of [
      ['y', true],
      ['YES', true],
      ['n', false],
      ['', false],
      ['sure', false],
    ] as const) {
      const t = terminal(answer);
      expect(await confirmed('Reset?', { flag: '--yes' }, t.streams), answer).toBe(expected);
      expect(t.printed()).toBe('Reset? [y/N] ');
    }
    const silent = terminal('n');
    expect(await confirmed('Reset?', { yes: true, flag: '--yes' }, silent.streams)).toBe(true);
    expect(silent.printed()).toBe('');
  });

  it('refuses without a terminal and without --yes, naming the flag', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: undefined });
    await expect(
      confirmed('Reset?', { flag: '--yes' }, { input, output: new PassThrough() }),
    ).rejects.toThrow('no terminal to ask for confirmation; pass --yes to go on without asking');
  });

  describe('the command, without a terminal', () => {
    // A folder of its own: should the refusal ever fail, nothing of the shared stack is touched.
    let dir: string | undefined;
    afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

    it('exits 1 with the reason and changes nothing', () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'stack-reset-'));
      const result = spawnSync(DRCTL, ['stack', 'reset'], {
        encoding: 'utf8',
        input: '',
        env: { ...process.env, DR_STACK_DIR: dir },
      });
      expect(result.stderr).toBe(
        'drctl stack: no terminal to ask for confirmation; pass --yes to go on without asking\n',
      );
      expect(result.status).toBe(1);
      expect(existsSync(dir) && readdirSync(dir)).toEqual([]);
    });
  });
});
