import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { Fernet, MultiFernet } from '../src/index.js';

const hasPython =
  spawnSync('python3', ['-c', 'import cryptography.fernet'], { stdio: 'ignore' }).status === 0;
if (!hasPython) {
  process.stderr.write(
    "\n[notice] python3 with 'cryptography' is not available: skipping the Python interop tests.\n\n",
  );
}

/** Runs a Python snippet with `args` (JSON) bound to `a`; the snippet prints one JSON value. */
function python(code: string, args: Record<string, unknown>): unknown {
  const script = `import json, sys, time, zlib\nfrom cryptography.fernet import Fernet, MultiFernet, InvalidToken\na = json.load(sys.stdin)\n${code}`;
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(args), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as unknown;
}

(hasPython ? describe : describe.skip)("interop with Python's cryptography.fernet", () => {
  it('Python decrypts (with a ttl) what Node encrypted, under a Node key', () => {
    const key = Fernet.generateKey();
    const token = new Fernet(key).encrypt('from node ✓');
    const out = python(`print(json.dumps(Fernet(a['key']).decrypt(a['token'], ttl=60).decode()))`, {
      key,
      token,
    });
    expect(out).toBe('from node ✓');
  });

  it('Node decrypts what Python encrypted, and reads its timestamp', () => {
    const key = Fernet.generateKey();
    const out = python(
      `f = Fernet(a['key'])\nt = f.encrypt_at_time(b'from python', 1700000000)\nprint(json.dumps([t.decode(), f.encrypt(b'now').decode()]))`,
      { key },
    ) as [string, string];
    const fernet = new Fernet(key);
    expect(fernet.decrypt(out[0]).toString()).toBe('from python');
    expect(fernet.extractTimestamp(out[0])).toBe(1_700_000_000n);
    expect(fernet.decrypt(out[1], { ttlSeconds: 60 }).toString()).toBe('now');
  });

  it("accepts keys from Python's Fernet.generate_key(), and Python accepts ours", () => {
    const pyKey = python('print(json.dumps(Fernet.generate_key().decode()))', {}) as string;
    const token = new Fernet(pyKey).encrypt('k');
    expect(
      python(`print(json.dumps(Fernet(a['key']).decrypt(a['token']).decode()))`, { key: pyKey, token }),
    ).toBe('k');
  });

  it('rotates both ways, keeping timestamps: Node rotates Python tokens and Python rotates Node tokens', () => {
    const oldKey = Fernet.generateKey();
    const newKey = Fernet.generateKey();
    const pyOld = python(`print(json.dumps(Fernet(a['k']).encrypt_at_time(b'py', 1600000000).decode()))`, {
      k: oldKey,
    }) as string;
    const rotatedByNode = new MultiFernet([newKey, oldKey]).rotate(pyOld);
    const checked = python(
      `t = a['t'].encode()\nf = Fernet(a['new'])\nprint(json.dumps([f.decrypt(t).decode(), f.extract_timestamp(t)]))`,
      { t: rotatedByNode, new: newKey },
    );
    expect(checked).toEqual(['py', 1_600_000_000]);

    const nodeOld = new Fernet(oldKey).encryptAtTime('node', 1_500_000_000);
    const rotatedByPython = python(
      `m = MultiFernet([Fernet(a['new']), Fernet(a['old'])])\nprint(json.dumps(m.rotate(a['t'].encode()).decode()))`,
      { t: nodeOld, new: newKey, old: oldKey },
    ) as string;
    expect(new Fernet(newKey).decrypt(rotatedByPython).toString()).toBe('node');
    expect(new Fernet(newKey).extractTimestamp(rotatedByPython)).toBe(1_500_000_000n);
  });

  it('both reject the same tampered and expired tokens', () => {
    const key = Fernet.generateKey();
    const fernet = new Fernet(key);
    const old = fernet.encryptAtTime('x', 1000);
    const token = fernet.encrypt('y');
    const tampered = `${token.slice(0, 40)}${token[40] === 'A' ? 'B' : 'A'}${token.slice(41)}`;
    const verdicts = python(
      `f = Fernet(a['key'])\nout = []\nfor t, ttl in a['cases']:\n    try:\n        f.decrypt(t, ttl=ttl); out.append('ok')\n    except InvalidToken:\n        out.append('invalid')\nprint(json.dumps(out))`,
      {
        key,
        cases: [
          [old, 60],
          [tampered, null],
          [token, 60],
        ],
      },
    );
    expect(verdicts).toEqual(['invalid', 'invalid', 'ok']);
    expect(() => fernet.decrypt(old, { ttlSeconds: 60 })).toThrow('invalid Fernet token');
    expect(() => fernet.decrypt(tampered)).toThrow('invalid Fernet token');
  });
});
