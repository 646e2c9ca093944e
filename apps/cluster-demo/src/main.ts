import cluster from 'node:cluster';
import { runPrimary } from './primary.js';
import { runWorker } from './worker.js';

await (cluster.isPrimary ? runPrimary() : runWorker());
