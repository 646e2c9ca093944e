/** Why a connection failed, in the words an operator acts on. */
export interface ConnectDiagnosis {
  /** A stable label: WRONGPASS, NOAUTH, ECONNREFUSED, CERT_UNTRUSTED, CERT_HOSTNAME, CERT_EXPIRED, TIMEOUT, … */
  readonly cause: string;
  /** What to change. */
  readonly hint: string;
  /** True when retrying cannot help (a wrong password or certificate): stop waiting at once. */
  readonly permanent: boolean;
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/**
 * Classifies a connection error from ioredis or Node (its `code`, or the Redis reply it carries).
 */
export function diagnoseConnectError(error: unknown): ConnectDiagnosis {
  const { code, message = String(error) } = (error ?? {}) as { code?: unknown; message?: string };
  const reply = /^([A-Z]+)\b/.exec(message)?.[1];
  const tlsCode = typeof code === 'string' ? code : '';
  if (reply === 'WRONGPASS' || /invalid (username-)?password/i.test(message)) {
    return {
      cause: 'WRONGPASS',
      hint: 'Redis refused the password (or the user): check REDIS_PASSWORD / REDIS_USERNAME against requirepass or the ACL user.',
      permanent: true,
    };
  }
  if (reply === 'NOAUTH') {
    return {
      cause: 'NOAUTH',
      hint: 'Redis requires a password and none was sent: set REDIS_PASSWORD.',
      permanent: true,
    };
  }
  if (/called without any password configured/i.test(message)) {
    return {
      cause: 'AUTH_NOT_CONFIGURED',
      hint: 'a password was sent but the server has none configured: set requirepass on the server (production requires one).',
      permanent: true,
    };
  }
  if (reply === 'NOPERM') {
    return {
      cause: 'NOPERM',
      hint: 'the ACL user lacks a permission the check needs (PING, SET, GET, DEL on sec-redis:check:*).',
      permanent: true,
    };
  }
  if (UNTRUSTED.has(tlsCode)) {
    return {
      cause: 'CERT_UNTRUSTED',
      hint: `the server certificate is not signed by a trusted CA (${tlsCode}): set REDIS_TLS_CA_CERT to the CA that signed it.`,
      permanent: true,
    };
  }
  if (tlsCode === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return {
      cause: 'CERT_HOSTNAME',
      hint: 'the server certificate does not name the host connected to: connect by a name it lists, or set REDIS_TLS_SERVERNAME to one.',
      permanent: true,
    };
  }
  if (tlsCode === 'CERT_HAS_EXPIRED' || tlsCode === 'CERT_NOT_YET_VALID') {
    return {
      cause: tlsCode === 'CERT_HAS_EXPIRED' ? 'CERT_EXPIRED' : 'CERT_NOT_YET_VALID',
      hint: 'the server certificate is outside its validity period: renew it (sec-redis gen-tls --force signs a new one) or check the clock.',
      permanent: true,
    };
  }
  if (tlsCode === 'EPROTO' || /wrong version number|packet length too long/i.test(message)) {
    return {
      cause: 'TLS_MISMATCH',
      hint: 'TLS was spoken to a plaintext port: use redis:// for this port, or the server TLS port with rediss://.',
      permanent: true,
    };
  }
  if (tlsCode === 'ECONNREFUSED') {
    return {
      cause: 'ECONNREFUSED',
      hint: 'nothing listens on that host and port: check the address and that Redis runs.',
      permanent: false,
    };
  }
  if (tlsCode === 'ENOTFOUND' || tlsCode === 'EAI_AGAIN') {
    return {
      cause: tlsCode,
      hint: 'the host name does not resolve: check the host in REDIS_URL.',
      permanent: false,
    };
  }
  if (tlsCode === 'ETIMEDOUT' || /timed? ?out/i.test(message)) {
    return {
      cause: 'TIMEOUT',
      hint:
        'no answer in time: a firewall dropping packets, a frozen server, or a TLS/plaintext mismatch (rediss:// to a ' +
        'plaintext port waits for ever).',
      permanent: false,
    };
  }
  if (tlsCode === 'ECONNRESET' || /connection is closed/i.test(message)) {
    return {
      cause: 'CONNECTION_CLOSED',
      hint: 'the server closed the connection: a TLS-only port spoken to in plaintext (use rediss://), or maxclients reached.',
      permanent: false,
    };
  }
  return { cause: tlsCode || reply || 'UNKNOWN', hint: 'see the message above.', permanent: false };
}
