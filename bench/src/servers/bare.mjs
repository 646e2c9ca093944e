// Baseline: Express 5 and the handler, nothing else.
import express from 'express';
import { BENCH_USER, ROUTE, serve } from './serve.mjs';

const app = express();
app.get(ROUTE, (_req, res) => {
  res.json({ userId: BENCH_USER, roles: ['user'] });
});
await serve(app);
