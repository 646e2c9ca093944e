import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { exists, refuseExisting, writeFileAtomically } from './cli-files.js';
import { RedisGuardErrorCode as Code, SecError } from './errors.js';

const run = promisify(execFile);

export interface GeneratedTlsFiles {
  /** The CA certificate kept with its key, outside the server's directory. */
  readonly caCert: string;
  readonly caKey: string;
  /** A copy of the CA certificate beside the server's files, for Redis and for clients. */
  readonly serverCaCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** False when an existing CA signed the new server certificate. */
  readonly newCa: boolean;
}

export interface TlsFileOptions {
  /** subjectAltNames of the server certificate; default localhost, 127.0.0.1 and redis. */
  readonly hosts?: readonly string[];
  readonly days?: number;
  /** Where the CA key lives; default: a `ca` directory beside `outDir`. Never inside `outDir`. */
  readonly caDir?: string;
  /** Replace existing server files. An existing CA is never replaced: it signs the new certificate. */
  readonly force?: boolean;
}

function inside(child: string, parent: string): boolean {
  const path = relative(resolve(parent), resolve(child));
  return path === '' || (!path.startsWith('..') && !isAbsolute(path));
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'openssl is not installed or not on PATH'
        : (error as Error).message;
    throw new Error(`gen-tls failed: ${reason}`);
  }
}

/** Settles where the CA comes from before anything is written: reuse a complete one, refuse a broken one. */
async function caPlan(outDir: string, caDir: string): Promise<{ reuse: boolean }> {
  if (inside(caDir, outDir)) {
    throw new SecError(
      Code.CliCaRefused,
      `the CA directory ${caDir} is inside ${outDir}, the directory the Redis server reads: anyone with the ` +
        'server could then issue certificates your clients trust. Pass --ca-dir outside it.',
    );
  }
  if (await exists(join(outDir, 'ca.key'))) {
    throw new SecError(
      Code.CliCaRefused,
      `${join(outDir, 'ca.key')} is a CA private key inside the directory the Redis server reads. Move the CA out ` +
        `first (mkdir -p ${caDir} && mv ${join(outDir, 'ca.key')} ${caDir}/ && cp ${join(outDir, 'ca.crt')} ${caDir}/), ` +
        'then run gen-tls again: it signs with that CA and never replaces it.',
    );
  }
  const [cert, key] = await Promise.all([exists(join(caDir, 'ca.crt')), exists(join(caDir, 'ca.key'))]);
  if (cert !== key) {
    throw new SecError(
      Code.CliCaRefused,
      `${join(caDir, cert ? 'ca.crt' : 'ca.key')} exists without ${cert ? 'ca.key' : 'ca.crt'}. sec-redis never ` +
        'replaces a CA: restore the missing file, or move the directory away to start a new CA.',
    );
  }
  return { reuse: cert && key };
}

/**
 * Writes a server certificate for a self-hosted TLS-only Redis, signed by a CA (made on first use,
 * reused afterwards, never replaced). The CA key stays in `caDir`, outside `outDir`, which is the
 * directory to mount into Redis; `outDir` gets the server key (mode 600), its certificate and a
 * copy of the CA certificate. Existing server files are replaced only with `force`.
 */
export async function generateTlsFiles(
  outDir: string,
  options: TlsFileOptions = {},
): Promise<GeneratedTlsFiles> {
  const hosts = options.hosts ?? ['localhost', '127.0.0.1', 'redis'];
  const days = String(options.days ?? 825);
  const caDir = options.caDir ?? join(dirname(resolve(outDir)), 'ca');
  const files = {
    caCert: join(caDir, 'ca.crt'),
    caKey: join(caDir, 'ca.key'),
    serverCaCert: join(outDir, 'ca.crt'),
    serverCert: join(outDir, 'redis.crt'),
    serverKey: join(outDir, 'redis.key'),
  };
  const { reuse } = await caPlan(outDir, caDir);
  await refuseExisting([files.serverCaCert, files.serverCert, files.serverKey], options.force === true);

  // openssl writes into a private scratch directory beside the CA (keys never pass through a shared
  // /tmp); the results then move into place atomically.
  await mkdir(caDir, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(caDir, '.sec-redis-'));
  const scratch = (name: string) => join(work, name);
  const caCert = reuse ? files.caCert : scratch('ca.crt');
  const caKey = reuse ? files.caKey : scratch('ca.key');
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  try {
    if (!reuse) {
      const ca = ['-keyout', caKey, '-out', caCert];
      await openssl(['req', '-x509', ...ecKey, ...ca, '-days', days, '-subj', '/CN=sec-redis-ca']);
    }
    const request = ['-keyout', scratch('redis.key'), '-out', scratch('redis.csr')];
    await openssl(['req', ...ecKey, ...request, '-subj', `/CN=${hosts[0]}`]);
    await writeFile(scratch('redis.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    await openssl([
      'x509',
      '-req',
      '-in',
      scratch('redis.csr'),
      '-CA',
      caCert,
      '-CAkey',
      caKey,
      '-CAserial',
      scratch('ca.srl'),
      '-CAcreateserial',
      '-days',
      days,
      '-out',
      scratch('redis.crt'),
      '-extfile',
      scratch('redis.ext'),
    ]);
    const read = (name: string) => readFile(scratch(name));
    if (!reuse) {
      await writeFileAtomically(files.caKey, await read('ca.key'), { mode: 0o600, force: false });
      await writeFileAtomically(files.caCert, await read('ca.crt'), { mode: 0o644, force: false });
    }
    await mkdir(outDir, { recursive: true });
    const force = options.force === true;
    await writeFileAtomically(files.serverKey, await read('redis.key'), { mode: 0o600, force });
    await writeFileAtomically(files.serverCert, await read('redis.crt'), { mode: 0o644, force });
    await writeFileAtomically(files.serverCaCert, await readFile(caCert), { mode: 0o644, force });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { ...files, newCa: !reuse };
}
