/** A registered enhanced fan-out consumer, as the local fan-out endpoint keeps it. */
export interface LocalStreamConsumer {
  name: string;
  arn: string;
  streamArn: string;
  streamName: string;
  status: 'CREATING' | 'ACTIVE';
  createdAt: number;
}

export type RegistryAnswer = { body: unknown } | { error: string; message: string };

function description(c: LocalStreamConsumer) {
  return { ConsumerName: c.name, ConsumerARN: c.arn, ConsumerStatus: c.status, ConsumerCreationTimestamp: c.createdAt / 1000, StreamARN: c.streamArn };
}

/**
 * RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers and
 * DeregisterStreamConsumer in memory, with the service's answers: a consumer is CREATING
 * for a moment, then ACTIVE; a name registered twice is ResourceInUseException.
 */
export class StreamConsumerRegistry {
  private readonly consumers = new Map<string, LocalStreamConsumer>();

  constructor(
    private readonly region: string,
    private readonly activationMs: number,
  ) {}

  byArn(arn: string): LocalStreamConsumer | undefined {
    return this.refresh(this.consumers.get(arn));
  }

  handle(operation: string, input: Record<string, unknown>): RegistryAnswer {
    const streamArn = typeof input.StreamARN === 'string' ? input.StreamARN : undefined;
    const name = typeof input.ConsumerName === 'string' ? input.ConsumerName : undefined;
    const find = () =>
      typeof input.ConsumerARN === 'string'
        ? this.byArn(input.ConsumerARN)
        : [...this.consumers.values()].map((c) => this.refresh(c)!).find((c) => c.streamArn === streamArn && c.name === name);
    switch (operation) {
      case 'RegisterStreamConsumer': {
        const streamName = streamArn?.match(/^arn:aws[a-z-]*:kinesis:[^:]+:\d{12}:stream\/([^/]+)$/)?.[1];
        if (!streamArn || !streamName || !name) return { error: 'InvalidArgumentException', message: 'StreamARN (a stream ARN) and ConsumerName are required.' };
        if (find()) return { error: 'ResourceInUseException', message: `Consumer ${name} under stream ${streamArn} already exists.` };
        const createdAt = Date.now();
        const consumer: LocalStreamConsumer = { name, streamArn, streamName, arn: `${streamArn}/consumer/${name}:${Math.floor(createdAt / 1000)}`, status: 'CREATING', createdAt };
        this.consumers.set(consumer.arn, consumer);
        return { body: { Consumer: { ConsumerName: name, ConsumerARN: consumer.arn, ConsumerStatus: 'CREATING', ConsumerCreationTimestamp: createdAt / 1000 } } };
      }
      case 'DescribeStreamConsumer': {
        const c = find();
        if (!c) return { error: 'ResourceNotFoundException', message: `Consumer ${String(input.ConsumerARN ?? name)} not found.` };
        return { body: { ConsumerDescription: description(c) } };
      }
      case 'ListStreamConsumers': {
        const list = [...this.consumers.values()].filter((c) => c.streamArn === streamArn).map((c) => this.refresh(c)!);
        return { body: { Consumers: list.map((c) => ({ ConsumerName: c.name, ConsumerARN: c.arn, ConsumerStatus: c.status, ConsumerCreationTimestamp: c.createdAt / 1000 })) } };
      }
      case 'DeregisterStreamConsumer': {
        const c = find();
        if (!c) return { error: 'ResourceNotFoundException', message: `Consumer ${String(input.ConsumerARN ?? name)} not found.` };
        this.consumers.delete(c.arn);
        return { body: {} };
      }
      default:
        return { error: 'UnknownOperationException', message: operation };
    }
  }

  private refresh(c: LocalStreamConsumer | undefined): LocalStreamConsumer | undefined {
    if (c && c.status === 'CREATING' && Date.now() - c.createdAt >= this.activationMs) c.status = 'ACTIVE';
    return c;
  }
}
