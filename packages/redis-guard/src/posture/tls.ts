import { fail, pass, type RuleDefinition, unknown, warnEverywhere } from './rule.js';
import { PostureFindingCode as Finding } from './types.js';

/** Redis's own default when tls-protocols is empty. */
const DEFAULT_PROTOCOLS = 'TLSv1.2 TLSv1.3';
const OLD = new Set(['TLSv1', 'TLSv1.1']);

/**
 * tls-protocols, and a plaintext port beside the TLS one. The client already insists on TLS 1.3
 * in production, but the server's offer is what every other client (and a downgrade) gets:
 * TLS 1.0/1.1 are deprecated (RFC 8996), and an open plaintext port lets anything on the network
 * path talk, and send its password, in the clear. A warning.
 */
export const tls: RuleDefinition = {
  rule: 'tls',
  code: Finding.TlsProtocols,
  setting: 'tls-protocols, port',
  override: 'REDIS_ACCEPT_OLD_TLS',
  severity: warnEverywhere,
  evaluate({ config }) {
    if (!config.ok) {
      return unknown(
        config.reason,
        '`openssl s_client -connect <host>:<port> -tls1_1` must fail, and as an admin CONFIG GET port must be 0 when tls-port is set.',
      );
    }
    const tlsPort = Number(config.value.get('tls-port') ?? 0);
    const port = Number(config.value.get('port') ?? 0);
    if (tlsPort === 0) {
      return pass(
        'no TLS port',
        "The server offers no TLS; the connection's own rules apply (production requires TLS unless REDIS_INSECURE_ALLOW_PLAINTEXT=true).",
      );
    }
    const offered = (config.value.get('tls-protocols') ?? '').trim() || DEFAULT_PROTOCOLS;
    const old = offered.split(/\s+/).filter((p) => OLD.has(p));
    const problems: string[] = [];
    if (old.length > 0) {
      problems.push(
        `tls-protocols offers ${old.join(' and ')} (deprecated, RFC 8996): set tls-protocols "TLSv1.2 TLSv1.3" (or "TLSv1.3")`,
      );
    }
    if (port !== 0) {
      problems.push(
        `port ${port} accepts plaintext beside tls-port ${tlsPort}: anything on the network path can connect, and send its password, in the clear; set port 0`,
      );
    }
    const observed = `tls-protocols "${offered}", port ${port}, tls-port ${tlsPort}`;
    if (problems.length === 0) return pass(observed, `TLS only, offering ${offered}.`);
    return fail(observed, `${problems.join('; ')}.`);
  },
};
