import type { Client } from '@opensearch-project/opensearch';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffPolicy } from '../backoff.ts';
import { isRetryableStatus } from '../sinks/refusals.ts';
import type { AlertBody, AlertDocument } from './alert-document.ts';

/** An alert and the version OpenSearch holds of it: a conditional write must name this version. */
export interface VersionedAlert {
  alert: AlertDocument;
  seqNo: number;
  primaryTerm: number;
}

export interface CreateOutcome {
  /** 201: this call made them, so this call (and only it) may publish them. */
  created: VersionedAlert[];
  /** 409: made before (a replay, a retried batch, another worker); never published again from here. */
  duplicates: AlertDocument[];
  /** Refused for good (a mapping error): logged and counted, the batch goes on. */
  rejected: Array<{ alert: AlertDocument; reason: string }>;
}

/** OpenSearch did not take the alerts; the batch is delivered again and its alerts with it. */
export class AlertStoreUnavailableError extends Error {
  override readonly name = 'AlertStoreUnavailableError';
}

interface BulkItem {
  status: number;
  _seq_no?: number;
  _primary_term?: number;
  error?: { type?: string; reason?: string };
}

const errorStatus = (err: unknown): number | undefined => (err as { meta?: { statusCode?: number } }).meta?.statusCode;

/** The alert index's reads and conditional writes. */
export class AlertStore {
  constructor(
    private readonly client: Client,
    readonly indexPrefix: string,
    private readonly retry: BackoffPolicy & { maxAttempts: number } = { baseMs: 200, maxMs: 5000, maxAttempts: 5 },
  ) {}

  get pattern(): string {
    return `${this.indexPrefix}-alerts-*`;
  }

  /** Creates alerts with op_type create; retries items OpenSearch is too busy for, throws when it never takes them. */
  async create(alerts: AlertDocument[]): Promise<CreateOutcome> {
    const outcome: CreateOutcome = { created: [], duplicates: [], rejected: [] };
    let pending = alerts;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const retry: AlertDocument[] = [];
      const body = pending.map((a) => `${JSON.stringify({ create: { _index: a.index, _id: a.id } })}\n${JSON.stringify(a.body)}\n`).join('');
      let items: Array<Record<string, BulkItem>> | undefined;
      try {
        const res = await this.client.bulk({ body: body as unknown as Parameters<Client['bulk']>[0]['body'] });
        items = (res.body as unknown as { items: Array<Record<string, BulkItem>> }).items;
      } catch (err) {
        const status = errorStatus(err);
        if (status !== undefined && !isRetryableStatus(status)) throw new AlertStoreUnavailableError(`OpenSearch refused the alerts' _bulk request: ${(err as Error).message}`);
        retry.push(...pending);
      }
      items?.forEach((item, i) => {
        const alert = pending[i]!;
        const r = item.create ?? Object.values(item)[0]!;
        if (r.status === 201) outcome.created.push({ alert, seqNo: r._seq_no!, primaryTerm: r._primary_term! });
        else if (r.status === 409) outcome.duplicates.push(alert);
        else if (isRetryableStatus(r.status) || r.status === 401 || r.status === 403) retry.push(alert);
        else outcome.rejected.push({ alert, reason: [r.error?.type, r.error?.reason].filter(Boolean).join(': ') || `status ${r.status}` });
      });
      pending = retry;
      if (pending.length === 0) break;
      if (attempt >= this.retry.maxAttempts) throw new AlertStoreUnavailableError(`OpenSearch did not take ${pending.length} alert(s) after ${attempt} attempts`);
      await sleep(backoffDelay(attempt, this.retry));
    }
    return outcome;
  }

  /**
   * Writes `changes` into the alert only if it is still at the version given; the new version,
   * or undefined when someone else wrote it first (409), so two workers never both act on it.
   */
  async updateIf(v: VersionedAlert, changes: Partial<AlertBody['centralog']['alert']>): Promise<VersionedAlert | undefined> {
    try {
      const res = await this.client.update({
        index: v.alert.index,
        id: v.alert.id,
        if_seq_no: v.seqNo,
        if_primary_term: v.primaryTerm,
        body: { doc: { centralog: { alert: changes } } },
      });
      const r = res.body as unknown as { _seq_no: number; _primary_term: number };
      const alert = { ...v.alert, body: { ...v.alert.body, centralog: { alert: { ...v.alert.body.centralog.alert, ...changes } } } };
      return { alert, seqNo: r._seq_no, primaryTerm: r._primary_term };
    } catch (err) {
      if (errorStatus(err) === 409) return undefined;
      throw err;
    }
  }

  /** Unpublished alerts whose claim is older than `claimedBefore`, oldest first, with their versions. */
  async unpublished(claimedBefore: Date, size: number): Promise<VersionedAlert[]> {
    const res = await this.client.search({
      index: this.pattern,
      allow_no_indices: true,
      ignore_unavailable: true,
      body: {
        size,
        seq_no_primary_term: true,
        sort: [{ 'centralog.alert.claimed_at': { order: 'asc' } }],
        query: {
          bool: {
            filter: [{ term: { 'centralog.alert.published': false } }, { range: { 'centralog.alert.claimed_at': { lt: claimedBefore.toISOString() } } }],
          },
        },
      } as NonNullable<Parameters<Client['search']>[0]>['body'],
    });
    const hits = (res.body as unknown as { hits: { hits: Array<{ _index: string; _id: string; _seq_no: number; _primary_term: number; _source: AlertBody }> } }).hits.hits;
    return hits.map((h) => ({ alert: { index: h._index, id: h._id, body: h._source }, seqNo: h._seq_no, primaryTerm: h._primary_term }));
  }

  /** How many alerts wait to be published (the backlog). */
  async countUnpublished(): Promise<number> {
    const res = await this.client.count({
      index: this.pattern,
      allow_no_indices: true,
      ignore_unavailable: true,
      body: { query: { term: { 'centralog.alert.published': false } } },
    });
    return (res.body as unknown as { count: number }).count;
  }
}
