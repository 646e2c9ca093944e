// Fernet from the built package beside a raw node:crypto AES-128-CBC + HMAC-SHA256 pipeline that
// writes and reads the same token format, in one run, so the ratios compare like with like.
// Run `pnpm build` first. Usage: pnpm bench [-- --time 150 --rounds 7]
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Bench } from 'tinybench';
import { Fernet } from '../dist/index.js';

const arg = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
};
const TIME_MS = arg('--time', 150);
const ROUNDS = arg('--rounds', 7);
const SIZES = [
  ['1 KiB', 1024],
  ['64 KiB', 64 * 1024],
  ['1 MiB', 1024 * 1024],
];

const key = Fernet.generateKey();
const fernet = new Fernet(key);
const keyBytes = Buffer.from(key, 'base64url');
const signingKey = keyBytes.subarray(0, 16);
const encryptionKey = keyBytes.subarray(16);

// The straightforward implementation one would write with node:crypto alone.
function rawEncrypt(data) {
  const iv = randomBytes(16);
  const header = Buffer.alloc(9);
  header[0] = 0x80;
  header.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);
  const cipher = createCipheriv('aes-128-cbc', encryptionKey, iv);
  const body = Buffer.concat([header, iv, cipher.update(data), cipher.final()]);
  const mac = createHmac('sha256', signingKey).update(body).digest();
  const text = Buffer.concat([body, mac]).toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

function rawDecrypt(token) {
  const data = Buffer.from(token, 'base64url');
  const mac = createHmac('sha256', signingKey).update(data.subarray(0, -32)).digest();
  if (data[0] !== 0x80 || !timingSafeEqual(mac, data.subarray(-32))) throw new Error('invalid token');
  const decipher = createDecipheriv('aes-128-cbc', encryptionKey, data.subarray(9, 25));
  return Buffer.concat([decipher.update(data.subarray(25, -32)), decipher.final()]);
}

// On a shared machine the load changes from second to second, so each ratio is taken within one
// short round (raw, fernet, fernet, raw: drift cancels out) and the median over rounds is printed.
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function round(tasks) {
  const bench = new Bench({ time: TIME_MS, warmupTime: Math.min(100, TIME_MS) });
  for (const [name, fn] of tasks) bench.add(name, fn);
  await bench.run();
  return bench.tasks.map((task) => 1000 / task.result.period);
}

const rows = [];
for (const [label, size] of SIZES) {
  const data = randomBytes(size);
  const token = fernet.encrypt(data);
  // Same format both ways, or the comparison means nothing.
  if (!rawDecrypt(token).equals(data) || !fernet.decrypt(rawEncrypt(data)).equals(data)) {
    throw new Error('raw pipeline and Fernet disagree');
  }
  const ops = {
    encrypt: [() => rawEncrypt(data), () => fernet.encrypt(data)],
    decrypt: [() => rawDecrypt(token), () => fernet.decrypt(token)],
  };
  for (const [op, [raw, ours]] of Object.entries(ops)) {
    const samples = { raw: [], ours: [], ratio: [] };
    for (let i = 0; i < ROUNDS; i++) {
      const [r1, o1, o2, r2] = await round([
        ['raw', raw],
        ['fernet', ours],
        ['fernet ', ours],
        ['raw ', raw],
      ]);
      samples.raw.push((r1 + r2) / 2);
      samples.ours.push((o1 + o2) / 2);
      samples.ratio.push((o1 + o2) / (r1 + r2));
    }
    const oursOps = median(samples.ours);
    const rawOps = median(samples.raw);
    rows.push({
      size: label,
      op,
      'fernet ops/s': Math.round(oursOps),
      'fernet MB/s': ((oursOps * size) / 1e6).toFixed(1),
      'raw ops/s': Math.round(rawOps),
      'raw MB/s': ((rawOps * size) / 1e6).toFixed(1),
      'fernet/raw': `${median(samples.ratio).toFixed(2)}x`,
      'min-max': `${Math.min(...samples.ratio).toFixed(2)}-${Math.max(...samples.ratio).toFixed(2)}`,
    });
  }
}

console.log(
  `@sec/cache-crypto Fernet vs raw node:crypto (node ${process.version}; median of ${ROUNDS} rounds, ${TIME_MS} ms per task)`,
);
console.table(rows);
console.log('Targets: >= 0.90x at 64 KiB; at 1 KiB as close to 1.00x as object reuse allows.');
