import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomResource, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { DeployConfig } from '../config.ts';
import { acknowledge, acknowledgeWildcards, managedPolicyFinding } from '../nag.ts';
import { retentionPolicy } from '../opensearch/bootstrap.ts';
import { writerRole } from '../opensearch/security.ts';
import { nodeFunction, REPO_ROOT, skipLambdaChecks } from './functions.ts';
import type { PipelineLogs } from './log-groups.ts';
import type { CentralNetwork } from './network.ts';
import type { SearchDomain } from './opensearch.ts';

const TEMPLATES_DIR = join(REPO_ROOT, 'infra', 'opensearch', 'templates');

/** Changes whenever what bootstrap puts changes, so CloudFormation runs it again on update. */
function contentHash(config: DeployConfig): string {
  const h = createHash('sha256');
  for (const f of readdirSync(TEMPLATES_DIR).filter((f) => f.endsWith('.json')).sort()) h.update(f).update(readFileSync(join(TEMPLATES_DIR, f)));
  h.update(JSON.stringify(retentionPolicy(config.opensearch.indexPrefix, config.opensearch.retentionDays)));
  h.update(JSON.stringify(writerRole(config.opensearch.indexPrefix)));
  return h.digest('hex').slice(0, 16);
}

/** The role the bootstrap runs as; it is the domain's fine-grained access control master. */
export function bootstrapRole(scope: Construct): iam.Role {
  return new iam.Role(scope, 'OpenSearchBootstrapRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: 'centralog OpenSearch bootstrap: the domain master user; puts templates, ISM policies, role mappings',
  });
}

export interface OpenSearchBootstrapProps {
  config: DeployConfig;
  logs: PipelineLogs;
  network: CentralNetwork;
  search: SearchDomain;
  role: iam.Role;
  /** Roles mapped to the writer role in OpenSearch (the consumer's task role). */
  writerRoles: iam.IRole[];
}

/** Templates, ISM policies and role mappings put into the domain on every deploy that changes them. */
export class OpenSearchBootstrap extends Construct {
  readonly resource: CustomResource;
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: OpenSearchBootstrapProps) {
    super(scope, id);
    const { config, search } = props;
    let vpc: Parameters<typeof nodeFunction>[2]['vpc'];
    if (search.securityGroup) {
      const sg = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc: props.network.vpc, description: 'centralog OpenSearch bootstrap', allowAllOutbound: false });
      sg.addEgressRule(search.securityGroup, ec2.Port.tcp(443), 'OpenSearch HTTPS');
      search.securityGroup.addIngressRule(sg, ec2.Port.tcp(443), 'bootstrap');
      vpc = { vpc: props.network.vpc, subnets: props.network.privateSubnets, securityGroups: [sg] };
    }
    this.function = nodeFunction(this, 'Function', {
      entry: 'infra/lambda/opensearch-bootstrap.ts',
      description: 'centralog: puts index templates, ISM policies and role mappings into OpenSearch',
      logs: props.logs,
      memorySize: 512,
      timeout: Duration.minutes(5),
      environment: {},
      role: props.role,
      vpc,
      // The templates are read at run time from beside the bundle, as the CLI bundle does.
      afterBundling: (_input, output) => [`mkdir -p "${output}/templates"`, `cp "${TEMPLATES_DIR}"/*.json "${output}/templates/"`],
    });
    skipLambdaChecks(this.function, 'the OpenSearch bootstrap (a custom resource)', { inVpc: vpc !== undefined });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'BootstrapDomain',
        actions: ['es:ESHttpGet', 'es:ESHttpPut', 'es:ESHttpPost', 'es:ESHttpPatch', 'es:ESHttpHead'],
        resources: [search.domain.domainArn, `${search.domain.domainArn}/*`],
      }),
    );
    if (vpc) acknowledge(props.role, [managedPolicyFinding('service-role/AWSLambdaVPCAccessExecutionRole'), 'the network interface actions Lambda needs in a VPC have no resource-level permissions']);
    acknowledgeWildcards(props.role, 'paths under the one domain: templates, _plugins/_ism and _plugins/_security APIs', `${search.domain.domainArn}/*`);

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      logGroup: props.logs.group(this, 'ProviderLogs'),
    });
    // The Provider framework's own function, as aws-cdk-lib builds it.
    skipLambdaChecks(provider.node.findChild('framework-onEvent'), 'the CDK Provider framework', { inVpc: false });
    acknowledge(provider, [managedPolicyFinding('service-role/AWSLambdaBasicExecutionRole'), 'CDK Provider framework function: writes only its own logs']);
    acknowledgeWildcards(provider, 'CDK Provider framework: invokes the bootstrap function (any version of it)', `${this.function.functionArn}:*`);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::CentralogOpenSearchBootstrap',
      properties: {
        Endpoint: search.domain.domainEndpoint,
        IndexPrefix: config.opensearch.indexPrefix,
        RetentionDays: String(config.opensearch.retentionDays),
        WriterRoleArns: props.writerRoles.map((r) => r.roleArn),
        AdminRoleArns: config.opensearch.adminRoleArns,
        ContentHash: contentHash(config),
      },
    });
  }
}
