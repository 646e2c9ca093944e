/**
 * The audit trail: a capped, hash-chained Redis Stream of the security events the @sec packages
 * report (createAuditTrail), a reader that resumes where it stopped (createAuditReader) and the
 * chain's check (verifyAuditTrail, also `sec-redis audit verify`).
 * @packageDocumentation
 */
export type { AuditEntry } from './audit-chain.js';
export {
  type AuditReader,
  type AuditReaderOptions,
  createAuditReader,
  DEFAULT_AUDIT_BLOCK_MS,
  DEFAULT_AUDIT_READ_COUNT,
} from './audit-reader.js';
export {
  type AuditTrail,
  type AuditTrailOptions,
  createAuditTrail,
  DEFAULT_AUDIT_MAX_LEN,
} from './audit-trail.js';
export { type AuditVerification, type VerifyOptions, verifyAuditTrail } from './audit-verify.js';
export type { AuditHint } from './observer.js';
