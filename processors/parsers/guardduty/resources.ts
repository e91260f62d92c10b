/** `resource` of a finding: instance, access key, S3 buckets, EKS/ECS/containers, RDS, Lambda. */
import type { EcsDocument } from '../types.ts';
import { obj, str, type Obj } from '../values.ts';
import { arr, unique, type Builder } from './builder.ts';

export interface ResourceResult {
  gd: EcsDocument;
  cloud: EcsDocument;
  hostIps: string[];
  orchestrator: EcsDocument;
  container: EcsDocument;
  /** User names/ids in the order this resource type prefers them. */
  users: { name?: string; id?: string; groups?: string[] }[];
}

function firstContainer(list: unknown): EcsDocument {
  for (const item of arr(list)) {
    const c = obj(item);
    if (!c) continue;
    return { id: str(c.id), name: str(c.name), image: { name: str(c.image) } };
  }
  return {};
}

export function mapResource(resource: Obj, b: Builder): ResourceResult {
  const resourceType = str(resource.resourceType);
  const out: ResourceResult = { gd: {}, cloud: {}, hostIps: [], orchestrator: {}, container: {}, users: [] };
  const accessKeyUser: { name?: string; id?: string } = {};
  const k8sUser: { name?: string; id?: string; groups?: string[] } = {};
  const rdsUser: { name?: string } = {};

  const instance = obj(resource.instanceDetails);
  if (instance) {
    out.cloud = { instance: { id: str(instance.instanceId) }, availability_zone: str(instance.availabilityZone) };
    const vpcs: (string | undefined)[] = [];
    const subnets: (string | undefined)[] = [];
    for (const item of arr(instance.networkInterfaces)) {
      const ni = obj(item);
      if (!ni) continue;
      vpcs.push(str(ni.vpcId));
      subnets.push(str(ni.subnetId));
      const addresses: unknown[] = [ni.privateIpAddress, ni.publicIp, ...arr(ni.ipv6Addresses)];
      for (const p of arr(ni.privateIpAddresses)) addresses.push(obj(p)?.privateIpAddress);
      for (const a of addresses) {
        const ip = b.ip(a);
        if (ip !== undefined && !out.hostIps.includes(ip)) out.hostIps.push(ip);
      }
    }
    out.gd.instance = {
      image_id: str(instance.imageId),
      type: str(instance.instanceType),
      state: str(instance.instanceState),
      vpc_id: unique(vpcs),
      subnet_id: unique(subnets),
    };
  }

  const accessKey = obj(resource.accessKeyDetails);
  if (accessKey) {
    // The principal id too, as Elastic's AWS integration lists it: the id outlives a renamed user.
    accessKeyUser.id = b.relatedUser(accessKey.principalId);
    accessKeyUser.name = b.relatedUser(accessKey.userName);
    out.gd.access_key = { id: str(accessKey.accessKeyId), user_type: str(accessKey.userType) };
  }

  const buckets = arr(resource.s3BucketDetails).map(obj).filter((v): v is Obj => v !== undefined);
  if (buckets.length > 0) {
    out.gd.s3_bucket = {
      name: unique(buckets.map((x) => str(x.name))),
      arn: unique(buckets.map((x) => str(x.arn))),
      type: unique(buckets.map((x) => str(x.type))),
    };
  }

  const eks = obj(resource.eksClusterDetails);
  if (eks) out.orchestrator = { type: 'kubernetes', cluster: { name: str(eks.name) } };
  const k8s = obj(resource.kubernetesDetails);
  if (k8s) {
    const u = obj(k8s.kubernetesUserDetails);
    if (u) {
      k8sUser.name = b.relatedUser(u.username);
      k8sUser.id = b.relatedUser(u.uid);
      const groups = arr(u.groups).map((g) => str(g)).filter((g): g is string => g !== undefined);
      if (groups.length > 0) k8sUser.groups = groups;
    }
    const w = obj(k8s.kubernetesWorkloadDetails);
    if (w) {
      out.orchestrator = {
        type: 'kubernetes',
        ...out.orchestrator,
        namespace: str(w.namespace),
        resource: { name: str(w.name), type: str(w.type) },
      };
      out.container = firstContainer(w.containers);
    }
  }

  const ecs = obj(resource.ecsClusterDetails);
  if (ecs) {
    out.orchestrator = { type: 'ecs', cluster: { name: str(ecs.name) } };
    const task = obj(ecs.taskDetails);
    if (task) out.container = firstContainer(task.containers);
  }

  const container = obj(resource.containerDetails);
  if (container) out.container = firstContainer([container]);

  const rdsInstance = obj(resource.rdsDbInstanceDetails);
  const rdsLimitless = obj(resource.rdsLimitlessDbDetails);
  if (rdsInstance || rdsLimitless) {
    const r = rdsInstance ?? rdsLimitless ?? {};
    out.gd.rds = {
      db_instance_identifier: str(r.dbInstanceIdentifier),
      db_cluster_identifier: str(r.dbClusterIdentifier),
      db_shard_group_identifier: str(r.dbShardGroupIdentifier),
      engine: str(r.engine),
      engine_version: str(r.engineVersion),
    };
  }
  const rdsUserDetails = obj(resource.rdsDbUserDetails);
  if (rdsUserDetails) rdsUser.name = b.relatedUser(rdsUserDetails.user);

  const lambda = obj(resource.lambdaDetails);
  if (lambda) out.gd.lambda = { function_name: str(lambda.functionName), function_arn: str(lambda.functionArn) };

  // The resource's own principal first: the Kubernetes user of an EKS finding, the database
  // user of an RDS finding, else the IAM principal of the access key.
  if (resourceType === 'EKSCluster') out.users = [k8sUser, accessKeyUser, rdsUser];
  else if (resourceType === 'RDSDBInstance' || resourceType === 'RDSLimitlessDB') out.users = [rdsUser, accessKeyUser, k8sUser];
  else out.users = [accessKeyUser, k8sUser, rdsUser];
  return out;
}

