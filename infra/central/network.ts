import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { DeployConfig } from '../config.ts';
import type { PipelineLogs } from './log-groups.ts';

/** Where the consumer tasks (and, in VPC placement, OpenSearch and its bootstrap) run. */
export class CentralNetwork extends Construct {
  readonly vpc: ec2.IVpc;
  readonly privateSubnets: ec2.SubnetSelection;
  private readonly azs: string[];
  private readonly imported?: ec2.ISubnet[];

  constructor(scope: Construct, id: string, props: { config: DeployConfig; logs: PipelineLogs }) {
    super(scope, id);
    const { network } = props.config;
    this.azs = network.availabilityZones;
    if (network.vpcId) {
      // Given ids, no lookup: the synth stays offline.
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: network.vpcId,
        availabilityZones: network.availabilityZones,
        privateSubnetIds: network.privateSubnetIds,
      });
      this.imported = (network.privateSubnetIds ?? []).map((subnetId, i) => ec2.Subnet.fromSubnetAttributes(this, `Subnet${i}`, { subnetId, availabilityZone: this.azs[i] }));
      this.privateSubnets = { subnets: this.imported };
      return;
    }
    const vpc = new ec2.Vpc(this, 'Vpc', {
      availabilityZones: network.availabilityZones,
      natGateways: network.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      // S3 and DynamoDB traffic (dead letters, leases) stays off the NAT gateway.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 }, DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
    });
    vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(props.logs.group(this, 'FlowLogGroup')),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    this.vpc = vpc;
    this.privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  }

  /** One private subnet in each of the first `count` zones: zone awareness takes exactly one per zone. */
  subnetsInZones(count: number): ec2.SubnetSelection {
    if (this.imported) return { subnets: this.imported.slice(0, count) };
    return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, availabilityZones: this.azs.slice(0, count) };
  }
}
