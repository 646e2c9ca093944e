import { execFile } from 'node:child_process';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GeneratedTlsFiles {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

/**
 * Writes a CA and a server certificate signed by it into `outDir` with openssl (keys mode 600),
 * for a self-hosted TLS-only Redis. `hosts` become the certificate's subjectAltNames.
 * @example await generateTlsFiles('certs', { hosts: ['redis', 'localhost', '127.0.0.1'] });
 */
export async function generateTlsFiles(
  outDir: string,
  options: { hosts?: readonly string[]; days?: number } = {},
): Promise<GeneratedTlsFiles> {
  const hosts = options.hosts ?? ['localhost', '127.0.0.1', 'redis'];
  const days = String(options.days ?? 825);
  await mkdir(outDir, { recursive: true });
  const file = (name: string) => join(outDir, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.crt'),
      '-days',
      days,
      '-subj',
      '/CN=sec-redis-ca',
    ]);
    await run('openssl', [
      'req',
      ...ecKey,
      '-keyout',
      file('redis.key'),
      '-out',
      file('redis.csr'),
      '-subj',
      `/CN=${hosts[0]}`,
    ]);
    await writeFile(file('redis.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file('redis.csr'),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      days,
      '-out',
      file('redis.crt'),
      '-extfile',
      file('redis.ext'),
    ]);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'openssl is not installed or not on PATH'
        : (error as Error).message;
    throw new Error(`gen-tls failed: ${reason}`);
  }
  await Promise.all(['redis.csr', 'redis.ext', 'ca.srl'].map((f) => rm(file(f), { force: true })));
  await Promise.all([chmod(file('ca.key'), 0o600), chmod(file('redis.key'), 0o600)]);
  return {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    serverCert: file('redis.crt'),
    serverKey: file('redis.key'),
  };
}
