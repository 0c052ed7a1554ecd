export { readinessCheck } from './readiness';
export { failover, type FailoverReport } from './failover';
export { failback, type FailbackReport } from './failback';
