/**
 * The demo's own error codes, declared the way every @sec package declares its codes, so they are
 * part of `SecErrorCode` and a typo in one does not compile.
 */
declare module '@sec/redis-guard' {
  interface SecErrorCodes {
    ERR_SEC_DEMO_SETTING_INVALID: true;
    ERR_SEC_DEMO_SETTING_MISSING: true;
    ERR_SEC_DEMO_USERS_INVALID: true;
  }
}

export {};
