import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ResourceInUseException,
  ScanCommand,
  UpdateItemCommand,
  waitUntilTableExists,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/** KCL's checkpoint markers: a new shard is read from its start; a finished one is never read again. */
export const TRIM_HORIZON = 'TRIM_HORIZON';
export const SHARD_END = 'SHARD_END';

/** One shard's lease, with KCL's attribute names so KCL tooling can read the table. */
export interface Lease {
  /** The shard id. */
  leaseKey: string;
  /** The worker holding the lease; absent when released or never taken. */
  leaseOwner?: string;
  /** Bumped by every write; a write succeeds only if the counter is still the one read. */
  leaseCounter: number;
  /** TRIM_HORIZON, SHARD_END or the sequence number of the last record fully handled. */
  checkpoint: string;
  checkpointSubSequenceNumber: number;
  ownerSwitchesSinceCheckpoint: number;
  parentShardIds: string[];
}

/** The lease is no longer this worker's: another took it, or it was released. */
function isLost(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException;
}

function toLease(item: Record<string, AttributeValue>): Lease {
  return {
    leaseKey: item.leaseKey!.S!,
    leaseOwner: item.leaseOwner?.S,
    leaseCounter: Number(item.leaseCounter?.N ?? '0'),
    checkpoint: item.checkpoint?.S ?? TRIM_HORIZON,
    checkpointSubSequenceNumber: Number(item.checkpointSubSequenceNumber?.N ?? '0'),
    ownerSwitchesSinceCheckpoint: Number(item.ownerSwitchesSinceCheckpoint?.N ?? '0'),
    parentShardIds: item.parentShardIds?.SS ?? [],
  };
}

/**
 * The DynamoDB lease table: one item per shard. Every change is a conditional write on
 * the counter (and owner) read before, so two workers can never both believe they hold
 * a shard after a write; the loser of a race learns it from ConditionalCheckFailed.
 */
export class LeaseTable {
  constructor(
    private readonly ddb: DynamoDBClient,
    readonly tableName: string,
  ) {}

  /** Creates the table if it is missing and waits until it is usable. */
  async ensureTable(): Promise<void> {
    try {
      await this.ddb.send(
        new CreateTableCommand({
          TableName: this.tableName,
          AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
    await waitUntilTableExists({ client: this.ddb, maxWaitTime: 60, minDelay: 1 }, { TableName: this.tableName });
  }

  /** Every lease, read consistently (pagination followed). */
  async list(): Promise<Lease[]> {
    const leases: Lease[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.ddb.send(new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey: start }));
      for (const item of out.Items ?? []) leases.push(toLease(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return leases;
  }

  async get(leaseKey: string): Promise<Lease | undefined> {
    const out = await this.ddb.send(
      new GetItemCommand({ TableName: this.tableName, Key: { leaseKey: { S: leaseKey } }, ConsistentRead: true }),
    );
    return out.Item ? toLease(out.Item) : undefined;
  }

  /** Creates an unowned lease for a shard unless one exists; true if this call created it. */
  async create(leaseKey: string, parentShardIds: string[], checkpoint = TRIM_HORIZON): Promise<boolean> {
    const item: Record<string, AttributeValue> = {
      leaseKey: { S: leaseKey },
      leaseCounter: { N: '0' },
      checkpoint: { S: checkpoint },
      checkpointSubSequenceNumber: { N: '0' },
      ownerSwitchesSinceCheckpoint: { N: '0' },
    };
    // DynamoDB string sets cannot be empty.
    if (parentShardIds.length > 0) item.parentShardIds = { SS: parentShardIds };
    try {
      await this.ddb.send(
        new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(leaseKey)' }),
      );
      return true;
    } catch (err) {
      if (isLost(err)) return false;
      throw err;
    }
  }

  /**
   * Takes a lease as `owner`, if nobody wrote it since it was read. Returns the lease as
   * now held, or undefined when another worker got there first.
   */
  async take(lease: Lease, owner: string): Promise<Lease | undefined> {
    const switched = lease.leaseOwner !== owner;
    const values: Record<string, AttributeValue> = {
      ':read': { N: String(lease.leaseCounter) },
      ':next': { N: String(lease.leaseCounter + 1) },
      ':me': { S: owner },
      ':switches': { N: String(lease.ownerSwitchesSinceCheckpoint + (switched ? 1 : 0)) },
    };
    let condition = 'leaseCounter = :read AND attribute_not_exists(leaseOwner)';
    if (lease.leaseOwner !== undefined) {
      condition = 'leaseCounter = :read AND leaseOwner = :previous';
      values[':previous'] = { S: lease.leaseOwner };
    }
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { leaseKey: { S: lease.leaseKey } },
          UpdateExpression: 'SET leaseOwner = :me, leaseCounter = :next, ownerSwitchesSinceCheckpoint = :switches',
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (isLost(err)) return undefined;
      throw err;
    }
    return {
      ...lease,
      leaseOwner: owner,
      leaseCounter: lease.leaseCounter + 1,
      ownerSwitchesSinceCheckpoint: lease.ownerSwitchesSinceCheckpoint + (switched ? 1 : 0),
    };
  }

  /** Writes `update` (plus a counter bump) only if `lease` is still held as read; false if lost. */
  private async heldWrite(lease: Lease, update: string, values: Record<string, AttributeValue>): Promise<boolean> {
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { leaseKey: { S: lease.leaseKey } },
          UpdateExpression: update,
          ConditionExpression: 'leaseCounter = :read AND leaseOwner = :owner',
          ExpressionAttributeValues: {
            ':read': { N: String(lease.leaseCounter) },
            ':next': { N: String(lease.leaseCounter + 1) },
            ':owner': { S: lease.leaseOwner ?? '' },
            ...values,
          },
        }),
      );
      lease.leaseCounter++;
      return true;
    } catch (err) {
      if (isLost(err)) return false;
      throw err;
    }
  }

  /** Bumps the counter so other workers see the lease is alive. Mutates `lease`; false if lost. */
  renew(lease: Lease): Promise<boolean> {
    return this.heldWrite(lease, 'SET leaseCounter = :next', {});
  }

  /** Records that every record up to `sequenceNumber` is handled. Mutates `lease`; false if lost. */
  async checkpoint(lease: Lease, sequenceNumber: string, subSequenceNumber = 0): Promise<boolean> {
    const ok = await this.heldWrite(
      lease,
      'SET leaseCounter = :next, checkpoint = :c, checkpointSubSequenceNumber = :sub, ownerSwitchesSinceCheckpoint = :zero',
      { ':c': { S: sequenceNumber }, ':sub': { N: String(subSequenceNumber) }, ':zero': { N: '0' } },
    );
    if (ok) {
      lease.checkpoint = sequenceNumber;
      lease.checkpointSubSequenceNumber = subSequenceNumber;
      lease.ownerSwitchesSinceCheckpoint = 0;
    }
    return ok;
  }

  /** Gives a lease up so any worker can take it at once, without waiting for it to expire. */
  async release(lease: Lease): Promise<boolean> {
    const ok = await this.heldWrite(lease, 'SET leaseCounter = :next REMOVE leaseOwner', {});
    if (ok) lease.leaseOwner = undefined;
    return ok;
  }

  /** Deletes a finished lease (checkpoint SHARD_END) that nothing needs any more. */
  async deleteFinished(leaseKey: string): Promise<boolean> {
    try {
      await this.ddb.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { leaseKey: { S: leaseKey } },
          ConditionExpression: 'checkpoint = :end',
          ExpressionAttributeValues: { ':end': { S: SHARD_END } },
        }),
      );
      return true;
    } catch (err) {
      if (isLost(err)) return false;
      throw err;
    }
  }
}
