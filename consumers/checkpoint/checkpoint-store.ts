import {
  CreateTableCommand,
  GetItemCommand,
  ResourceInUseException,
  UpdateItemCommand,
  waitUntilTableExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/** KCL's marker for a shard read to its end. */
export const SHARD_END = 'SHARD_END';

/**
 * Where each shard has got to, kept in a lease table with KCL's attribute names
 * (leaseKey = shard id). Lease taking and renewal build on the same items.
 */
export class CheckpointStore {
  constructor(
    private readonly ddb: DynamoDBClient,
    readonly tableName: string,
  ) {}

  /** Creates the lease table if it is missing and waits until it is usable. */
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

  async get(shardId: string): Promise<string | undefined> {
    const out = await this.ddb.send(
      new GetItemCommand({ TableName: this.tableName, Key: { leaseKey: { S: shardId } }, ConsistentRead: true }),
    );
    return out.Item?.checkpoint?.S;
  }

  /** Records that every record of the shard up to `sequenceNumber` is indexed or dead-lettered. */
  async set(shardId: string, sequenceNumber: string, owner: string): Promise<void> {
    await this.ddb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { leaseKey: { S: shardId } },
        UpdateExpression:
          'SET checkpoint = :c, checkpointSubSequenceNumber = :zero, leaseOwner = :o, ownerSwitchesSinceCheckpoint = :zero ADD leaseCounter :one',
        ExpressionAttributeValues: {
          ':c': { S: sequenceNumber },
          ':o': { S: owner },
          ':zero': { N: '0' },
          ':one': { N: '1' },
        },
      }),
    );
  }
}
