/**
 * GuardDuty findings -> ECS documents.
 *
 * A finding arrives bare (`{schemaVersion, id, type, severity, ...}`) or as the `detail` of an
 * EventBridge "GuardDuty Finding" event, whose envelope is then passed along for fallbacks
 * (account, region, time). GuardDuty republishes a finding under the same id each time it is
 * updated, so each update becomes its own document: id parts are the finding id and its
 * `updatedAt` exactly as given.
 *
 * ECS fields where ECS has them (event.*, rule.*, source/destination/network, dns, user,
 * user_agent, host.ip, cloud.*, orchestrator.*, container.*, threat.*, related.*); everything
 * else under `aws.guardduty.*`, with the volatile sub-objects (resource details, additionalInfo,
 * evidence, action details, attack sequence detection, runtime details) kept whole as
 * `flat_object`. Only syntactically valid IP addresses reach `ip` fields; placeholders such as
 * the `GeneratedFinding*` values of sample findings stay under `aws.guardduty.*`.
 */
import { mapAction } from './guardduty/actions.ts';
import { Builder, endpointDoc, isoTime, unique } from './guardduty/builder.ts';
import { mapResource } from './guardduty/resources.ts';
import { ATTACK_TACTICS, categories, mapSequence, PURPOSE_TACTIC, severityLabel, splitType } from './guardduty/threat.ts';
import { compact, ParseError, type EcsDocument, type ParseContext, type ParsedEvent } from './types.ts';
import { bool, int, num, obj, parseTime, str, type Obj } from './values.ts';

export { severityLabel } from './guardduty/threat.ts';

// ---------------------------------------------------------------------------------------------

function looksLikeAsff(finding: Obj): boolean {
  return 'ProductArn' in finding || ('SchemaVersion' in finding && 'AwsAccountId' in finding);
}

/**
 * One GuardDuty finding as the source-specific part of an ECS document.
 * `finding` is the bare finding or the `detail` of an EventBridge "GuardDuty Finding" event
 * (then `envelope` is that event). Throws ParseError only when the finding has no `id`, or
 * neither a usable time (`updatedAt`, `createdAt`, the envelope's `time`) nor an `updatedAt` /
 * `createdAt` string to tell its updates apart.
 */
export function parseGuardDutyFinding(
  finding: Record<string, unknown>,
  ctx: ParseContext,
  envelope?: Record<string, unknown>,
): ParsedEvent {
  const id = str(finding.id);
  if (id === undefined) {
    const hint = looksLikeAsff(finding) ? ' (this looks like a Security Hub ASFF finding, not a GuardDuty finding)' : '';
    throw new ParseError('guardduty', `finding has no id${hint}`);
  }
  const updatedAt = str(finding.updatedAt);
  const createdAt = str(finding.createdAt);
  const version = updatedAt ?? createdAt;
  if (version === undefined) throw new ParseError('guardduty', `finding ${id} has no updatedAt or createdAt`);
  const timestamp =
    parseTime(finding.updatedAt) ?? parseTime(finding.createdAt) ?? parseTime(envelope?.time);
  if (timestamp === undefined) {
    throw new ParseError('guardduty', `finding ${id} has no usable updatedAt or createdAt (${JSON.stringify(version).slice(0, 64)})`);
  }

  const b = new Builder();
  const type = str(finding.type);
  const { purpose, family, name } = splitType(type);
  const severity = num(finding.severity);
  const service = obj(finding.service) ?? {};
  const action = obj(service.action);
  const actionType = str(action?.actionType);
  const resource = obj(finding.resource);
  const resourceType = str(resource?.resourceType);
  const additionalInfo = obj(service.additionalInfo);

  const resourceResult = resource ? mapResource(resource, b) : undefined;
  const actionResult = action ? mapAction(action, b) : undefined;
  const detection = obj(service.detection);
  const sequence = obj(detection?.sequence);
  const sequenceResult = sequence ? mapSequence(sequence, b) : undefined;

  const user = resourceResult?.users.find((u) => u.name !== undefined || u.id !== undefined) ?? {};
  const groups = resourceResult?.users.find((u) => u.groups !== undefined)?.groups;

  const tacticNames = unique([
    ...(purpose && PURPOSE_TACTIC[purpose] ? [PURPOSE_TACTIC[purpose]] : []),
    ...(sequenceResult?.threat?.tactics ?? []),
  ]);
  const techniques = sequenceResult?.threat?.techniques ?? [];
  const threat: EcsDocument | undefined =
    tacticNames.length > 0 || techniques.length > 0
      ? {
          framework: 'MITRE ATT&CK',
          tactic: { name: tacticNames, id: unique(tacticNames.map((t) => ATTACK_TACTICS[t])) },
          technique: {
            name: techniques.map((t) => t.name),
            id: unique(techniques.map((t) => t.id)),
          },
        }
      : undefined;

  const orchestrator: EcsDocument = { ...(resourceResult?.orchestrator ?? {}) };
  const k8sTarget = actionResult?.orchestrator;
  if (k8sTarget) {
    orchestrator.type ??= 'kubernetes';
    orchestrator.namespace ??= k8sTarget.namespace;
    orchestrator.resource ??= k8sTarget.resource;
  }

  const document: EcsDocument = {
    message: str(finding.title),
    event: {
      // ECS: a finding a detector raised is an alert (Elastic's AWS integration writes `event`); alert
      // views and detection content key on event.kind: alert.
      kind: 'alert',
      id,
      provider: 'guardduty',
      severity: severity !== undefined ? Math.round(severity) : undefined,
      created: isoTime(finding.createdAt),
      start: isoTime(service.eventFirstSeen),
      end: isoTime(service.eventLastSeen),
      category: categories(purpose, family, name, actionType, resourceType),
      type: ['info'],
      // As GuardDuty writes it (DNS_REQUEST), so searches written for Elastic's AWS integration match.
      action: actionType,
    },
    // ruleset `ThreatPurpose:ResourceTypeAffected` (Trojan:EC2), as Elastic's AWS integration names it.
    rule: { name: type, category: purpose, ruleset: purpose && family ? `${purpose}:${family}` : family },
    cloud: {
      account: { id: str(finding.accountId) ?? str(envelope?.account) ?? str(ctx.owner) },
      region: str(finding.region) ?? str(envelope?.region),
      ...(resourceResult?.cloud ?? {}),
    },
    host: { ip: resourceResult?.hostIps ?? [] },
    source: endpointDoc(b.source),
    destination: endpointDoc(b.destination),
    network: b.network,
    dns: actionResult?.dns,
    url: { original: actionResult?.url },
    user_agent: { original: actionResult?.userAgent },
    user: { name: user.name, id: user.id, group: { name: groups } },
    orchestrator,
    container: resourceResult?.container,
    threat,
    related: { ip: b.ips, user: b.users },
    aws: {
      guardduty: {
        arn: str(finding.arn),
        schema_version: str(finding.schemaVersion),
        partition: str(finding.partition),
        severity,
        severity_label: severity !== undefined ? severityLabel(severity) : undefined,
        description: str(finding.description),
        detector_id: str(service.detectorId),
        count: int(service.count),
        archived: bool(service.archived),
        resource_role: str(service.resourceRole),
        feature_name: str(service.featureName),
        user_feedback: str(service.userFeedback),
        sample: bool(additionalInfo?.sample),
        associated_attack_sequence_arn: str(finding.associatedAttackSequenceArn),
        resource_type: resourceType,
        resource,
        ...(resourceResult?.gd ?? {}),
        action: actionResult?.gd,
        additional_info: additionalInfo,
        evidence: obj(service.evidence),
        detection,
        attack_sequence: sequenceResult?.gd,
        runtime_details: obj(service.runtimeDetails),
        ebs_volume_scan_details: obj(service.ebsVolumeScanDetails),
        malware_scan_details: obj(service.malwareScanDetails),
      },
    },
  };

  return { timestamp, document: compact(document), idParts: [id, version] };
}
