import { ListTopicsCommand } from '@aws-sdk/client-sns';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { createSnsClient } from '../../consumers/alerts/index.ts';
import { startLocalStack } from '../../local/index.ts';

describe('the local stack with alerts', () => {
  it("starts moto's server as SNS on 127.0.0.1 with the alerts topic, and stops it with the stack", async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'centralog-stack-sns-'));
    const stack = await startLocalStack({ workDir, alerts: true, env: { CENTRALOG_OPENSEARCH_URL: inject('opensearchUrl') } });
    try {
      expect(stack.sns?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(stack.sns?.topicArn).toMatch(/^arn:aws:sns:us-east-1:\d{12}:centralog-alerts$/);
      expect(stack.services.find((s) => s.name === 'sns')).toEqual({ name: 'sns', endpoint: stack.sns!.endpoint, embedded: true });
      const topics = await createSnsClient('us-east-1', stack.sns!.endpoint).send(new ListTopicsCommand({}));
      expect(topics.Topics?.map((t) => t.TopicArn)).toContain(stack.sns!.topicArn);
    } finally {
      await stack.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
    await expect(fetch(`${stack.sns!.endpoint}/moto-api/`)).rejects.toThrow();
  }, 120_000);

  it('starts no SNS unless asked', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'centralog-stack-sns-'));
    const stack = await startLocalStack({ workDir, env: { CENTRALOG_OPENSEARCH_URL: inject('opensearchUrl') } });
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
    expect(stack.sns).toBeUndefined();
    expect(stack.services.map((s) => s.name)).not.toContain('sns');
  }, 60_000);
});
