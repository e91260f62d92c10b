import type { IndexableDocument } from '../../processors/index.ts';

/**
 * Telling a document OpenSearch cannot take (dead-letter it) from a refusal that says
 * nothing about the document (hold the batch until the cause is gone): dead-lettering
 * the whole stream because an index is write-blocked or a role is not mapped would
 * empty the index, fill S3 and leave a redrive of everything to do.
 */

/** Why OpenSearch refuses every write for now; the metric label and the /healthz cause. */
export type RefusalCause = 'authentication' | 'authorisation' | 'write_block' | 'index_missing' | 'index_closed' | 'breaker';

export interface SystemicRefusal {
  cause: RefusalCause;
  /** The index named by the refusal, when it names one. */
  index?: string;
  /** What OpenSearch said, or what the breaker saw. */
  reason: string;
  /** What an operator does about it. */
  advice: string;
}

/** An item error in a _bulk response. */
export interface BulkItemError {
  type?: string;
  reason?: string;
  index?: string;
  caused_by?: { type?: string; reason?: string };
}

/** OpenSearch refuses writes for a reason outside the documents; nothing of the batch may be dead-lettered. */
export class SystemicRefusalError extends Error {
  override readonly name = 'SystemicRefusalError';
  constructor(
    /** Distinct refusals seen, the first the most frequent. */
    readonly refusals: SystemicRefusal[],
    /** Documents created before the refusal was seen (they stay created; a retry gets 409s for them). */
    readonly created: readonly IndexableDocument[] = [],
  ) {
    const [first] = refusals;
    super(`OpenSearch refuses writes: ${first?.reason ?? 'unknown'}${refusals.length > 1 ? ` (and ${refusals.length - 1} more)` : ''}`);
  }
}

/** The OpenSearch user or role a security_exception names (`User [name=<arn>, ...]`). */
function principalOf(reason: string): string | undefined {
  return /User \[name=([^,\]]+)/.exec(reason)?.[1];
}

/** `index [x]` or `no such index [x]` in a reason. */
function indexOf(reason: string): string | undefined {
  return /index \[([^\]]+)\]/.exec(reason)?.[1];
}

function authentication(reason: string): SystemicRefusal {
  return {
    cause: 'authentication',
    reason,
    advice:
      "OpenSearch does not accept the consumer's credentials: check its task role and SigV4 signing (--opensearch-auth, --region), or the user and password in --opensearch-url",
  };
}

function authorisation(reason: string): SystemicRefusal {
  const who = principalOf(reason);
  return {
    cause: 'authorisation',
    reason,
    advice:
      `map ${who ? `the role ${who}` : "the consumer's IAM role (or user)"} in OpenSearch security to a role that may write the consumer's indices ` +
      '(the deployment creates <prefix>_writer: Security > Roles > <prefix>_writer > Mapped users > add it as a backend role), ' +
      "and allow it in the domain's access policy",
  };
}

/**
 * A systemic refusal when an item's error is one, else undefined (a document error).
 * Ask only about statuses isRetryableStatus leaves out.
 */
export function systemicItemRefusal(status: number, error: BulkItemError | undefined): SystemicRefusal | undefined {
  const type = error?.type ?? '';
  const reason = [error?.type, error?.reason?.replace(/[;.\s]+$/, ''), error?.caused_by?.reason].filter(Boolean).join(': ') || `status ${status}`;
  const index = error?.index ?? indexOf(reason);
  if (type === 'cluster_block_exception') {
    const setting = /read-only/.test(reason) ? 'index.blocks.read_only' : 'index.blocks.write';
    const blocked = index
      ? `index ${index} is write-blocked: remove the block with PUT ${index}/_settings {"${setting}": false} once writing may resume`
      : 'the cluster refuses writes (cluster.blocks.read_only): PUT _cluster/settings {"persistent": {"cluster.blocks.read_only": false}} once writing may resume';
    return { cause: 'write_block', index, reason, advice: blocked };
  }
  if (type === 'index_not_found_exception') {
    return {
      cause: 'index_missing',
      index,
      reason,
      advice:
        `auto-create is off (action.auto_create_index) and ${index ?? 'the index'} does not exist: install the templates (centralog bootstrap) and ` +
        "allow auto-creation of the consumer's indices (e.g. action.auto_create_index: \"+<prefix>-aws.*,-*\"), or create the index",
    };
  }
  if (type === 'index_closed_exception') {
    return { cause: 'index_closed', index, reason, advice: `index ${index ?? '(named above)'} is closed: open it (POST ${index ?? '<index>'}/_open) or delete it` };
  }
  if (status === 401) return authentication(reason);
  if (type === 'security_exception' || status === 403) return { ...authorisation(reason), index };
  return undefined;
}

/** A whole _bulk request refused for who sent it (401, 403), else undefined. */
export function requestRefusal(status: number, body: unknown): SystemicRefusal | undefined {
  if (status !== 401 && status !== 403) return undefined;
  const b = (typeof body === 'string' ? { Message: body } : (body ?? {})) as { error?: BulkItemError | string; Message?: string; message?: string };
  const error = typeof b.error === 'string' ? { reason: b.error } : b.error;
  // Amazon OpenSearch Service's IAM layer answers {"Message": "User: arn... is not authorized to perform: es:ESHttpPost ..."}.
  const reason = [error?.type, error?.reason ?? b.Message ?? b.message].filter(Boolean).join(': ') || `status ${status}`;
  return status === 401 ? authentication(`401 ${reason}`) : authorisation(`403 ${reason}`);
}

/** Overload and outages, retried by the sink: this includes a flood-stage disk (429 cluster_block_exception), which is backpressure. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * The kind of a document error, for the breaker: the error type and the first field it
 * names (`failed to parse field [x]`, `mapper [x] cannot be changed`, `field="x"`), so
 * every document refused by one changed mapping shares one signature.
 */
export function errorSignature(type: string | undefined, reason: string | undefined): string {
  const r = reason ?? '';
  const field = /\[([^\]]*)\]/.exec(r)?.[1] ?? /field="([^"]*)"/.exec(r)?.[1];
  return field === undefined ? (type ?? 'unknown') : `${type ?? 'unknown'} [${field}]`;
}
