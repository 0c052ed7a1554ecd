export { readinessCheck } from './readiness';
