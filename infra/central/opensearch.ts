import { Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { DeployConfig } from '../config.ts';
import { acknowledge, managedPolicyFinding, skipCheckov } from '../nag.ts';
import { skipLambdaChecks } from './functions.ts';
import type { PipelineLogs } from './log-groups.ts';
import type { CentralNetwork } from './network.ts';

export interface SearchDomainProps {
  config: DeployConfig;
  logs: PipelineLogs;
  network: CentralNetwork;
  /** The fine-grained access control master: the bootstrap function's role. */
  masterRole: iam.IRole;
}

/** The OpenSearch Service domain the consumer indexes into. */
export class SearchDomain extends Construct {
  readonly domain: opensearch.Domain;
  readonly domainName: string;
  /** Set in VPC placement: clients must be allowed in on 443. */
  readonly securityGroup?: ec2.SecurityGroup;
  readonly logsPolicy: logs.CfnResourcePolicy;

  constructor(scope: Construct, id: string, props: SearchDomainProps) {
    super(scope, id);
    const { config } = props;
    const os = config.opensearch;
    this.domainName = `${config.namePrefix}-logs`;
    const domainArn = `arn:${Aws.PARTITION}:es:${Aws.REGION}:${Aws.ACCOUNT_ID}:domain/${this.domainName}`;

    const groups = {
      slowSearch: props.logs.group(this, 'SlowSearchLogs'),
      slowIndex: props.logs.group(this, 'SlowIndexLogs'),
      app: props.logs.group(this, 'ApplicationLogs'),
      audit: props.logs.group(this, 'AuditLogs'),
    };
    // One resource policy for all four: an account has only 10 per region, and the L2
    // would add one of its own per domain (suppressLogsResourcePolicy below).
    this.logsPolicy = new logs.CfnResourcePolicy(this, 'LogsPolicy', {
      policyName: `${config.namePrefix}-opensearch-logs`,
      policyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OpenSearchPublishesLogs',
            Effect: 'Allow',
            Principal: { Service: 'es.amazonaws.com' },
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: Object.values(groups).map((g) => g.logGroupArn),
            Condition: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID }, ArnLike: { 'aws:SourceArn': domainArn } },
          },
        ],
      }),
    });

    const key = new kms.Key(this, 'Key', { description: 'centralog: OpenSearch data at rest', enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    const inVpc = os.placement === 'vpc';
    if (inVpc) {
      this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc: props.network.vpc,
        description: 'centralog OpenSearch: HTTPS from the consumer and the bootstrap only',
        allowAllOutbound: false,
      });
    }

    this.domain = new opensearch.Domain(this, 'Domain', {
      domainName: this.domainName,
      version: opensearch.EngineVersion.OPENSEARCH_2_19,
      capacity: {
        dataNodes: os.instanceCount,
        dataNodeInstanceType: os.instanceType,
        masterNodes: os.dedicatedMasters?.count,
        masterNodeInstanceType: os.dedicatedMasters?.instanceType,
        multiAzWithStandbyEnabled: false,
      },
      ebs: { volumeSize: os.volumeGiB, volumeType: ec2.EbsDeviceVolumeType.GP3 },
      zoneAwareness: { enabled: true, availabilityZoneCount: os.availabilityZoneCount },
      encryptionAtRest: { enabled: true, kmsKey: key },
      nodeToNodeEncryption: true,
      enforceHttps: true,
      tlsSecurityPolicy: opensearch.TLSSecurityPolicy.TLS_1_2,
      fineGrainedAccessControl: { masterUserArn: props.masterRole.roleArn },
      logging: {
        slowSearchLogEnabled: true,
        slowSearchLogGroup: groups.slowSearch,
        slowIndexLogEnabled: true,
        slowIndexLogGroup: groups.slowIndex,
        appLogEnabled: true,
        appLogGroup: groups.app,
        auditLogEnabled: true,
        auditLogGroup: groups.audit,
      },
      suppressLogsResourcePolicy: true,
      ...(inVpc
        ? {
            vpc: props.network.vpc,
            vpcSubnets: [props.network.subnetsInZones(os.availabilityZoneCount)],
            securityGroups: [this.securityGroup!],
          }
        : {}),
      // The data is the point of the domain: a stack delete leaves it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const cfn = this.domain.node.defaultChild as opensearch.CfnDomain;
    // Set on the resource itself (the L2 would add a custom resource): identities of this
    // account only, as far as their IAM policies allow; fine-grained access control decides the rest.
    cfn.accessPolicies = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:root` }, Action: 'es:ESHttp*', Resource: `${domainArn}/*` }],
    };
    acknowledge(this.domain, ['AwsSolutions-OS3', 'requests are SigV4-signed by IAM identities of this account and then checked by fine-grained access control; source IP allowlists do not apply to IAM callers']);
    this.domain.node.addDependency(this.logsPolicy);

    if (inVpc && os.createServiceLinkedRole) this.domain.node.addDependency(this.serviceLinkedRole());

    if (!os.dedicatedMasters) acknowledge(this.domain, ['AwsSolutions-OS4', 'dedicated masters are optional (opensearch.dedicatedMasters); small domains run without them']);
    if (!inVpc) {
      acknowledge(
        this.domain,
        ['AwsSolutions-OS1', "public placement was chosen (opensearch.placement): access is IAM-signed, limited to this account's identities, then fine-grained access control"],
      );
      skipCheckov(this.domain, ['CKV_AWS_248', 'public placement was chosen (opensearch.placement): IAM + fine-grained access control']);
    }
  }

  /**
   * OpenSearch in a VPC needs its service-linked role. CloudFormation's own resource fails
   * where the role exists, so create it through the API, ignore "already taken", and never
   * delete it (other domains may use it).
   */
  private serviceLinkedRole(): Construct {
    const roleArn = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/aws-service-role/opensearchservice.amazonaws.com/AWSServiceRoleForAmazonOpenSearchService`;
    const slr = new cr.AwsCustomResource(this, 'ServiceLinkedRole', {
      onCreate: {
        service: 'IAM',
        action: 'createServiceLinkedRole',
        parameters: { AWSServiceName: 'opensearchservice.amazonaws.com' },
        physicalResourceId: cr.PhysicalResourceId.of('AWSServiceRoleForAmazonOpenSearchService'),
        ignoreErrorCodesMatching: 'InvalidInput.*',
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['iam:CreateServiceLinkedRole'],
          resources: [roleArn],
          conditions: { StringLike: { 'iam:AWSServiceName': 'opensearchservice.amazonaws.com' } },
        }),
      ]),
      installLatestAwsSdk: false,
    });
    // The function aws-cdk-lib shares between the stack's AwsCustomResources.
    const shared = Stack.of(this).node.tryFindChild(cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '').replace(/^/, 'AWS'));
    if (shared) skipLambdaChecks(shared, 'the AwsCustomResource function of aws-cdk-lib', { inVpc: false });
    if (shared) acknowledge(shared, [managedPolicyFinding('service-role/AWSLambdaBasicExecutionRole'), 'the AwsCustomResource function of aws-cdk-lib: writes only its own logs']);
    return slr;
  }
}
