import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { enabledServices, interpolateFile } from './compose-spec.js';

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
      depends_on?: Record<string, unknown> | string[];
      volumes?: string[];
    }
  >;
  volumes?: Record<string, unknown>;
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
  (hasCompose ? it : it.skip)(
    'is valid for `docker compose config`, plain with REDIS_PASSWORD alone and with the tls profile',
    () => {
      const env = { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_PASSWORD: 'x' };
      execFileSync('docker', ['compose', '-f', file, 'config', '-q'], { env });
      execFileSync('docker', ['compose', '-f', file, '--profile', 'tls', 'config', '-q'], { env });
    },
  );
});

describe('docker-compose.yml against the Compose Specification', () => {
  const raw = compose as unknown as Record<string, unknown>;

  it('`REDIS_PASSWORD=… docker compose up` needs nothing else set', () => {
    // Compose interpolates the whole file before it applies profiles: a required variable in any
    // service, profiled or not, stops every run.
    expect(interpolateFile(raw, { REDIS_PASSWORD: 'x' }).missing).toEqual([]);
    const missing = interpolateFile(raw, {}).missing;
    expect([...new Set(missing.map((m) => m.name))]).toEqual(['REDIS_PASSWORD']);
    expect(missing[0]!.message).toContain('sec-redis gen-password');
  });

  it('the tls profile asks for its own variables when it runs, naming each, before installing anything', () => {
    const { result } = interpolateFile(compose, { REDIS_PASSWORD: 'x' });
    const command = result.services['demo-tls']!.command as string[];
    expect(command.slice(0, 2)).toEqual(['sh', '-c']);
    const stubs = mkdtempSync(join(tmpdir(), 'sec-compose-'));
    try {
      // npm and pnpm stand-ins record that the install started; the real ones never run.
      const log = join(stubs, 'calls.log');
      for (const tool of ['npm', 'pnpm']) {
        writeFileSync(join(stubs, tool), `#!/bin/sh\necho "${tool} $*" >> "${log}"\n`);
        chmodSync(join(stubs, tool), 0o755);
      }
      const runCommand = (env: Record<string, string>) =>
        spawnSync('sh', ['-c', command[2]!], {
          env: { PATH: `${stubs}:${process.env.PATH}`, ...env },
          encoding: 'utf8',
        });
      const all = { SESSION_SECRET: 's'.repeat(48), REDIS_ENCRYPTION_KEY: 'k', DEMO_USERS: 'a:b:user' };
      for (const name of Object.keys(all)) {
        for (const value of [undefined, '']) {
          const env: Record<string, string> = { ...all };
          if (value === undefined) delete env[name];
          else env[name] = value;
          const run = runCommand(env);
          expect(run.status).not.toBe(0);
          expect(run.stderr).toContain(`set ${name}`);
        }
      }
      expect(() => readFileSync(log)).toThrow();
      const ok = runCommand(all);
      expect(ok.status).toBe(0);
      expect(readFileSync(log, 'utf8')).toBe(
        'npm install -g pnpm@10.34.8\npnpm install --frozen-lockfile\npnpm demo\n',
      );
    } finally {
      rmSync(stubs, { recursive: true, force: true });
    }
  });

  it('profiles: a plain run starts Redis and the demo, `--profile tls` adds the TLS pair', () => {
    expect(enabledServices(compose.services, []).sort()).toEqual(['demo', 'redis']);
    expect(enabledServices(compose.services, ['tls']).sort()).toEqual([
      'demo',
      'demo-tls',
      'redis',
      'redis-tls',
    ]);
  });

  it('every service depends only on services enabled in the same run', () => {
    for (const profiles of [[], ['tls']]) {
      const enabled = enabledServices(compose.services, profiles);
      for (const name of enabled) {
        const dependsOn = compose.services[name]!.depends_on ?? [];
        const targets = Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn);
        for (const target of targets) expect(enabled).toContain(target);
      }
    }
  });

  it('has only top-level keys that docker compose v2 and docker-compose v1 accept', () => {
    // v1 refuses `name`; `version` is obsolete and v2 warns about it.
    const keys = Object.keys(raw).filter((key) => !key.startsWith('x-'));
    expect(keys.sort()).toEqual(['services', 'volumes']);
  });

  it('declares every named volume a service mounts', () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/')) expect(declared).toContain(source);
      }
    }
  });
});
