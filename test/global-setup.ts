import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startOpenSearch, type RunningOpenSearch } from '../local/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    opensearchUrl: string;
  }
}

let node: RunningOpenSearch | undefined;
let baseDir: string | undefined;

/** One real OpenSearch node for the whole run; CENTRALOG_OPENSEARCH_URL points tests at another. */
export async function setup(project: TestProject): Promise<void> {
  const given = process.env.CENTRALOG_OPENSEARCH_URL;
  if (given) {
    project.provide('opensearchUrl', given);
    return;
  }
  baseDir = mkdtempSync(join(tmpdir(), 'centralog-test-opensearch-'));
  const started = Date.now();
  // Fails the run loudly if java, mvn or the node is missing: integration tests never skip.
  node = await startOpenSearch({ baseDir, heap: '768m' });
  process.stderr.write(
    `OpenSearch for tests: ${node.url} (classpath ${node.classpathMs} ms, JVM to yellow ${node.startMs} ms, total ${Date.now() - started} ms)\n`,
  );
  project.provide('opensearchUrl', node.url);
}

export async function teardown(): Promise<void> {
  await node?.stop();
  if (baseDir) rmSync(baseDir, { recursive: true, force: true });
}
