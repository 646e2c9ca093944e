import { maskText } from './mask.js';
import { checkOptions, oneOf } from './options.js';

/** The subset of pino's API the packages call; a pino logger fits as it is. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const LEVELS: Readonly<Record<LogLevel, number>> = { debug: 20, info: 30, warn: 40, error: 50, silent: 100 };

/**
 * The default logger: one JSON object a line on stderr, `warn` and above unless SEC_LOG_LEVEL says
 * otherwise, so libraries stay quiet in a healthy app.
 * @example const logger = createJsonLogger({ level: 'info' });
 */
export function createJsonLogger(
  options: { level?: LogLevel; write?: (line: string) => void; name?: string } = {},
): Logger {
  checkOptions('createJsonLogger', options, {
    level: oneOf(Object.keys(LEVELS)),
    write: 'function',
    name: 'string',
  });
  const envLevel = process.env.SEC_LOG_LEVEL as LogLevel | undefined;
  const threshold = LEVELS[options.level ?? (envLevel && envLevel in LEVELS ? envLevel : 'warn')];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const log = (level: Exclude<LogLevel, 'silent'>) => (obj: object, msg?: string) => {
    if (LEVELS[level] < threshold) return;
    const record = { level, time: new Date().toISOString(), name: options.name ?? 'sec', ...obj, msg };
    write(`${JSON.stringify(record, errorReplacer)}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const { code } = value as Error & { code?: unknown };
    return { type: value.name, message: value.message, ...(code !== undefined && { code }) };
  }
  return value;
}

function maskValue(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === 'string') return maskText(value, secrets);
  if (value instanceof Error) {
    const copy = new Error(maskText(value.message, secrets));
    copy.name = value.name;
    const { code } = value as Error & { code?: unknown };
    if (code !== undefined) Object.assign(copy, { code });
    copy.stack = maskText(value.stack ?? '', secrets);
    return copy;
  }
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskValue(v, secrets, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v, secrets, depth + 1)]));
}

/**
 * Wraps any pino-compatible logger so that the given secrets (and URL userinfo) never reach it,
 * whatever a caller or a library error puts into a log line.
 */
export function maskingLogger(inner: Logger, secrets: () => readonly string[]): Logger {
  const wrap = (level: keyof Logger) => (obj: object, msg?: string) => {
    const list = secrets();
    inner[level](maskValue(obj, list, 0) as object, msg === undefined ? undefined : maskText(msg, list));
  };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
