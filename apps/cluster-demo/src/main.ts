import cluster from 'node:cluster';

if (cluster.isPrimary) {
  // Ctrl-C reaches every process of the terminal's group at any moment, and loading the packages
  // takes a moment: until runPrimary() installs its own handlers, a signal is remembered here
  // rather than killing the primary mid-start (which `pnpm demo` would report as a failure).
  let early: NodeJS.Signals | undefined;
  const remember = (signal: NodeJS.Signals) => {
    early ??= signal;
  };
  process.on('SIGINT', remember);
  process.on('SIGTERM', remember);
  const { runPrimary } = await import('./primary.js');
  process.off('SIGINT', remember);
  process.off('SIGTERM', remember);
  await runPrimary(early);
} else {
  const { runWorker } = await import('./worker.js');
  await runWorker();
}
