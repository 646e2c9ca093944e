import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

describe('the built package', () => {
  it('is built (turbo builds before testing; run `pnpm build` when testing by hand)', () => {
    expect(existsSync(join(root, 'dist', 'index.cjs'))).toBe(true);
  });

  it("loads through require() and import, and the two builds read each other's tokens", () => {
    const script = `
      const cjs = require('@sec/cache-crypto');
      import('@sec/cache-crypto').then((esm) => {
        const key = cjs.Fernet.generateKey();
        const token = new esm.Fernet(key).encrypt('both ways');
        const out = new cjs.Fernet(key).decrypt(token).toString();
        const names = (m) => Object.keys(m).filter((k) => k !== 'default' && k !== 'module.exports').sort().join(',');
        console.log(JSON.stringify({ out, same: names(cjs) === names(esm), count: Object.keys(cjs).length }));
      });`;
    const run = node(['-e', script]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ out: 'both ways', same: true, count: expect.any(Number) });
  });
});
