import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
/** Every Markdown file of the repository (README.md, docs/**, each folder's README). */
const MARKDOWN = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], {
  cwd: ROOT,
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);

/** The targets of a file's Markdown links `[text](target)` and `[text]: target`, code spans left out. */
function linkTargets(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  const inline = [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
  const reference = [...prose.matchAll(/^\s*\[[^\]]+\]:\s+(\S+)/gm)].map((m) => m[1]!);
  return [...inline, ...reference];
}

const external = (target: string) => /^(https?:|mailto:)/.test(target);

describe('documentation links', () => {
  it('covers the README, docs/ and the per-system references', () => {
    expect(MARKDOWN).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/architecture.md',
        'docs/production.md',
        'test/README.md',
        'activities/mysql/README.md',
        'activities/elasticsearch/README.md',
        'activities/traffic/README.md',
        'activities/apps/README.md',
        'activities/postgresql/README.md',
      ]),
    );
  });

  it.each(MARKDOWN)(
    '%s: every relative link resolves to a file of the repository, and none leaves it',
    (file) => {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      const problems: string[] = [];
      if (/\.\.\/shared\b|\/work\/shared\b/.test(text))
        problems.push('mentions ../shared, outside the repository');
      for (const target of linkTargets(text)) {
        if (external(target) || target.startsWith('#')) continue;
        const [relative] = target.split('#');
        const resolved = path.resolve(ROOT, path.dirname(file), decodeURI(relative!));
        if (path.isAbsolute(relative!)) problems.push(`${target}: an absolute path`);
        else if (path.relative(ROOT, resolved).startsWith('..'))
          problems.push(`${target}: leaves the repository`);
        else if (!existsSync(resolved)) problems.push(`${target}: no such file`);
      }
      expect(problems).toEqual([]);
    },
  );
});
