import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dynalite from 'dynalite';
import kinesalite from 'kinesalite';
import S3rver from 's3rver';

/** An in-process emulator listening on 127.0.0.1. */
export interface RunningEmulator {
  name: string;
  endpoint: string;
  stop(): Promise<void>;
}

async function listenOnLoopback(name: string, server: Server): Promise<RunningEmulator> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    name,
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** Kinesis (kinesalite), in memory; its own CLI would bind every interface. */
export function startKinesis(): Promise<RunningEmulator> {
  return listenOnLoopback('kinesis', kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 }));
}

/** DynamoDB (dynalite), in memory. */
export function startDynamoDb(): Promise<RunningEmulator> {
  return listenOnLoopback('dynamodb', dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }));
}

/** S3 (s3rver) in a temporary folder, removed on stop. */
export async function startS3(directory?: string): Promise<RunningEmulator> {
  const dir = directory ?? mkdtempSync(join(tmpdir(), 'centralog-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir });
  const { port } = await server.run();
  return {
    name: 's3',
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      await server.close();
      if (!directory) rmSync(dir, { recursive: true, force: true });
    },
  };
}
