/** A pino-compatible logger that keeps every line, so tests can assert on logs (and on secrets not being in them). */
export interface CapturedLogger {
  readonly logger: {
    debug(obj: object, msg?: string): void;
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    error(obj: object, msg?: string): void;
  };
  readonly records: { level: string; obj: object; msg: string | undefined }[];
  /** Every record serialised, errors included, for "the password appears nowhere" checks. */
  text(): string;
  messages(level?: string): string[];
}

function serialise(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v instanceof Error ? { name: v.name, message: v.message, stack: v.stack, ...(v as object) } : v,
  );
}

/**
 * @example const log = captureLogger(); createRedisGuard({ logger: log.logger }); expect(log.text()).not.toContain(pw);
 */
export function captureLogger(): CapturedLogger {
  const records: CapturedLogger['records'] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    records.push({ level, obj, msg });
  };
  return {
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    records,
    text: () => records.map((r) => `${r.level} ${r.msg ?? ''} ${serialise(r.obj)}`).join('\n'),
    messages: (level) =>
      records.filter((r) => level === undefined || r.level === level).map((r) => r.msg ?? ''),
  };
}
