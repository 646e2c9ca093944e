import { isIPv4, isIPv6 } from 'node:net';

/**
 * One customer usually holds a whole IPv6 /56 (or /48) and can rotate through 2^72 addresses;
 * counting per address would give each of them a fresh limit.
 */
export const DEFAULT_IPV6_SUBNET = 56;

/** Shared bucket for requests whose address Node could not determine (socket already closed). */
export const UNKNOWN_CLIENT_KEY = 'ip:unknown';

function parseIPv4Tail(part: string): [number, number] {
  const [a = 0, b = 0, c = 0, d = 0] = part.split('.').map(Number);
  return [(a << 8) | b, (c << 8) | d];
}

/** The eight 16-bit groups of a valid IPv6 address (embedded IPv4 tails included). */
function ipv6Groups(address: string): number[] {
  let head = address;
  let tail: number[] = [];
  const lastColon = address.lastIndexOf(':');
  if (address.includes('.', lastColon)) {
    tail = parseIPv4Tail(address.slice(lastColon + 1));
    head = address.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const hex = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const gap = head.indexOf('::');
  if (gap === -1) return [...hex(head), ...tail];
  const left = hex(head.slice(0, gap));
  const right = [...hex(head.slice(gap + 2)), ...tail];
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function maskedPrefix(groups: readonly number[], bits: number): string {
  const kept: string[] = [];
  for (let i = 0; i * 16 < bits; i++) {
    const keep = Math.min(16, bits - i * 16);
    const mask = (0xffff << (16 - keep)) & 0xffff;
    kept.push(((groups[i] ?? 0) & mask).toString(16));
  }
  return `${kept.join(':')}${kept.length < 8 ? '::' : ''}/${bits}`;
}

/**
 * The rate-limit key for a client address: IPv4 as is, IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as
 * the IPv4 address, other IPv6 addresses as their `/ipv6Subnet` network, written the same way
 * whatever notation the address came in. `undefined` or an empty address gives `undefined`.
 * @example
 * ipKey('2001:db8:1234:5678::1')    // '2001:db8:1234:5600::/56'
 * ipKey('::ffff:203.0.113.9')       // '203.0.113.9'
 * ipKey('2001:db8::1', 64)          // '2001:db8:0:0::/64'
 */
export function ipKey(ip: string | undefined, ipv6Subnet: number = DEFAULT_IPV6_SUBNET): string | undefined {
  if (!ip) return undefined;
  const zone = ip.indexOf('%');
  const address = zone === -1 ? ip : ip.slice(0, zone);
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  return maskedPrefix(groups, ipv6Subnet);
}
