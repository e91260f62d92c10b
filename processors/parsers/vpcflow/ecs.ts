/** The ECS document of one flow log record, from its typed values. */
import type { EcsDocument, ParseContext, ParsedEvent } from '../types.ts';
import { IANA_NUMBER_TEXT, isoFromSeconds, MAX_TIME_S, vpcFlowTransport } from './fields.ts';

/** Positions of the fields mapped to ECS in a format (-1: the format has no such field). */
export interface Positions {
  version: number;
  account: number;
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  protocol: number;
  packets: number;
  bytes: number;
  start: number;
  end: number;
  action: number;
  status: number;
  type: number;
  pktSrc: number;
  pktDst: number;
  region: number;
  instance: number;
  direction: number;
  rejectReason: number;
  ecsCluster: number;
  ecsContainer: number;
}

/** A record's values, typed by their field's kind (undefined: '-' or absent). */
export type Typed = (string | number | undefined)[];

/** The typed value at a field position (-1: the format has no such field). */
function strAt(typed: Typed, i: number): string | undefined {
  return i < 0 ? undefined : (typed[i] as string | undefined);
}

function numAt(typed: Typed, i: number): number | undefined {
  return i < 0 ? undefined : (typed[i] as number | undefined);
}

export function vpcFlowDocument(typed: Typed, at: Positions, vpcflow: EcsDocument, line: string, ctx: ParseContext): ParsedEvent {

    // time: end, else start, else the CloudWatch Logs event time
    const startS = numAt(typed, at.start);
    const endS = numAt(typed, at.end);
    const startOk = startS !== undefined && startS <= MAX_TIME_S;
    const endOk = endS !== undefined && endS <= MAX_TIME_S;
    const timestamp = new Date(endOk ? endS * 1000 : startOk ? startS * 1000 : ctx.timestamp);

    const status = strAt(typed, at.status);
    const noData = status === 'NODATA' || status === 'SKIPDATA';
    const action = noData ? undefined : strAt(typed, at.action);

    // Built with only the values present, so it is already what compact() would return
    // (compact() itself would cost more than all of the rest of the parse).
    const event: EcsDocument = { kind: 'event', category: ['network'] };
    if (noData) {
      event.type = ['info'];
      event.outcome = 'unknown';
    } else if (action === 'ACCEPT') {
      // event.action as the record writes it (ACCEPT/REJECT), as Elastic's AWS integration keeps it.
      event.type = ['connection', 'allowed'];
      event.action = 'ACCEPT';
      event.outcome = 'success';
    } else if (action === 'REJECT') {
      event.type = ['connection', 'denied'];
      event.action = 'REJECT';
      event.outcome = 'failure';
    } else {
      event.type = ['connection'];
      event.outcome = 'unknown';
    }
    const rejectReason = strAt(typed, at.rejectReason);
    if (rejectReason !== undefined) event.reason = rejectReason;
    if (startOk) event.start = isoFromSeconds(startS);
    if (endOk) event.end = isoFromSeconds(endS);
    if (startOk && endOk && endS >= startS) event.duration = (endS - startS) * 1_000_000_000;
    event.original = line;

    const accountRaw = strAt(typed, at.account);
    const cloud: EcsDocument = {
      account: { id: accountRaw !== undefined && accountRaw !== 'unknown' ? accountRaw : ctx.owner },
    };
    const region = strAt(typed, at.region);
    if (region !== undefined) cloud.region = region;
    const instance = strAt(typed, at.instance);
    if (instance !== undefined) cloud.instance = { id: instance };

    const doc: EcsDocument = { event, cloud };

    if (!noData) {
      const src = strAt(typed, at.src);
      const dst = strAt(typed, at.dst);
      const pktSrc = strAt(typed, at.pktSrc);
      const pktDst = strAt(typed, at.pktDst);
      const srcPort = numAt(typed, at.srcPort);
      const dstPort = numAt(typed, at.dstPort);
      const protocol = numAt(typed, at.protocol);
      const bytes = numAt(typed, at.bytes);
      const packets = numAt(typed, at.packets);
      const type = strAt(typed, at.type);
      const direction = strAt(typed, at.direction);

      const source: EcsDocument = {};
      // ECS keeps the address as written beside the parsed ip; searches on source.address (as Elastic's
      // AWS integration writes it) find flows too.
      if (src !== undefined) {
        source.address = src;
        source.ip = src;
      }
      if (srcPort !== undefined) source.port = srcPort;
      if (bytes !== undefined) source.bytes = bytes;
      if (packets !== undefined) source.packets = packets;
      if (src !== undefined || srcPort !== undefined || bytes !== undefined || packets !== undefined) doc.source = source;
      if (dst !== undefined || dstPort !== undefined) {
        const destination: EcsDocument = {};
        if (dst !== undefined) {
          destination.address = dst;
          destination.ip = dst;
        }
        if (dstPort !== undefined) destination.port = dstPort;
        doc.destination = destination;
      }

      const network: EcsDocument = {};
      let hasNetwork = false;
      if (protocol !== undefined) {
        network.transport = vpcFlowTransport(protocol);
        network.iana_number = IANA_NUMBER_TEXT[protocol]!;
        hasNetwork = true;
      }
      const anyAddr = src ?? dst ?? pktSrc ?? pktDst;
      const networkType =
        type === 'IPv4' ? 'ipv4' : type === 'IPv6' ? 'ipv6' : anyAddr === undefined ? undefined : anyAddr.indexOf(':') === -1 ? 'ipv4' : 'ipv6';
      if (networkType !== undefined) {
        network.type = networkType;
        hasNetwork = true;
      }
      if (direction === 'ingress' || direction === 'egress') {
        network.direction = direction;
        hasNetwork = true;
      }
      if (bytes !== undefined) {
        network.bytes = bytes;
        hasNetwork = true;
      }
      if (packets !== undefined) {
        network.packets = packets;
        hasNetwork = true;
      }
      if (hasNetwork) doc.network = network;

      if (anyAddr !== undefined) {
        const ips: string[] = [];
        if (src !== undefined) ips.push(src);
        if (dst !== undefined && dst !== src) ips.push(dst);
        if (pktSrc !== undefined && pktSrc !== src && pktSrc !== dst) ips.push(pktSrc);
        if (pktDst !== undefined && pktDst !== src && pktDst !== dst && pktDst !== pktSrc) ips.push(pktDst);
        doc.related = { ip: ips };
      }
    }

    const ecsCluster = strAt(typed, at.ecsCluster);
    const ecsContainer = strAt(typed, at.ecsContainer);
    if (ecsContainer !== undefined) doc.container = { id: ecsContainer };
    if (ecsCluster !== undefined || ecsContainer !== undefined) {
      doc.orchestrator = ecsCluster === undefined ? { type: 'ecs' } : { type: 'ecs', cluster: { name: ecsCluster } };
    }

    doc.aws = { vpcflow };
    return { timestamp, document: doc };
}
