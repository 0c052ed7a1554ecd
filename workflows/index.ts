export { readinessCheck } from './readiness';
export { failover, type FailoverReport } from './failover';
export { failback, type FailbackReport } from './failback';
export { fenceOldSite, type FenceOldSiteReport } from './fence-old-site';
export { drill, type DrillReport } from './drill';
