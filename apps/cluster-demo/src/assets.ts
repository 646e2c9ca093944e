import { fileURLToPath } from 'node:url';

/**
 * The dashboard's static files (`apps/cluster-demo/public`). Resolved from this module, which sits
 * one level below the package both as `src/assets.ts` and bundled into `dist/`, so they are found
 * wherever the demo is started from.
 */
export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
