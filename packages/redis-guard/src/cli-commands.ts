import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type AclValues, runAcl } from './cli-acl.js';
import { type AuditValues, runAudit } from './cli-audit.js';
import { runCheck } from './cli-check.js';
import { writeFileAtomically } from './cli-files.js';
import { detectEnvironment, ENVIRONMENTS, type Environment } from './environment.js';
import { RedisGuardErrorCode as Code, SecError } from './errors.js';
import { GENERATED_PASSWORD_LENGTH, generateFernetKey, generatePassword } from './secrets.js';
import { generateTlsFiles } from './tls-files.js';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Where `acl` looks for the app's packages; default the working directory. */
  readonly cwd?: string;
  /** Ends `audit tail --follow`. */
  readonly signal?: AbortSignal;
}

const USAGE = `Usage: sec-redis <command> [options]

Commands:
  gen-password [--env production|staging|development|test]   random password (48/32/24/12 chars)
  gen-key                                                    Fernet key for REDIS_ENCRYPTION_KEY
  gen-tls [--out certs/] [--ca-dir ca/] [--host name ...] [--force]
                                 server certificate in --out (mount it into Redis), signed by the CA
                                 in --ca-dir (created once, never replaced, kept out of --out)
  gen-env [--env production] [--out .env] [--force]          a .env with all of the above (mode 600)
  check [--env-file .env]                                    validate this environment, connect, PING,
                                                             SET/GET/DEL a probe key, audit the server's
                                                             settings; exit 1 on failure or a refusal
  acl [--user app] [--env-file .env] [--packages session,rate-limit,cache-crypto]
      [--key-prefix sec:] [--session-channel name] [--cache-namespace ns ...] [--no-audit] [--audit-trail]
      [--rule-only]
                                 the least-privilege ACL user for the @sec packages installed here
  audit tail [--follow] [--user id] [--type event.type] [--count 20] [--env-file .env] [--key-prefix sec:]
                                 the newest audit trail entries, then (--follow) new ones as they come
  audit verify [--anchor <id>=<hash>] [--env-file .env] [--key-prefix sec:]
                                 check the trail's hash chain: exit 0 when intact (entries trimmed by the
                                 cap are reported as such), 1 naming the first deleted, inserted or
                                 altered entry; --anchor: a head recorded earlier must still be there

Files are never overwritten without --force; secret files always end at mode 600.
`;

const COMMAND_OPTIONS = {
  'gen-password': { env: { type: 'string' } },
  'gen-key': {},
  'gen-tls': {
    out: { type: 'string' },
    'ca-dir': { type: 'string' },
    host: { type: 'string', multiple: true },
    force: { type: 'boolean' },
  },
  'gen-env': { env: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } },
  check: { 'env-file': { type: 'string' } },
  acl: {
    user: { type: 'string' },
    'env-file': { type: 'string' },
    packages: { type: 'string' },
    'key-prefix': { type: 'string' },
    'session-channel': { type: 'string' },
    'cache-namespace': { type: 'string', multiple: true },
    'no-audit': { type: 'boolean' },
    'rule-only': { type: 'boolean' },
    'audit-trail': { type: 'boolean' },
  },
  audit: {
    'env-file': { type: 'string' },
    'key-prefix': { type: 'string' },
    follow: { type: 'boolean' },
    user: { type: 'string' },
    type: { type: 'string' },
    count: { type: 'string' },
    anchor: { type: 'string' },
  },
} as const;

type Command = keyof typeof COMMAND_OPTIONS;

function usageError(message: string): SecError {
  return new SecError(Code.CliUsage, message);
}

function parse<C extends Command>(command: C, args: readonly string[]) {
  try {
    return parseArgs({ args: [...args], options: COMMAND_OPTIONS[command], strict: true }).values as {
      env?: string;
      out?: string;
      'ca-dir'?: string;
      host?: string[];
      force?: boolean;
      'env-file'?: string;
    } & AclValues &
      AuditValues;
  } catch (error) {
    throw usageError(`${(error as Error).message.replace(/\. To specify.*$/s, '')} (see sec-redis help)`);
  }
}

function environmentArg(value: string | undefined, io: CliIo): Environment {
  if (value === undefined) return detectEnvironment(io.env).name;
  if (!ENVIRONMENTS.includes(value as Environment)) {
    throw usageError(`--env must be one of ${ENVIRONMENTS.join(', ')}, got "${value}"`);
  }
  return value as Environment;
}

async function genEnv(values: ReturnType<typeof parse>, io: CliIo): Promise<void> {
  const environment = environmentArg(values.env, io);
  const password = generatePassword(GENERATED_PASSWORD_LENGTH[environment]);
  const strict = environment === 'production' || environment === 'staging';
  const lines = [
    `# Generated by sec-redis gen-env for ${environment}. Keep this file out of version control.`,
    `NODE_ENV=${environment}`,
    `REDIS_URL=${strict ? 'rediss://redis:6380' : 'redis://127.0.0.1:6379'}`,
    `REDIS_PASSWORD=${password}`,
    ...(strict ? ['REDIS_TLS_CA_CERT=certs/ca.crt'] : []),
    `REDIS_ENCRYPTION_KEY=${generateFernetKey()}`,
    `SESSION_SECRET=${generatePassword(64)}`,
  ];
  const text = `${lines.join('\n')}\n`;
  if (values.out) {
    await writeFileAtomically(values.out, text, { mode: 0o600, force: values.force === true });
    io.out(`wrote ${values.out} (mode 600) for ${environment}\n`);
  } else {
    io.out(text);
  }
}

async function genTls(values: ReturnType<typeof parse>, io: CliIo): Promise<void> {
  const outDir = values.out ?? 'certs';
  const files = await generateTlsFiles(outDir, {
    ...(values.host && values.host.length > 0 && { hosts: values.host }),
    ...(values['ca-dir'] && { caDir: values['ca-dir'] }),
    force: values.force === true,
  });
  const ca = files.newCa
    ? `new CA: ${files.caCert}, key ${files.caKey} (mode 600)`
    : `signed with the existing CA ${files.caCert} (never replaced)`;
  io.out(
    `${ca}\nwrote ${files.serverCert}, ${files.serverKey} (mode 600), ${files.serverCaCert}\n` +
      `Mount ${outDir} into Redis; keep ${files.caKey} off every server (only the machine that issues certificates needs it).\n` +
      `redis-server: --port 0 --tls-port 6380 --tls-cert-file ${join(outDir, 'redis.crt')} --tls-key-file ${join(outDir, 'redis.key')} --tls-ca-cert-file ${files.serverCaCert} --tls-auth-clients no\n` +
      `app: REDIS_TLS_CA_CERT=${files.serverCaCert}\n`,
  );
}

/**
 * The `sec-redis` command line; returns the exit code.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'gen-password':
        io.out(
          `${generatePassword(GENERATED_PASSWORD_LENGTH[environmentArg(parse(command, args).env, io)])}\n`,
        );
        return 0;
      case 'gen-key':
        parse(command, args);
        io.out(`${generateFernetKey()}\n`);
        return 0;
      case 'gen-tls':
        await genTls(parse(command, args), io);
        return 0;
      case 'gen-env':
        await genEnv(parse(command, args), io);
        return 0;
      case 'check':
        return await runCheck(io, parse(command, args)['env-file']);
      case 'acl':
        return await runAcl(io, parse(command, args));
      case 'audit': {
        const [sub, ...rest] = args;
        return await runAudit(io, sub, parse(command, rest));
      }
      case undefined:
      case 'help':
      case '--help':
        io.out(USAGE);
        return command === undefined ? 1 : 0;
      default:
        io.err(`unknown command "${command}"\n\n${USAGE}`);
        return 1;
    }
  } catch (error) {
    const code = error instanceof SecError ? ` [${error.code}]` : '';
    io.err(`sec-redis ${command}: ${(error as Error).message}${code}\n`);
    return 1;
  }
}
