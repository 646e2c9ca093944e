import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, startRedis } from '@sec/testing';
import { runCli } from '../src/cli-commands.js';

const run = promisify(execFile);
const PASSWORD = 'cli-Integration-Password-0123456789abcdefgh';

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => (out += t), err: (t) => (err += t), env });
  return { code, out, err };
}

describe('sec-redis CLI', () => {
  let dir: string;
  let redis: RedisServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sec-cli-'));
    redis = await startRedis({ password: PASSWORD, tls: true });
  });
  afterAll(async () => {
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['production', 48],
    ['staging', 32],
    ['development', 24],
    ['test', 12],
  ])('gen-password --env %s → %i characters, URL-safe', async (env, length) => {
    const { code, out } = await cli(['gen-password', '--env', env]);
    expect(code).toBe(0);
    expect(out.trim()).toMatch(new RegExp(`^[A-Za-z0-9]{${length}}$`));
  });

  it('gen-password refuses an unknown environment', async () => {
    const { code, err } = await cli(['gen-password', '--env', 'prod-eu']);
    expect(code).toBe(1);
    expect(err).toMatch(/--env must be one of/);
  });

  it('gen-key prints a Fernet key: 32 bytes, url-safe base64 with padding', async () => {
    const key = (await cli(['gen-key'])).out.trim();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(Buffer.from(key, 'base64url')).toHaveLength(32);
  });

  it('gen-tls writes a CA and a server certificate it signed, keys mode 600', async () => {
    const out = join(dir, 'certs');
    expect(
      (await cli(['gen-tls', '--out', out, '--host', 'redis.internal', '--host', '10.0.0.5'])).code,
    ).toBe(0);
    for (const key of ['ca.key', 'redis.key']) expect((await stat(join(out, key))).mode & 0o777).toBe(0o600);
    const { stdout } = await run('openssl', [
      'verify',
      '-CAfile',
      join(out, 'ca.crt'),
      join(out, 'redis.crt'),
    ]);
    expect(stdout).toContain('OK');
    const { stdout: text } = await run('openssl', [
      'x509',
      '-in',
      join(out, 'redis.crt'),
      '-noout',
      '-ext',
      'subjectAltName',
    ]);
    expect(text).toMatch(/DNS:redis\.internal/);
    expect(text).toMatch(/IP Address:10\.0\.0\.5/);
  });

  it('gen-env --env production writes a .env with every secret, mode 600, that passes validation shape', async () => {
    const file = join(dir, '.env');
    expect((await cli(['gen-env', '--env', 'production', '--out', file])).code).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^NODE_ENV=production$/m);
    expect(text).toMatch(/^REDIS_URL=rediss:\/\//m);
    expect(text).toMatch(/^REDIS_PASSWORD=[A-Za-z0-9]{48}$/m);
    expect(text).toMatch(/^REDIS_ENCRYPTION_KEY=[A-Za-z0-9_-]{43}=$/m);
    expect(text).toMatch(/^SESSION_SECRET=.{64}$/m);
  });

  it('check connects over TLS, round-trips a probe key, prints a masked report and exits 0', async () => {
    const { code, out } = await cli(['check'], {
      NODE_ENV: 'staging',
      REDIS_URL: redis.url,
      REDIS_PASSWORD: PASSWORD,
      REDIS_TLS_CA_CERT: redis.tls!.caFile,
    });
    expect(out).toMatch(/ping +ok/);
    expect(out).toMatch(/set\/get\/del +ok/);
    expect(out).toContain(`**** (${PASSWORD.length} chars)`);
    expect(out).toContain('result: OK');
    expect(out).not.toContain(PASSWORD);
    expect(code).toBe(0);
  });

  it('check exits 1 with the error code on an insecure production config', async () => {
    const { code, err } = await cli(['check'], {
      NODE_ENV: 'production',
      REDIS_URL: 'redis://redis.internal:6379',
    });
    expect(code).toBe(1);
    expect(err).toContain('ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION');
  });

  it('check exits 1 when Redis cannot be reached, without printing the password', async () => {
    const { code, out } = await cli(['check'], {
      NODE_ENV: 'test',
      REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:1`,
      REDIS_CONNECT_TIMEOUT_MS: '300',
    });
    expect(code).toBe(1);
    expect(out).toContain('result: FAILED');
    expect(out).not.toContain(PASSWORD);
  });

  it('the installed bin runs (built dist)', async () => {
    const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'sec-redis.js');
    const { stdout } = await run(process.execPath, [bin, 'gen-password', '--env', 'staging']);
    expect(stdout.trim()).toHaveLength(32);
  });
});
