// The soak test's local stack (Kinesis, DynamoDB, S3 and its own OpenSearch node, all on
// 127.0.0.1) in a process of its own, so the emulators keep answering the workers while the
// soak process is busy producing events and running the Firehose transform.
// Prints one JSON line (endpoints, OpenSearch URL and pid) once up; stops the stack when its
// stdin closes (the soak process ended, however it ended) or on SIGTERM/SIGINT.
import { startLocalStack, type LocalStack } from '../local/index.ts';

/** The first line the soak process reads. */
export interface SoakStackReady {
  endpoints: LocalStack['endpoints'];
  opensearchUrl: string;
  opensearchPid: number;
}

const workDir = process.argv[2];
if (!workDir) {
  process.stderr.write('usage: soak-stack.ts <work dir>\n');
  process.exit(2);
}

const stack = await startLocalStack({ workDir, onStatus: (m) => process.stderr.write(`[stack] ${m}\n`) });
let stopping = false;
const shutdown = async (code: number): Promise<void> => {
  if (stopping) return;
  stopping = true;
  // A node left frozen by SIGSTOP would ignore the stop.
  if (stack.opensearch) {
    try {
      process.kill(stack.opensearch.pid, 'SIGCONT');
    } catch {
      // already gone
    }
  }
  await stack.stop();
  process.exit(code);
};
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(130));
process.stdin.on('close', () => void shutdown(0));
process.stdin.on('end', () => void shutdown(0));
process.stdin.resume();

if (!stack.opensearch) {
  process.stderr.write('soak: the soak test freezes its own OpenSearch node, so it must start one: unset CENTRALOG_OPENSEARCH_URL\n');
  await shutdown(2);
} else {
  const ready: SoakStackReady = { endpoints: stack.endpoints, opensearchUrl: stack.opensearchUrl, opensearchPid: stack.opensearch.pid };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}
