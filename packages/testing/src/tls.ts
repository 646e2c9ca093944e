import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsMaterial {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly ca: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function signedCert(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  const ext = join(dir, `${name}.ext`);
  await run('sh', ['-c', `printf '%s\\n' "$1" > "$2"`, 'sh', extensions, ext]);
  await run('openssl', [
    'req',
    ...EC_KEY,
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.csr`),
    '-subj',
    subject,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    join(dir, `${name}.csr`),
    '-CA',
    join(dir, 'ca.crt'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    join(dir, `${name}.crt`),
    '-extfile',
    ext,
  ]);
}

/**
 * Makes a throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate.
 * @example const tls = await makeTlsMaterial(tmpDir);
 */
export async function makeTlsMaterial(dir: string): Promise<TlsMaterial> {
  await run('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    join(dir, 'ca.key'),
    '-out',
    join(dir, 'ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=sec-test-ca',
  ]);
  await signedCert(
    dir,
    'server',
    '/CN=localhost',
    'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth',
  );
  await signedCert(dir, 'client', '/CN=sec-test-client', 'extendedKeyUsage=clientAuth');
  const [ca, clientCert, clientKey] = await Promise.all(
    ['ca.crt', 'client.crt', 'client.key'].map((f) => readFile(join(dir, f), 'utf8')),
  );
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
    ca: ca!,
    clientCert: clientCert!,
    clientKey: clientKey!,
  };
}
