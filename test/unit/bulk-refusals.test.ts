import type { Client } from '@opensearch-project/opensearch';
import { describe, expect, it } from 'vitest';
import { RefusalBreaker } from '../../consumers/scheduler/breaker.ts';
import { BulkSink, type BulkDocument, type RejectedDocument } from '../../consumers/sinks/opensearch-bulk.ts';
import { errorSignature, isRetryableStatus, requestRefusal, systemicItemRefusal, SystemicRefusalError } from '../../consumers/sinks/refusals.ts';

const ROLE = 'arn:aws:iam::123456789012:role/centralog-consumer';

describe('bulk item errors: document errors versus systemic refusals', () => {
  // Item errors as OpenSearch 2.19 answers them (write block, auto-create off: seen on the real node).
  it('holds a write-blocked index, naming it and how to lift the block', () => {
    const r = systemicItemRefusal(403, { type: 'cluster_block_exception', reason: 'index [logs-aws.vpcflow-2026.01.02] blocked by: [FORBIDDEN/8/index write (api)];' });
    expect(r).toMatchObject({ cause: 'write_block', index: 'logs-aws.vpcflow-2026.01.02' });
    expect(r!.advice).toMatch(/^index logs-aws\.vpcflow-2026\.01\.02 is write-blocked: .*index\.blocks\.write/);
  });

  it('holds a cluster-wide read-only block', () => {
    const r = systemicItemRefusal(403, { type: 'cluster_block_exception', reason: 'blocked by: [FORBIDDEN/6/cluster read-only (api)];' });
    expect(r).toMatchObject({ cause: 'write_block', index: undefined });
    expect(r!.advice).toMatch(/cluster\.blocks\.read_only/);
  });

  it('holds a missing index when auto-create is off, saying to install the templates and allow or create the index', () => {
    const r = systemicItemRefusal(404, {
      type: 'index_not_found_exception',
      reason: 'no such index [logs-aws.cloudtrail-2026.01.02] and [action.auto_create_index] is [false]',
      index: 'logs-aws.cloudtrail-2026.01.02',
    });
    expect(r).toMatchObject({ cause: 'index_missing', index: 'logs-aws.cloudtrail-2026.01.02' });
    expect(r!.advice).toMatch(/auto-create is off .*centralog bootstrap.*create the index/);
  });

  it('holds a security_exception, naming the role to map', () => {
    const r = systemicItemRefusal(403, {
      type: 'security_exception',
      reason: `no permissions for [indices:data/write/bulk[s]] and User [name=${ROLE}, backend_roles=[${ROLE}], requestedTenant=null]`,
    });
    expect(r).toMatchObject({ cause: 'authorisation' });
    expect(r!.advice).toContain(`map the role ${ROLE} in OpenSearch security`);
    expect(systemicItemRefusal(400, { type: 'index_closed_exception', reason: 'closed', index: 'x' })).toMatchObject({ cause: 'index_closed', index: 'x' });
  });

  it('leaves document errors to dead letters, and 429 (a flood-stage disk) and 5xx to retries', () => {
    expect(systemicItemRefusal(400, { type: 'mapper_parsing_exception', reason: "failed to parse field [source.ip] of type [ip] in document with id 'a'" })).toBeUndefined();
    expect(systemicItemRefusal(400, { type: 'strict_dynamic_mapping_exception', reason: 'mapping set to strict, dynamic introduction of [x] within [_doc] is not allowed' })).toBeUndefined();
    expect(systemicItemRefusal(400, { type: 'illegal_argument_exception', reason: 'Limit of total fields [2000] has been exceeded' })).toBeUndefined();
    expect(isRetryableStatus(429)).toBe(true);
    expect(isRetryableStatus(503)).toBe(true);
    expect(isRetryableStatus(403)).toBe(false);
  });

  it('holds request-level 401 and 403, from fine-grained access control or the domain policy', () => {
    const fgac = { error: { root_cause: [], type: 'security_exception', reason: `no permissions for [indices:data/write/bulk] and User [name=${ROLE}, backend_roles=[]]` }, status: 403 };
    expect(requestRefusal(403, fgac)).toMatchObject({ cause: 'authorisation', reason: expect.stringMatching(/^403 security_exception: no permissions/) });
    expect(requestRefusal(403, fgac)!.advice).toContain(ROLE);
    const iam = { Message: `User: ${ROLE} is not authorized to perform: es:ESHttpPost because no resource-based policy allows the es:ESHttpPost action` };
    expect(requestRefusal(403, iam)).toMatchObject({ cause: 'authorisation', reason: expect.stringContaining('es:ESHttpPost') });
    expect(requestRefusal(401, 'Unauthorized')).toMatchObject({ cause: 'authentication', reason: '401 Unauthorized' });
    expect(requestRefusal(400, { error: { type: 'illegal_argument_exception' } })).toBeUndefined();
  });

  it('signs a document error by its type and the field it names', () => {
    expect(errorSignature('mapper_parsing_exception', "failed to parse field [event.ingested] of type [boolean] in document with id 'x'. Preview of field's value: '[1]'")).toBe(
      'mapper_parsing_exception [event.ingested]',
    );
    expect(errorSignature('illegal_argument_exception', 'Document contains at least one immense term in field="message" (whose UTF8 encoding is longer)')).toBe(
      'illegal_argument_exception [message]',
    );
    expect(errorSignature('version_conflict_engine_exception', 'no field')).toBe('version_conflict_engine_exception');
  });
});

const doc = (i: number): BulkDocument => ({ index: 'idx', id: `d${i}`, body: { n: i }, source: 'cloudwatch_logs', eventTimestamp: 0 });
const refused = (i: number, signature: string): RejectedDocument => ({ document: doc(i), status: 400, reason: `${signature}: refused`, signature });
const flood = (n: number, of: number, signature = 'mapper_parsing_exception [@timestamp]') => Array.from({ length: n }, (_, i) => refused(i, signature)).slice(0, of);

describe('refusal breaker: a flood of one document error pauses like a systemic refusal', () => {
  it('trips on the configured consecutive batch of a shard, and stays tripped while the flood lasts', () => {
    const b = new RefusalBreaker({ share: 0.5, batches: 3 });
    expect(b.observe('s1', 10, flood(6, 6))).toBeUndefined();
    expect(b.observe('s1', 10, flood(6, 6))).toBeUndefined();
    const tripped = b.observe('s1', 10, flood(6, 6));
    expect(tripped).toMatchObject({ cause: 'breaker', index: 'idx' });
    expect(tripped!.reason).toMatch(/^6 of 10 documents refused with mapper_parsing_exception \[@timestamp\] in 3 consecutive batches/);
    expect(tripped!.advice).toMatch(/index template .* centralog bootstrap.*--breaker false/);
    // The held batch retried, still flooding: still held.
    expect(b.observe('s1', 10, flood(6, 6))).toMatchObject({ cause: 'breaker' });
    // The cause gone: the batch goes through and the count starts again.
    expect(b.observe('s1', 10, [])).toBeUndefined();
    expect(b.observe('s1', 10, flood(6, 6))).toBeUndefined();
  });

  it('counts only more than the share, of one signature, in consecutive batches of the same shard', () => {
    const b = new RefusalBreaker({ share: 0.5, batches: 2 });
    // Exactly half is not more than half.
    expect(b.observe('s1', 10, flood(5, 5))).toBeUndefined();
    expect(b.observe('s1', 10, flood(5, 5))).toBeUndefined();
    // Six refused, but three and three of two errors.
    const mixed = [...flood(3, 3, 'a [x]'), ...flood(3, 3, 'b [y]')];
    expect(b.observe('s1', 10, mixed)).toBeUndefined();
    expect(b.observe('s1', 10, mixed)).toBeUndefined();
    // Another signature restarts the count; another shard's batches do not touch it.
    expect(b.observe('s1', 10, flood(6, 6, 'a [x]'))).toBeUndefined();
    expect(b.observe('s2', 10, [])).toBeUndefined();
    expect(b.observe('s1', 10, flood(6, 6, 'b [y]'))).toBeUndefined();
    expect(b.observe('s1', 10, flood(6, 6, 'b [y]'))).toMatchObject({ cause: 'breaker' });
  });

  it('never trips on a single poison document among good ones, nor when switched off', () => {
    const b = new RefusalBreaker({ share: 0.05, batches: 1 });
    for (let i = 0; i < 5; i++) expect(b.observe('s1', 20, flood(1, 1))).toBeUndefined();
    const off = new RefusalBreaker({ enabled: false, batches: 1 });
    expect(off.observe('s1', 10, flood(10, 10))).toBeUndefined();
  });
});

/** A client whose _bulk answers each request with `answer(documents in it)`. */
function stubClient(answer: (ids: string[]) => { status?: number; body: unknown }): Client {
  return {
    bulk: async ({ body }: { body: Buffer }) => {
      const ids = body
        .toString('utf8')
        .split('\n')
        .filter((_, i) => i % 2 === 0)
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { create: { _id: string } }).create._id);
      const { status = 200, body: res } = answer(ids);
      if (status !== 200) throw Object.assign(new Error(`status ${status}`), { meta: { statusCode: status, body: res } });
      return { body: res };
    },
  } as unknown as Client;
}

describe('bulk sink: systemic refusals are thrown, never returned as rejected', () => {
  const created = (ids: string[]) => ({ body: { errors: false, items: ids.map((id) => ({ create: { _id: id, status: 201 } })) } });

  it('throws on refused items, carrying the documents created by earlier requests of the batch', async () => {
    let calls = 0;
    const sink = new BulkSink(
      stubClient((ids) =>
        ++calls === 1
          ? created(ids)
          : { body: { errors: true, items: ids.map((id) => ({ create: { _id: id, status: 403, error: { type: 'cluster_block_exception', reason: 'index [idx] blocked by: [FORBIDDEN/8/index write (api)];' } } })) } },
      ),
      { maxRequestBytes: 60 },
    );
    const err = await sink.write([doc(1), doc(2)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SystemicRefusalError);
    expect((err as SystemicRefusalError).refusals).toMatchObject([{ cause: 'write_block', index: 'idx' }]);
    expect((err as SystemicRefusalError).created.map((d) => d.id)).toEqual(['d1']);
  });

  it('throws on a request refused with 403, and still returns document errors as rejected', async () => {
    const refusedRequest = new BulkSink(stubClient(() => ({ status: 403, body: { error: { type: 'security_exception', reason: 'no permissions' }, status: 403 } })));
    await expect(refusedRequest.write([doc(1)])).rejects.toMatchObject({ name: 'SystemicRefusalError', refusals: [{ cause: 'authorisation' }] });
    const poison = new BulkSink(
      stubClient((ids) => ({
        body: { errors: true, items: ids.map((id) => ({ create: { _id: id, status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [message] of type [long]' } } })) },
      })),
    );
    const outcome = await poison.write([doc(1)]);
    expect(outcome.rejected).toMatchObject([{ status: 400, signature: 'mapper_parsing_exception [message]' }]);
  });
});
