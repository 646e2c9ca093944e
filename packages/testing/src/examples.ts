import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { freePort } from './ports.js';
import { waitFor } from './redis-cli.js';

/**
 * The `index`-th fenced block of `language` after a Markdown heading (the whole heading line,
 * e.g. `## Example`), verbatim: what a reader copies. Throws when the heading or the block is
 * missing, so a renamed section fails the test that runs it.
 * @example const source = await markdownBlock('packages/session/README.md', '## Example');
 */
export async function markdownBlock(
  file: string,
  heading: string,
  language = 'js',
  index = 0,
): Promise<string> {
  const text = await readFile(file, 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${file}: no heading "${heading}"`);
  const fence = new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)\\n\`\`\`$`, 'gm');
  const blocks = [...text.slice(start).matchAll(fence)];
  const block = blocks[index];
  if (!block) throw new Error(`${file}: no \`\`\`${language} block #${index} after "${heading}"`);
  return `${block[1]}\n`;
}

/**
 * The environment of a process a user starts by hand: none of the npm / pnpm variables of the
 * test run, nor REDIS_* / SEC_* / NODE_ENV from the developer's shell; then `extra`.
 */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(npm_|pnpm_|PNPM_|REDIS_|SEC_|NODE_ENV$|INIT_CWD$|JEST_|NODE_OPTIONS$)/i.test(name))
      env[name] = value;
  }
  return { ...env, ...extra };
}

/** A Node.js program started by startNodeApp(), listening on `base`. */
export interface NodeApp {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<PORT>`. */
  readonly base: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Runs `node <file>` in `cwd` with `PORT` set to a free port (plus `env`, over userEnv()), and
 * resolves once it answers HTTP on that port. Rejects with its output if it exits first.
 * @example const app = await startNodeApp(dir, 'app.mjs', { SESSION_SECRET: secret });
 */
export async function startNodeApp(cwd: string, file: string, env: NodeJS.ProcessEnv = {}): Promise<NodeApp> {
  const port = await freePort();
  const child = spawn(process.execPath, [file], {
    cwd,
    env: userEnv({ PORT: String(port), ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const app: NodeApp = {
    child,
    base: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await waitFor(
      `${file} to listen`,
      async () => child.exitCode !== null || (await fetch(`${app.base}/`).then((r) => r.status)) > 0,
      30_000,
    );
    if (child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}`);
  } catch (error) {
    await app.stop();
    throw new Error(`${file} did not start: ${(error as Error).message}\n${output}`);
  }
  return app;
}
