import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

// Release-ready means: the pending changesets turn into one new version of the five published
// packages, with a changelog each, and nothing private is ever versioned or published.

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
}

async function workspaces(base: string): Promise<Map<string, { dir: string; manifest: Manifest }>> {
  const found = new Map<string, { dir: string; manifest: Manifest }>();
  const dirs = ['bench'];
  for (const group of ['packages', 'apps']) {
    for (const name of await readdir(join(base, group))) dirs.push(join(group, name));
  }
  for (const dir of dirs) {
    const manifest = JSON.parse(await readFile(join(base, dir, 'package.json'), 'utf8').catch(() => 'null'));
    if (manifest) found.set(manifest.name, { dir, manifest });
  }
  return found;
}

async function pendingChangesets(): Promise<Map<string, Record<string, string>>> {
  const files = (await readdir(join(root, '.changeset'))).filter(
    (f) => f.endsWith('.md') && f !== 'README.md',
  );
  const result = new Map<string, Record<string, string>>();
  for (const file of files) {
    const text = await readFile(join(root, '.changeset', file), 'utf8');
    const front = /^---\n([\s\S]*?)\n---\n/.exec(text);
    expect(front).not.toBeNull();
    const bumps = Object.fromEntries(
      front![1]!.split('\n').map((line) => {
        const [, name, bump] = /^"([^"]+)": (\w+)$/.exec(line.trim()) ?? [];
        return [name, bump];
      }),
    );
    result.set(file, bumps);
  }
  return result;
}

describe('changesets', () => {
  let config: {
    fixed: string[][];
    access: string;
    privatePackages: { version: boolean; tag: boolean };
    ignore: string[];
  };
  let published: string[];

  beforeAll(async () => {
    config = JSON.parse(await readFile(join(root, '.changeset', 'config.json'), 'utf8'));
    published = [...(await workspaces(root)).values()]
      .filter(({ manifest }) => !manifest.private)
      .map(({ manifest }) => manifest.name)
      .sort();
  });

  it('version every published package together and never a private one', () => {
    expect(published).toEqual([
      '@sec/cache-crypto',
      '@sec/health',
      '@sec/rate-limit',
      '@sec/redis-guard',
      '@sec/session',
    ]);
    expect(config.fixed).toHaveLength(1);
    expect([...config.fixed[0]!].sort()).toEqual(published);
    expect(config.privatePackages).toEqual({ version: false, tag: false });
    expect(config.access).toBe('public');
  });

  it('pending changesets name only published packages, with a valid bump', async () => {
    const pending = await pendingChangesets();
    for (const [file, bumps] of pending) {
      expect(Object.keys(bumps).length).toBeGreaterThan(0);
      for (const [name, bump] of Object.entries(bumps)) {
        expect({ file, name, published: published.includes(name) }).toEqual({ file, name, published: true });
        expect(['major', 'minor', 'patch']).toContain(bump);
      }
    }
  });

  describe('`changeset version` on a copy of the workspace', () => {
    let copy: string;
    beforeAll(async () => {
      copy = await mkdtemp(join(tmpdir(), 'sec-release-'));
      for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset']) {
        await cp(join(root, file), join(copy, file), { recursive: true });
      }
      for (const { dir } of (await workspaces(root)).values()) {
        await mkdir(join(copy, dir), { recursive: true });
        await cp(join(root, dir, 'package.json'), join(copy, dir, 'package.json'));
      }
      // changesets reads the commit that added each changeset for the changelog.
      const git = (...args: string[]) =>
        run('git', ['-c', 'user.name=release', '-c', 'user.email=release@example.invalid', ...args], {
          cwd: copy,
        });
      await git('init', '-q', '-b', 'main');
      await git('add', '-A');
      await git('commit', '-q', '-m', 'release candidate');
      await run(join(root, 'node_modules', '.bin', 'changeset'), ['version'], { cwd: copy });
    }, 60_000);
    afterAll(() => (copy ? rm(copy, { recursive: true, force: true }) : undefined));

    it('gives the five packages one new version and a changelog each; private workspaces keep 0.0.0', async () => {
      const before = await workspaces(root);
      const after = await workspaces(copy);
      const versions = new Set(published.map((name) => after.get(name)!.manifest.version));
      expect(versions.size).toBe(1);
      const [version] = versions;
      if ((await pendingChangesets()).size === 0) {
        // Just after a release: nothing to version.
        expect(version).toBe(before.get('@sec/redis-guard')!.manifest.version);
        return;
      }
      expect(version).not.toBe(before.get('@sec/redis-guard')!.manifest.version);
      for (const name of published) {
        const changelog = await readFile(join(copy, after.get(name)!.dir, 'CHANGELOG.md'), 'utf8');
        expect(changelog).toContain(`## ${version}`);
        // Sibling ranges stay workspace ranges: pnpm publish turns them into the new version.
        for (const range of Object.values(after.get(name)!.manifest.dependencies ?? {})) {
          if (range.startsWith('workspace:')) expect(range).toBe('workspace:^');
        }
      }
      for (const [name, { manifest }] of after) {
        if (manifest.private) expect({ name, version: manifest.version }).toEqual({ name, version: '0.0.0' });
      }
      expect((await readdir(join(copy, '.changeset'))).sort()).toEqual(['README.md', 'config.json']);
    });
  });
});
