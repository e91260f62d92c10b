// Shard leases shared by the workers of a fleet (KCL's lease table format).
export { LeaseCoordinator, type HeldLease, type LeaseCoordinatorOptions, type LeaseEvent } from './lease-coordinator.ts';
export { LeaseObservations, planLeaseTaking, type LeasePlan, type LeasePlanInput } from './lease-taker.ts';
export { LeaseTable, SHARD_END, TRIM_HORIZON, type Lease } from './lease-table.ts';
export { parentsFinished, syncShardLeases, type ShardSyncResult } from './shard-sync.ts';
