/** Ctrl-C or SIGTERM: the work stopped early, after cleaning up. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
}

/** Stops long work cleanly on Ctrl-C or SIGTERM; a second signal exits at once. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${sig}: stopping cleanly (a second signal exits at once)...\n`);
    controller.abort(new InterruptedError(`interrupted by ${sig}; everything started was stopped`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

