import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Acknowledges cdk-nag findings on a construct (and everything under it), each with its reason. */
export function acknowledge(scope: IConstruct, ...rules: Array<[id: string, reason: string]>): void {
  for (const [id, reason] of rules) Validations.of(scope).acknowledge({ id, reason });
}

/** The CloudFormation resource a construct stands for: itself, or its default child. */
function cfnOf(scope: IConstruct): CfnResource {
  if (CfnResource.isCfnResource(scope)) return scope;
  const child = scope.node.defaultChild;
  if (child && CfnResource.isCfnResource(child)) return child;
  throw new Error(`${scope.node.path} has no CloudFormation resource to annotate`);
}

/**
 * Skips checkov checks on one resource, with the reason, in its template metadata
 * (`Metadata.checkov.skip`), where checkov reads them.
 */
export function skipCheckov(scope: IConstruct, ...checks: Array<[id: string, reason: string]>): void {
  const cfn = cfnOf(scope);
  const existing = (cfn.getMetadata('checkov') as { skip?: Array<{ id: string; comment: string }> } | undefined)?.skip ?? [];
  const skip = [...existing, ...checks.map(([id, comment]) => ({ id, comment }))];
  cfn.addMetadata('checkov', { skip });
}

/**
 * A resource as cdk-nag spells it in a finding id (`<LogicalId.Arn>/*`), so a wildcard is
 * acknowledged for exactly that resource: `AwsSolutions-IAM5[Resource::${nagResource(...)}]`.
 */
export function nagResource(scope: IConstruct, value: string): string {
  const visit = (node: unknown): string => {
    if (node === undefined) return '';
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    const n = node as Record<string, unknown>;
    if (n['Fn::Join']) {
      const [delimiter, items] = n['Fn::Join'] as [string, unknown[]];
      return items.map(visit).join(delimiter);
    }
    if (n['Fn::Sub']) return visit(n['Fn::Sub']);
    if (n['Fn::GetAtt']) {
      const [resource, attribute] = n['Fn::GetAtt'] as [unknown, unknown];
      return `<${visit(resource)}.${visit(attribute)}>`;
    }
    if (n['Fn::ImportValue']) return visit(n['Fn::ImportValue']);
    if (n.Ref) return `<${visit(n.Ref)}>`;
    return JSON.stringify(node);
  };
  return visit(Stack.of(scope).resolve(value));
}

/** Acknowledges AwsSolutions-IAM5 for each wildcard resource given, with one reason. */
export function acknowledgeWildcards(scope: IConstruct, reason: string, ...resources: string[]): void {
  for (const r of resources) Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagResource(scope, r)}]`, reason });
}

/** The finding id cdk-nag gives an AWS managed policy attached to a role. */
export function managedPolicyFinding(name: string): string {
  return `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`;
}
