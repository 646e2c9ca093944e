import { BlockList } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ipKey } from '../src/index.js';

function expand(groups: readonly number[]): string {
  return groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
}

const groups = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });

describe('ipKey', () => {
  it('keeps IPv4 addresses and unwraps IPv4-mapped IPv6', () => {
    expect(ipKey('203.0.113.9')).toBe('203.0.113.9');
    expect(ipKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(ipKey('::FFFF:cb00:7109')).toBe('203.0.113.9');
  });

  it('groups IPv6 addresses by /56 by default', () => {
    expect(ipKey('2001:db8:1234:5678::1')).toBe('2001:db8:1234:5600::/56');
    expect(ipKey('2001:db8:1234:56ff:ffff:ffff:ffff:ffff')).toBe('2001:db8:1234:5600::/56');
    expect(ipKey('2001:db8:1234:5700::1')).not.toBe(ipKey('2001:db8:1234:5600::1'));
  });

  it('honours another prefix length', () => {
    expect(ipKey('2001:db8:1:2:3:4:5:6', 64)).toBe('2001:db8:1:2::/64');
    expect(ipKey('2001:db8:1:2:3:4:5:6', 128)).toBe('2001:db8:1:2:3:4:5:6/128');
  });

  it('ignores zone ids and letter case', () => {
    expect(ipKey('FE80::1%eth0')).toBe(ipKey('fe80::2'));
  });

  it('gives undefined for a missing address and passes other strings through', () => {
    expect(ipKey(undefined)).toBeUndefined();
    expect(ipKey('')).toBeUndefined();
    expect(ipKey('not-an-ip')).toBe('not-an-ip');
  });

  it('gives the same key for every notation of an address (property)', () => {
    fc.assert(
      fc.property(fc.ipV6(), (address) => {
        const key = ipKey(address)!;
        expect(ipKey(address.toUpperCase())).toBe(key);
        const list = new BlockList();
        if (key.includes('/')) {
          const [network, bits] = key.split('/');
          list.addSubnet(network!, Number(bits), 'ipv6');
        } else {
          list.addAddress(`::ffff:${key}`, 'ipv6');
        }
        expect(list.check(address, 'ipv6')).toBe(true);
      }),
    );
    fc.assert(
      fc.property(groups, (g) => {
        const full = expand(g);
        const compressed = full.replace(/\b0+(?=[0-9a-f])/g, '');
        expect(ipKey(compressed)).toBe(ipKey(full));
      }),
    );
  });

  it('names a /56 network that contains the address, shared by the whole /56 (property)', () => {
    fc.assert(
      fc.property(groups, fc.integer({ min: 0, max: 0xff }), (g, low) => {
        fc.pre(!(g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff));
        const address = expand(g);
        const key = ipKey(address)!;
        const [network, bits] = key.split('/');
        const list = new BlockList();
        list.addSubnet(network!, Number(bits), 'ipv6');
        expect(list.check(address, 'ipv6')).toBe(true);
        const sibling = [...g];
        sibling[3] = (g[3]! & 0xff00) | low;
        sibling[7] = low;
        expect(ipKey(expand(sibling))).toBe(key);
      }),
    );
  });
});
