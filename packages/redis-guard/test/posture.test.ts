import { describe, expect, it } from '@jest/globals';
import { eviction } from '../src/posture/eviction.js';
import { persistence } from '../src/posture/persistence.js';
import type { NodeReadings, Reading } from '../src/posture/probe.js';
import { protectedMode } from '../src/posture/protected-mode.js';
import { replication } from '../src/posture/replication.js';
import { tls } from '../src/posture/tls.js';

const denied = <T>(): Reading<T> => ({ ok: false, reason: 'CONFIG GET is denied to this ACL user' });
const map = (values: Record<string, string>): Reading<ReadonlyMap<string, string>> => ({
  ok: true,
  value: new Map(Object.entries(values)),
});

function readings(overrides: Partial<NodeReadings>): NodeReadings {
  return {
    address: '127.0.0.1:6379',
    topology: 'standalone',
    user: { ok: true, value: 'app' },
    info: denied(),
    config: denied(),
    commands: denied(),
    defaultUserLocked: undefined,
    ...overrides,
  };
}

describe('eviction', () => {
  it('reads CONFIG when INFO is denied; unknown when neither answers', () => {
    expect(
      eviction.evaluate(readings({ config: map({ 'maxmemory-policy': 'volatile-ttl' }) })),
    ).toMatchObject({
      status: 'fail',
      observed: 'volatile-ttl',
    });
    expect(eviction.evaluate(readings({}))).toMatchObject({ status: 'unknown', observed: undefined });
    expect(eviction.severity('production')).toBe('refuse');
    expect(eviction.severity('staging')).toBe('refuse');
    expect(eviction.severity('development')).toBe('warn');
  });
});

describe('persistence', () => {
  it('AOF from CONFIG passes; AOF off with an unknown save schedule still warns', () => {
    expect(persistence.evaluate(readings({ config: map({ appendonly: 'yes', save: '' }) })).status).toBe(
      'pass',
    );
    const partial = persistence.evaluate(readings({ info: map({ aof_enabled: '0' }) }));
    expect(partial).toMatchObject({ status: 'fail', observed: 'appendonly no' });
    expect(partial.message).toMatch(/CONFIG GET save, denied here, tells which/);
  });
});

describe('replication', () => {
  it('a max lag of 0 turns min-replicas-to-write off; Sentinel and Cluster always have replicas', () => {
    const config = map({ 'min-replicas-to-write': '1', 'min-replicas-max-lag': '0' });
    expect(replication.evaluate(readings({ topology: 'sentinel', config }))).toMatchObject({
      status: 'fail',
      observed: 'min-replicas-to-write 0',
    });
    expect(replication.evaluate(readings({ topology: 'sentinel', config, info: map({}) })).message).toMatch(
      /^Sentinel, and/,
    );
    expect(replication.evaluate(readings({ info: map({ connected_slaves: '0' }) })).status).toBe('pass');
  });
});

describe('tls', () => {
  it('an empty tls-protocols is Redis’s default, TLS 1.2 and 1.3', () => {
    const found = tls.evaluate(
      readings({ config: map({ 'tls-port': '6380', port: '0', 'tls-protocols': '' }) }),
    );
    expect(found).toMatchObject({
      status: 'pass',
      observed: 'tls-protocols "TLSv1.2 TLSv1.3", port 0, tls-port 6380',
    });
    expect(
      tls.evaluate(
        readings({ config: map({ 'tls-port': '6380', port: '0', 'tls-protocols': 'TLSv1 TLSv1.2' }) }),
      ).message,
    ).toContain('offers TLSv1 (deprecated');
  });
});

describe('protected-mode', () => {
  it.each([
    ['', true],
    ['* -::*', true],
    ['0.0.0.0', true],
    ['10.0.0.5 127.0.0.1', true],
    ['127.0.0.1 -::1', false],
    ['127.0.0.2 localhost', false],
  ])('bind "%s" with protected-mode no: warns %s', (bind, warns) => {
    const found = protectedMode.evaluate(readings({ config: map({ 'protected-mode': 'no', bind }) }));
    expect(found.status).toBe(warns ? 'fail' : 'pass');
  });
});
