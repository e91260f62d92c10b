import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A server child process (a JVM) the stack started: whether it has exited, and how to stop it. */
export interface TrackedChild {
  /** The exit code once it has exited (null when killed by a signal), else undefined. */
  exited(): number | null | undefined;
  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  stop(): Promise<void>;
}

/**
 * Tracks a child so it is never orphaned: killed when this process exits (the last resort; the
 * launchers also exit when our stdin pipe closes) and stoppable with a bounded grace period.
 */
export function trackChild(child: ChildProcess, graceMs: number): TrackedChild {
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
    running.delete(child);
  });
  return {
    exited: () => exited,
    stop: async () => {
      if (exited !== undefined) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timedOut = await Promise.race([done.then(() => false), sleep(graceMs, undefined, { ref: false }).then(() => true)]);
      if (timedOut) {
        child.kill('SIGKILL');
        await done;
      }
    },
  };
}

/** The last lines of a log file, for an error message. */
export function tailOf(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
