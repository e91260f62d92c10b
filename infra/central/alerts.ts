import { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { DeployConfig } from '../config.ts';

/**
 * The topic detection alerts are published to, once per alert (the consumer publishes only
 * the alerts it created). Encrypted; subscribers are the config's addresses and whatever the
 * security team attaches (a queue, a SIEM, a chat hook).
 */
export class AlertsTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, config: DeployConfig) {
    super(scope, id);
    this.key = new kms.Key(this, 'TopicKey', { description: 'centralog: detection alerts topic', enableKeyRotation: true, removalPolicy: RemovalPolicy.DESTROY });
    this.topic = new sns.Topic(this, 'Alerts', { topicName: `${config.namePrefix}-alerts`, masterKey: this.key, enforceSSL: true });
    for (const email of config.detections.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
  }
}
