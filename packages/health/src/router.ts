import express, { type Request, type Response, type Router } from 'express';
import { detailedBody, HEALTH_JSON_TYPE, healthJsonBody, readyBody, statusCode } from './bodies.js';
import type { HealthReport } from './check.js';

/** What the router needs from a health object. */
export interface HealthSource {
  readonly version: string | undefined;
  check(): Promise<HealthReport>;
}

function wantsHealthJson(req: Request): boolean {
  // `*/*` and plain JSON clients get the classic bodies; only an explicit preference switches format.
  return req.accepts(['application/json', HEALTH_JSON_TYPE]) === HEALTH_JSON_TYPE;
}

function send(res: Response, code: number, body: object, healthJson: boolean): void {
  if (healthJson) res.type(HEALTH_JSON_TYPE);
  res.status(code).json(body);
}

/**
 * `/live`, `/ready` and `/detailed`, for `app.use('/health', …)`. Every answer is `no-store`: a
 * cached "ready" from a proxy would hide an outage from the load balancer.
 */
export function createHealthRouter(health: HealthSource): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    res.vary('Accept');
    next();
  });
  // Liveness never touches a dependency: a Redis outage must not make Kubernetes restart every pod.
  router.get('/live', (req, res) => {
    const healthJson = wantsHealthJson(req);
    const version = health.version === undefined ? {} : { version: health.version };
    send(
      res,
      200,
      healthJson ? { status: 'pass', ...version } : { status: 'alive', healthy: true, ...version },
      healthJson,
    );
  });
  // Rejections go to next() explicitly: Express 4's router does not catch a rejected handler.
  router.get('/ready', (req, res, next) => {
    health.check().then((report) => {
      const healthJson = wantsHealthJson(req);
      send(res, statusCode(report), healthJson ? healthJsonBody(report) : readyBody(report), healthJson);
    }, next);
  });
  router.get('/detailed', (req, res, next) => {
    health.check().then((report) => {
      const healthJson = wantsHealthJson(req);
      send(res, statusCode(report), healthJson ? healthJsonBody(report) : detailedBody(report), healthJson);
    }, next);
  });
  return router;
}
