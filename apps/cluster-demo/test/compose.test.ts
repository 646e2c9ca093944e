import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docker-compose.yml');
const compose = parse(readFileSync(file, 'utf8'), { merge: true }) as {
  services: Record<
    string,
    {
      ports?: string[];
      healthcheck?: { test: string[] };
      command?: string[] | string;
      profiles?: string[];
      environment?: Record<string, string>;
    }
  >;
};

describe('docker-compose.yml', () => {
  it('has Redis, the demo and a tls profile', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['demo', 'demo-tls', 'redis', 'redis-tls']);
    expect(compose.services['redis-tls']!.profiles).toEqual(['tls']);
    expect(compose.services['demo-tls']!.environment!.NODE_ENV).toBe('production');
  });

  it('binds every published port to 127.0.0.1 only', () => {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('keeps the Redis password out of every process list: no -a, no --requirepass in argv', () => {
    for (const name of ['redis', 'redis-tls']) {
      const service = compose.services[name]!;
      const health = service.healthcheck!.test.join(' ');
      expect(health).toContain('REDISCLI_AUTH=');
      expect(health).not.toMatch(/\s-a\s/);
      const command = ([] as string[]).concat(service.command ?? []).join(' ');
      expect(command).not.toContain('--requirepass');
      expect(command).toMatch(/requirepass.*> \/tmp\/redis\.conf/);
    }
  });

  it('persists Redis (AOF on a volume), so a restart keeps sessions and rate-limit windows', () => {
    for (const name of ['redis', 'redis-tls']) {
      const service = compose.services[name]! as { command?: string[]; volumes?: string[] };
      expect(([] as string[]).concat(service.command ?? []).join(' ')).toContain('--appendonly yes');
      expect(service.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
    }
  });

  it('the tls profile serves TLS only', () => {
    const command = ([] as string[]).concat(compose.services['redis-tls']!.command ?? []).join(' ');
    expect(command).toContain('--port 0');
    expect(command).toContain('--tls-port 6380');
    expect(compose.services['demo-tls']!.environment!.REDIS_URL).toMatch(/^rediss:\/\//);
  });

  const hasCompose = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
  if (!hasCompose)
    process.stderr.write(
      '\n[notice] `docker compose` is not installed: skipping `docker compose config`.\n\n',
    );
  (hasCompose ? it : it.skip)('is valid for `docker compose config`', () => {
    const env = {
      ...process.env,
      REDIS_PASSWORD: 'x',
      SESSION_SECRET: 'y',
      REDIS_ENCRYPTION_KEY: 'z',
      DEMO_USERS: 'a:b:user',
    };
    execFileSync('docker', ['compose', '-f', file, '--profile', 'tls', 'config', '-q'], { env });
  });
});
