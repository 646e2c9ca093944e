import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort, PRODUCTION_ON_LOOPBACK, type RedisServer, startRedis } from '@sec/testing';
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

  it('gen-tls writes a server certificate signed by a CA whose key stays out of the server directory', async () => {
    const out = join(dir, 'certs');
    expect(
      (await cli(['gen-tls', '--out', out, '--host', 'redis.internal', '--host', '10.0.0.5'])).code,
    ).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['ca.crt', 'redis.crt', 'redis.key']);
    expect((await readdir(join(dir, 'ca'))).sort()).toEqual(['ca.crt', 'ca.key']);
    expect((await stat(join(out, 'redis.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'ca', 'ca.key'))).mode & 0o777).toBe(0o600);
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

  it('check exits 1 when Redis cannot be reached, naming ECONNREFUSED, without printing the password', async () => {
    const { code, out } = await cli(['check'], {
      NODE_ENV: 'test',
      REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${await freePort()}`,
      REDIS_CONNECT_TIMEOUT_MS: '1500',
    });
    expect(code).toBe(1);
    expect(out).toMatch(/cause +ECONNREFUSED/);
    expect(out).toMatch(/fix +nothing listens/);
    expect(out).toContain('result: FAILED');
    expect(out).not.toContain(PASSWORD);
  });

  it('the installed bin runs (built dist)', async () => {
    const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'sec-redis.js');
    const { stdout } = await run(process.execPath, [bin, 'gen-password', '--env', 'staging']);
    expect(stdout.trim()).toHaveLength(32);
  });
});

describe('sec-redis never overwrites a file without --force, and secret files end at mode 600', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sec-cli-files-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('gen-env --out over an existing 0644 file: refused without --force, replaced at 0600 with it', async () => {
    const file = join(dir, '.env');
    await writeFile(file, 'KEEP=me\n', { mode: 0o644 });
    await chmod(file, 0o644);
    const refused = await cli(['gen-env', '--env', 'production', '--out', file]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('ERR_SEC_CLI_FILE_EXISTS');
    expect(refused.err).toMatch(/--force/);
    expect(await readFile(file, 'utf8')).toBe('KEEP=me\n');
    expect((await stat(file)).mode & 0o777).toBe(0o644);

    const forced = await cli(['gen-env', '--env', 'production', '--out', file, '--force']);
    expect(forced.code).toBe(0);
    expect(await readFile(file, 'utf8')).toMatch(/^REDIS_PASSWORD=[A-Za-z0-9]{48}$/m);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // The temporary file took the target's place: nothing is left beside it.
    expect(await readdir(dir)).toEqual(['.env']);
  });

  it('an unknown flag is a usage error, not silently ignored (e.g. --froce)', async () => {
    const { code, err } = await cli(['gen-env', '--out', join(dir, 'x.env'), '--froce']);
    expect(code).toBe(1);
    expect(err).toMatch(/--froce/);
    expect(err).toContain('ERR_SEC_CLI_USAGE');
  });

  it('gen-tls never replaces a CA: a second run signs with it; server files need --force', async () => {
    const base = join(dir, 'tls');
    const out = join(base, 'certs');
    expect((await cli(['gen-tls', '--out', out])).code).toBe(0);
    const ca = await readFile(join(base, 'ca', 'ca.crt'), 'utf8');
    const caKey = await readFile(join(base, 'ca', 'ca.key'), 'utf8');
    const serverKey = await readFile(join(out, 'redis.key'), 'utf8');

    const again = await cli(['gen-tls', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.err).toContain('ERR_SEC_CLI_FILE_EXISTS');
    expect(await readFile(join(out, 'redis.key'), 'utf8')).toBe(serverKey);

    const forced = await cli(['gen-tls', '--out', out, '--host', 'redis.internal', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.out).toMatch(/signed with the existing CA/);
    expect(await readFile(join(base, 'ca', 'ca.crt'), 'utf8')).toBe(ca);
    expect(await readFile(join(base, 'ca', 'ca.key'), 'utf8')).toBe(caKey);
    expect(await readFile(join(out, 'redis.key'), 'utf8')).not.toBe(serverKey);
    expect((await stat(join(out, 'redis.key'))).mode & 0o777).toBe(0o600);
    const { stdout } = await run('openssl', [
      'verify',
      '-CAfile',
      join(base, 'ca', 'ca.crt'),
      join(out, 'redis.crt'),
    ]);
    expect(stdout).toContain('OK');
  });

  it('gen-tls refuses half a CA, a CA key in the server directory, and a CA directory inside it', async () => {
    const base = join(dir, 'broken');
    await mkdir(join(base, 'ca'), { recursive: true });
    await writeFile(join(base, 'ca', 'ca.crt'), 'a CA certificate whose key is missing');
    const half = await cli(['gen-tls', '--out', join(base, 'certs')]);
    expect(half.code).toBe(1);
    expect(half.err).toContain('ERR_SEC_CLI_CA_REFUSED');
    expect(await readFile(join(base, 'ca', 'ca.crt'), 'utf8')).toBe('a CA certificate whose key is missing');

    const legacy = join(dir, 'legacy');
    await mkdir(legacy, { recursive: true });
    await writeFile(join(legacy, 'ca.key'), 'an old CA key');
    const moved = await cli(['gen-tls', '--out', legacy, '--ca-dir', join(dir, 'legacy-ca')]);
    expect(moved.code).toBe(1);
    expect(moved.err).toMatch(/CA private key inside the directory the Redis server reads/);
    expect(await readFile(join(legacy, 'ca.key'), 'utf8')).toBe('an old CA key');

    const nested = await cli(['gen-tls', '--out', join(dir, 'n'), '--ca-dir', join(dir, 'n', 'ca')]);
    expect(nested.code).toBe(1);
    expect(nested.err).toContain('ERR_SEC_CLI_CA_REFUSED');
  });
});

describe('sec-redis check names the underlying cause', () => {
  const WRONG = 'Wr0ng/Q@zx#vk%-0123456789ABCDEFGHIJklmnopq';
  let secured: RedisServer;
  let tls: RedisServer;
  let plain: RedisServer;
  let silent: Server;
  const sockets = new Set<Socket>();
  let dir: string;
  beforeAll(async () => {
    [secured, tls, plain] = await Promise.all([
      startRedis({ password: PASSWORD }),
      startRedis({ password: PASSWORD, tls: true }),
      startRedis(),
    ]);
    // Accepts connections and never answers: a frozen server or a black-holed port.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    dir = await mkdtemp(join(tmpdir(), 'sec-cli-env-'));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    silent?.close();
    await Promise.all([secured?.stop(), tls?.stop(), plain?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  const check = (env: NodeJS.ProcessEnv) => cli(['check'], { REDIS_CONNECT_TIMEOUT_MS: '2000', ...env });

  it('a wrong password: WRONGPASS, at once, and no piece of the password', async () => {
    const started = performance.now();
    const { code, out } = await check({ REDIS_URL: secured.url, REDIS_PASSWORD: WRONG });
    expect(code).toBe(1);
    expect(out).toMatch(/cause +WRONGPASS/);
    expect(out).toMatch(/fix +Redis refused the password/);
    expect(out).toMatch(/retrying cannot help/);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(out).not.toContain(PASSWORD);
    for (let i = 0; i + 6 <= WRONG.length; i++) expect(out).not.toContain(WRONG.slice(i, i + 6));
  });

  it('no password where one is required: NOAUTH', async () => {
    const { out } = await check({ REDIS_URL: secured.url });
    expect(out).toMatch(/cause +NOAUTH/);
  });

  it('a TLS server whose CA is not trusted: CERT_UNTRUSTED, naming REDIS_TLS_CA_CERT', async () => {
    const { code, out } = await check({ REDIS_URL: tls.url, REDIS_PASSWORD: PASSWORD });
    expect(code).toBe(1);
    expect(out).toMatch(/cause +CERT_UNTRUSTED/);
    expect(out).toMatch(/REDIS_TLS_CA_CERT/);
  });

  it('a certificate for another name: CERT_HOSTNAME', async () => {
    const { out } = await check({
      REDIS_URL: tls.url,
      REDIS_PASSWORD: PASSWORD,
      REDIS_TLS_CA_CERT: tls.tls!.caFile,
      REDIS_TLS_SERVERNAME: 'not-the-server.example',
    });
    expect(out).toMatch(/cause +CERT_HOSTNAME/);
  });

  it('TLS spoken to a plaintext port, and plaintext to a TLS port, point at the mismatch', async () => {
    const tlsToPlain = await check({ REDIS_URL: plain.url.replace('redis://', 'rediss://') });
    expect(tlsToPlain.out).toMatch(/cause +TIMEOUT/);
    expect(tlsToPlain.out).toMatch(/fix .*rediss:\/\/ to a plaintext port/);
    const plainToTls = await check({
      REDIS_URL: tls.url.replace('rediss://', 'redis://'),
      REDIS_PASSWORD: PASSWORD,
    });
    expect(plainToTls.out).toMatch(/cause +(CONNECTION_CLOSED|TIMEOUT)/);
  });

  it('a server that accepts and never answers: TIMEOUT', async () => {
    const { port } = silent.address() as { port: number };
    const { code, out } = await check({ REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(code).toBe(1);
    expect(out).toMatch(/cause +TIMEOUT/);
  });

  it('--env-file: reads the file with Node’s parser, the process environment winning', async () => {
    const file = join(dir, 'staging.env');
    await writeFile(
      file,
      [
        'NODE_ENV=staging',
        `REDIS_URL=${tls.url}`,
        `REDIS_PASSWORD="${PASSWORD}"`,
        `REDIS_TLS_CA_CERT=${tls.tls!.caFile}`,
        'REDIS_CONNECT_TIMEOUT_MS=1',
      ].join('\n'),
    );
    const { code, out } = await cli(['check', '--env-file', file], { REDIS_CONNECT_TIMEOUT_MS: '3000' });
    expect(out).toMatch(
      /env-file +.*staging\.env: 5 variables; the environment overrides REDIS_CONNECT_TIMEOUT_MS/,
    );
    expect(out).toMatch(/environment +staging \(NODE_ENV\)/);
    expect(out).toContain('result: OK');
    expect(out).not.toContain(PASSWORD);
    expect(code).toBe(0);
  });

  it('--env-file: a value cut at an unquoted "#" is pointed out, and the mangled URL is refused', async () => {
    const file = join(dir, 'hash.env');
    await writeFile(file, `NODE_ENV=test\nREDIS_URL=redis://:p@ss#word@127.0.0.1:${plain.port}\n`);
    const { code, out, err } = await cli(['check', '--env-file', file], {});
    expect(err).toMatch(/REDIS_URL in .*hash\.env holds a "#" outside quotes/);
    expect(err).toContain('ERR_SEC_REDIS_URL_INVALID');
    expect(out).not.toMatch(/redis +/);
    expect(code).toBe(1);
    expect(out + err).not.toMatch(/p@ss|ss#w/);
  });

  it('--env-file that cannot be read is a usage error', async () => {
    const { code, err } = await cli(['check', '--env-file', join(dir, 'missing.env')], {});
    expect(code).toBe(1);
    expect(err).toMatch(/cannot be read \(ENOENT\)/);
  });
});

describe('sec-redis check audits the server posture', () => {
  let lru: RedisServer;
  let safe: RedisServer;
  beforeAll(async () => {
    [lru, safe] = await Promise.all([
      startRedis({ password: PASSWORD, config: { 'maxmemory-policy': 'allkeys-lru', appendonly: 'yes' } }),
      startRedis({ password: PASSWORD, config: { appendonly: 'yes' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([lru?.stop(), safe?.stop()]);
  });
  const production = (server: RedisServer, extra: NodeJS.ProcessEnv = {}) =>
    cli(['check'], {
      ...PRODUCTION_ON_LOOPBACK,
      REDIS_URL: server.url,
      REDIS_PASSWORD: PASSWORD,
      ...extra,
    });

  it('production on allkeys-lru: exit 1, naming maxmemory-policy and the code, after a successful round trip', async () => {
    const { code, out } = await production(lru);
    expect(out).toMatch(/set\/get\/del +ok/);
    expect(out).toMatch(/eviction +refuse \(allkeys-lru\)/);
    expect(out).toMatch(/maxmemory-policy is allkeys-lru: .* \[ERR_SEC_REDIS_EVICTION_POLICY\]/);
    expect(out).toContain('result: REFUSED in production: maxmemory-policy (ERR_SEC_REDIS_EVICTION_POLICY)');
    expect(out).not.toContain(PASSWORD);
    expect(code).toBe(1);
  });

  it('the same server with REDIS_ACCEPT_EVICTION=true, or in development: exit 0, the finding still shown', async () => {
    const accepted = await production(lru, { REDIS_ACCEPT_EVICTION: 'true' });
    expect(accepted.out).toMatch(/eviction +accepted \(allkeys-lru\)/);
    expect(accepted.code).toBe(0);
    const development = await cli(['check'], {
      NODE_ENV: 'development',
      REDIS_URL: lru.url,
      REDIS_PASSWORD: PASSWORD,
    });
    expect(development.out).toMatch(/eviction +warn \(allkeys-lru\)/);
    expect(development.out).toMatch(/result: OK \(\d posture warnings?\)/);
    expect(development.code).toBe(0);
  });

  it('production on noeviction with AOF: exit 0; the default user +@all is a warning with its fix', async () => {
    const { code, out } = await production(safe);
    expect(out).toMatch(/posture +production, ACL user default/);
    expect(out).toMatch(/eviction +pass \(noeviction\)/);
    expect(out).toMatch(/persistence +pass/);
    expect(out).toMatch(/dangerous-commands +warn \(user default: FLUSHALL/);
    expect(out).toContain('npx sec-redis acl');
    expect(out).toContain('result: OK (1 posture warning)');
    expect(code).toBe(0);
  });
});

describe('sec-redis acl', () => {
  let app: string;
  /** A stand-in for an installed @sec package: only its redisAccess() matters here. */
  async function fakePackage(name: string, source: string) {
    const dir = join(app, 'node_modules', '@sec', name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `@sec/${name}`, main: 'index.cjs' }));
    await writeFile(join(dir, 'index.cjs'), source);
  }
  beforeAll(async () => {
    app = await mkdtemp(join(tmpdir(), 'sec-acl-app-'));
    await writeFile(join(app, 'package.json'), '{"name":"app","private":true}');
    await fakePackage(
      'session',
      `exports.redisAccess = (o = {}) => ({ name: '@sec/session', commands: ['evalsha', 'hget', 'subscribe'],
        keyPrefixes: [(o.keyPrefix ?? 'sec:') + 'sess:'], channels: o.channel === false ? [] : [o.channel ?? 'sec:session:events'] });`,
    );
    await fakePackage(
      'rate-limit',
      `exports.redisAccess = (o = {}) => ({ name: '@sec/rate-limit', commands: ['incr'],
        keyPrefixes: [(o.keyPrefix ?? 'sec:') + 'rl:'], channels: [] });`,
    );
  });
  afterAll(async () => {
    await rm(app, { recursive: true, force: true });
  });
  const acl = async (args: string[], env: NodeJS.ProcessEnv = {}, cwd = app) => {
    let out = '';
    let err = '';
    const code = await runCli(['acl', ...args], { out: (t) => (out += t), err: (t) => (err += t), env, cwd });
    return { code, out, err };
  };

  it('prints ACL SETUSER and the ACL-file line for the packages installed where it runs', async () => {
    const { code, out } = await acl([]);
    expect(code).toBe(0);
    const rule =
      'resetkeys resetchannels -@all +acl|dryrun +acl|whoami +del +evalsha +get +hget +incr +info +ping +set +subscribe ' +
      '~sec-redis:check:* ~sec:rl:* ~sec:sess:* &sec:session:events';
    expect(out).toContain(`ACL SETUSER app reset on ><password> ${rule}\n`);
    expect(out).toContain(`user app on ><password> ${rule}\n`);
    expect(out).toContain('@sec/redis-guard, @sec/session, @sec/rate-limit');
    expect(out).toContain('then set REDIS_USERNAME=app');
    expect(out).not.toContain('cache-crypto');
  });

  it('honours the key prefix and channel, the user and Cluster from the env file, and --no-audit', async () => {
    const file = join(app, '.env');
    await writeFile(file, 'REDIS_USERNAME=web\nREDIS_CLUSTER_NODES=10.0.0.1:6379\n');
    const { out } = await acl([
      '--env-file',
      file,
      '--key-prefix',
      'app1:',
      '--session-channel',
      '',
      '--no-audit',
      '--packages',
      'session,rate-limit',
    ]);
    expect(out).toContain('ACL SETUSER web reset on ><password> ');
    expect(out).not.toContain('REDIS_USERNAME=');
    expect(out).toContain('+cluster|slots +del');
    expect(out).toContain('+asking');
    expect(out).toContain('~app1:rl:* ~app1:sess:*');
    expect(out).not.toMatch(/acl\||&|sec:/);
  });

  it('--rule-only prints the rule alone, for scripts', async () => {
    const { out } = await acl(['--rule-only', '--packages', 'rate-limit']);
    expect(out).toBe(
      'resetkeys resetchannels -@all +acl|dryrun +acl|whoami +del +get +incr +info +ping +set ~sec-redis:check:* ~sec:rl:*\n',
    );
  });

  it('refuses to guess: no package installed, one asked for but missing, an unknown name', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'sec-acl-empty-'));
    try {
      const none = await acl([], {}, empty);
      expect(none.code).toBe(1);
      expect(none.err).toContain('ERR_SEC_CLI_NO_PACKAGES');
      expect(none.err).toContain('--packages');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
    const missing = await acl(['--packages', 'cache-crypto']);
    expect(missing.err).toMatch(/@sec\/cache-crypto is not installed where sec-redis acl runs/);
    const unknown = await acl(['--packages', 'sessions']);
    expect(unknown.err).toMatch(/--packages takes .*unknown: @sec\/sessions/);
    expect(unknown.err).toContain('ERR_SEC_CLI_USAGE');
  });
});
