// Summarises V8 CPU profiles from `node src/run.mjs --cpu-prof`: where each server's CPU time went.
//   node src/profile-summary.mjs <profile dir>        µs per request by package, every stack side by side
//   node src/profile-summary.mjs <file.cpuprofile> [top=25]   one stack: by package, by function, inclusive
// Only busy (non-idle) time counts: each server idles while the other stacks are measured.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** "express", "@sec/session", "node:_http_outgoing", "(garbage collector)", ... */
function owner({ url, functionName }) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url.split('/')[0];
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = path.slice(modules + '/node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  const workspace = /\/packages\/([^/]+)\//.exec(path);
  if (workspace) return `@sec/${workspace[1]}`;
  return path.includes('/bench/') ? 'bench' : path;
}

function label(frame) {
  const where = frame.url ? `${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'} ${where}  [${owner(frame)}]`.replace(/ {2}\[/, '  [').trim();
}

const add = (map, key, ms) => map.set(key, (map.get(key) ?? 0) + ms);

function summarise(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // Each sample's time delta belongs to the node it landed in.
  const selfMs = new Map();
  for (const [i, id] of profile.samples.entries()) add(selfMs, id, (profile.timeDeltas[i] ?? 0) / 1000);
  const result = { busyMs: 0, byOwner: new Map(), byFunction: new Map(), inclusive: new Map() };
  for (const [id, ms] of selfMs) {
    const frame = nodes.get(id).callFrame;
    if (frame.functionName === '(idle)') continue;
    result.busyMs += ms;
    add(result.byOwner, owner(frame), ms);
    add(result.byFunction, label(frame), ms);
    // Inclusive: credit each distinct function on the stack once (recursion counted once).
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const name = label(nodes.get(at).callFrame);
      if (!seen.has(name)) add(result.inclusive, name, ms);
      seen.add(name);
    }
  }
  return result;
}

const ranked = (map, limit) => [...map].sort((a, b) => b[1] - a[1]).slice(0, limit);

function describeFile(file, top) {
  const { busyMs, byOwner, byFunction, inclusive } = summarise(file);
  const print = (title, map, limit) => {
    console.log(`\n${title}`);
    for (const [name, ms] of ranked(map, limit))
      console.log(`${((ms / busyMs) * 100).toFixed(1).padStart(5)}%  ${name}`);
  };
  console.log(`${file}: ${(busyMs / 1000).toFixed(2)} s busy (percentages are of busy time)`);
  print('self time by package', byOwner, 20);
  print('self time by function', byFunction, top);
  print('inclusive time', inclusive, top);
}

function compareDir(dir) {
  const requests = JSON.parse(readFileSync(join(dir, 'requests.json'), 'utf8'));
  const stacks = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => basename(name, '.cpuprofile'))
    .filter((name) => requests[name]);
  const perRequest = new Map(stacks.map((stack) => [stack, summarise(join(dir, `${stack}.cpuprofile`))]));
  const us = (stack, ms) => ((ms * 1000) / requests[stack]).toFixed(1);
  const owners = new Map();
  for (const [stack, { byOwner }] of perRequest) {
    for (const [name, ms] of byOwner) owners.set(name, Math.max(owners.get(name) ?? 0, ms / requests[stack]));
  }
  console.log(`CPU µs per request by package (${dir})\n`);
  console.log(`| package | ${stacks.join(' | ')} |`);
  console.log(`| --- | ${stacks.map(() => '---:').join(' | ')} |`);
  console.log(`| **total busy** | ${stacks.map((s) => us(s, perRequest.get(s).busyMs)).join(' | ')} |`);
  for (const [name] of ranked(owners, 22)) {
    console.log(
      `| ${name} | ${stacks.map((s) => us(s, perRequest.get(s).byOwner.get(name) ?? 0)).join(' | ')} |`,
    );
  }
}

const [target, topArg] = process.argv.slice(2);
if (!target) {
  console.error('usage: node src/profile-summary.mjs <profile dir | file.cpuprofile> [top]');
  process.exit(2);
}
if (statSync(target).isDirectory()) compareDir(target);
else describeFile(target, Number(topArg ?? 25));
