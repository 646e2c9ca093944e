import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, RESERVED_REDIS_PORT } from './ports.js';
import { serverPid, spawnRedisServer, stopChild } from './processes.js';
import { makeTlsMaterial, type TlsMaterial } from './tls.js';

export interface AclUser {
  readonly name: string;
  readonly password: string;
  /** ACL rules after the password; default: every key, channel and command. */
  readonly rules?: string;
}

export interface RedisServerOptions {
  /** `requirepass` for the default user. */
  readonly password?: string;
  /**
   * TLS-only server (`port 0`, `tls-port`); `clientAuth` also demands a client certificate.
   * `material` reuses certificates from `makeTlsMaterial`, so servers that talk to each other
   * (replication, Sentinel) trust one CA.
   */
  readonly tls?: boolean | { readonly clientAuth?: boolean; readonly material?: TlsMaterial };
  /** Run as a Sentinel (`redis-server <conf> --sentinel`); `config` then holds the `sentinel ...` lines. */
  readonly sentinel?: boolean;
  /** Extra ACL users. */
  readonly users?: readonly AclUser[];
  /** Further redis.conf directives, e.g. `{ 'cluster-enabled': 'yes' }`. */
  readonly config?: Readonly<Record<string, string>>;
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://` or `rediss://` URL without credentials. */
  readonly url: string;
  readonly password: string | undefined;
  readonly tls: TlsMaterial | undefined;
  readonly dir: string;
  readonly running: boolean;
  /** Crash it: SIGKILL, no shutdown, like a node failure. */
  kill(): Promise<void>;
  /** Start it again on the same port with the same configuration. */
  restart(): Promise<void>;
  /** Freeze it (SIGSTOP), like a VM pause or a stuck disk: connections stay open, nothing answers. */
  pause(): Promise<void>;
  /** Wake a paused server (SIGCONT). */
  resume(): Promise<void>;
  /** Stop it for good and remove its files. */
  stop(): Promise<void>;
}

const READY = /Ready to accept connections/;
// Sentinel never prints READY; it listens before it logs its ID.
const SENTINEL_READY = /Sentinel ID is/;
const STARTUP_TIMEOUT_MS = 10_000;

function configText(
  port: number,
  dir: string,
  options: RedisServerOptions,
  tls: TlsMaterial | undefined,
): string {
  const lines = [
    'bind 127.0.0.1',
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    'daemonize no',
    'logfile ""',
    'loglevel notice',
  ];
  if (tls) {
    const clientAuth = typeof options.tls === 'object' && options.tls.clientAuth === true;
    lines.push(
      'port 0',
      `tls-port ${port}`,
      `tls-cert-file ${tls.certFile}`,
      `tls-key-file ${tls.keyFile}`,
      `tls-ca-cert-file ${tls.caFile}`,
      `tls-auth-clients ${clientAuth ? 'yes' : 'no'}`,
      'tls-protocols "TLSv1.2 TLSv1.3"',
    );
    if (options.config?.['cluster-enabled'] === 'yes') lines.push('tls-cluster yes', 'tls-replication yes');
  } else {
    lines.push(`port ${port}`);
  }
  if (options.password !== undefined) lines.push(`requirepass "${options.password}"`);
  for (const user of options.users ?? []) {
    lines.push(`user ${user.name} on >${user.password} ${user.rules ?? '~* &* +@all'}`);
  }
  for (const [key, value] of Object.entries(options.config ?? {})) lines.push(`${key} ${value}`);
  return `${lines.join('\n')}\n`;
}

function launch(confFile: string, sentinel = false): Promise<ChildProcess> {
  const ready = sentinel ? SENTINEL_READY : READY;
  return new Promise((resolve, reject) => {
    const args = sentinel ? [confFile, '--sentinel'] : [confFile];
    const child = spawnRedisServer(args);
    let output = '';
    const timer = setTimeout(() => {
      void stopChild(child);
      reject(new Error(`redis-server did not become ready in ${STARTUP_TIMEOUT_MS} ms:\n${output}`));
    }, STARTUP_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run redis-server (is it installed and on PATH?): ${error.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`));
    });
  });
}

/**
 * Starts a real redis-server on a free loopback port.
 * @example
 * const redis = await startRedis({ password: 'p'.repeat(32), tls: true });
 * afterAll(() => redis.stop());
 */
export async function startRedis(options: RedisServerOptions = {}, fixedPort?: number): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'sec-redis-'));
  const shared = typeof options.tls === 'object' ? options.tls.material : undefined;
  const tls = options.tls ? (shared ?? (await makeTlsMaterial(dir))) : undefined;
  const port = fixedPort ?? (await freePort());
  if (port === RESERVED_REDIS_PORT) throw new Error('the harness never uses port 6379');
  const confFile = join(dir, 'redis.conf');
  await writeFile(confFile, configText(port, dir, options, tls));
  const sentinel = options.sentinel === true;
  let child: ChildProcess | undefined = await launch(confFile, sentinel);

  return {
    host: '127.0.0.1',
    port,
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    password: options.password,
    tls,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      if (child) await stopChild(child);
    },
    async restart() {
      if (child) await stopChild(child);
      child = await launch(confFile, sentinel);
    },
    async pause() {
      if (child) process.kill(await serverPid(child), 'SIGSTOP');
    },
    async resume() {
      if (child) process.kill(await serverPid(child), 'SIGCONT');
    },
    async stop() {
      if (child) await stopChild(child);
      child = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
