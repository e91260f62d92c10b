/** A finding's type, severity and ATT&CK tactics; Extended Threat Detection attack sequences. */
import type { EcsDocument } from '../types.ts';
import { obj, str, type Obj } from '../values.ts';
import { arr, type Builder } from './builder.ts';

// ---------------------------------------------------------------------------------------------
// Severity, type, categories, tactics

/** GuardDuty's severity bands: Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0. */
export function severityLabel(severity: number): 'Low' | 'Medium' | 'High' | 'Critical' {
  if (severity < 4) return 'Low';
  if (severity < 7) return 'Medium';
  if (severity < 9) return 'High';
  return 'Critical';
}

/** `ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact`. */
export function splitType(type: string | undefined): { purpose?: string; family?: string; name?: string } {
  if (!type) return {};
  const colon = type.indexOf(':');
  const purpose = colon > 0 ? type.slice(0, colon) : undefined;
  const rest = colon >= 0 ? type.slice(colon + 1) : type;
  const slash = rest.indexOf('/');
  const family = slash > 0 ? rest.slice(0, slash) : undefined;
  const name = slash >= 0 ? rest.slice(slash + 1) : undefined;
  return { purpose, family, name };
}

/** MITRE ATT&CK enterprise tactics by name. */
export const ATTACK_TACTICS: Record<string, string> = {
  Reconnaissance: 'TA0043',
  'Resource Development': 'TA0042',
  'Initial Access': 'TA0001',
  Execution: 'TA0002',
  Persistence: 'TA0003',
  'Privilege Escalation': 'TA0004',
  'Defense Evasion': 'TA0005',
  'Credential Access': 'TA0006',
  Discovery: 'TA0007',
  'Lateral Movement': 'TA0008',
  Collection: 'TA0009',
  Exfiltration: 'TA0010',
  'Command and Control': 'TA0011',
  Impact: 'TA0040',
};

/** GuardDuty threat purposes that name an ATT&CK tactic outright. */
export const PURPOSE_TACTIC: Record<string, string> = {
  CredentialAccess: 'Credential Access',
  DefenseEvasion: 'Defense Evasion',
  Discovery: 'Discovery',
  Execution: 'Execution',
  Exfiltration: 'Exfiltration',
  Impact: 'Impact',
  InitialAccess: 'Initial Access',
  Persistence: 'Persistence',
  PrivilegeEscalation: 'Privilege Escalation',
  Recon: 'Reconnaissance',
};

const NETWORK_ACTIONS = new Set(['NETWORK_CONNECTION', 'PORT_PROBE', 'DNS_REQUEST']);

/** ECS event.category values (all compatible with event.type `info`). */
export function categories(
  purpose: string | undefined,
  family: string | undefined,
  name: string | undefined,
  actionType: string | undefined,
  resourceType: string | undefined,
): string[] {
  const out = new Set<string>(['intrusion_detection']);
  if (actionType && NETWORK_ACTIONS.has(actionType)) out.add('network');
  if (family === 'IAMUser' || family === 'IAM' || resourceType === 'AccessKey') out.add('iam');
  if (actionType === 'RDS_LOGIN_ATTEMPT' || (name && /BruteForce|Login|AnonymousAccess/i.test(name))) out.add('authentication');
  if (purpose === 'Trojan' || (name && /Malware|MaliciousFile/i.test(name))) out.add('malware');
  if (family === 'RDS' || resourceType === 'RDSDBInstance' || resourceType === 'RDSLimitlessDB') out.add('database');
  return [...out];
}

// ---------------------------------------------------------------------------------------------
// Extended Threat Detection (attack sequences)

export interface SequenceResult {
  gd: EcsDocument;
  threat?: { tactics: string[]; techniques: { id?: string; name: string }[] };
}

const TECHNIQUE = /^(T\d{4}(?:\.\d{3})?)\s*-\s*(.+)$/;

export function mapSequence(sequence: Obj, b: Builder): SequenceResult {
  for (const item of arr(sequence.actors)) {
    const user = obj(obj(item)?.user);
    b.relatedUser(user?.name);
  }
  for (const item of arr(sequence.endpoints)) b.ip(obj(item)?.ip);
  const tactics: string[] = [];
  const techniques: { id?: string; name: string }[] = [];
  for (const item of arr(sequence.sequenceIndicators)) {
    const indicator = obj(item);
    const key = str(indicator?.key);
    for (const value of arr(indicator?.values)) {
      const v = str(value);
      if (v === undefined) continue;
      if (key === 'ATTACK_TACTIC' && !tactics.includes(v)) tactics.push(v);
      if (key === 'ATTACK_TECHNIQUE') {
        const m = TECHNIQUE.exec(v);
        const t = m ? { id: m[1], name: m[2] ?? v } : { name: v };
        if (!techniques.some((x) => x.name === t.name)) techniques.push(t);
      }
    }
  }
  return {
    gd: { uid: str(sequence.uid), signal_count: arr(sequence.signals).length || undefined },
    threat: tactics.length > 0 || techniques.length > 0 ? { tactics, techniques } : undefined,
  };
}

