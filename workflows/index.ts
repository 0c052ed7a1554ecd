export { readinessCheck } from './readiness';
export { failover, type FailoverReport } from './failover';
