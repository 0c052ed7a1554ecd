/** The Elasticsearch failure types: one exported table says which are retryable, and the failures follow it. */
import { errors } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { ES_FAILURE_TYPES, ES_NON_RETRYABLE_FAILURE_TYPES, type EsFailureType } from '../common/es-failures';
import { esDecision, esFailure } from '../activities/elasticsearch/errors';

describe('Elasticsearch failure types', () => {
  it('lists every type once with its retryability, and derives the non-retryable list from it', () => {
    const types = Object.keys(ES_FAILURE_TYPES) as EsFailureType[];
    expect(types).toContain('EsUnreachable');
    expect(types).toContain('InvalidInput');
    expect(ES_NON_RETRYABLE_FAILURE_TYPES).toEqual(types.filter((t) => !ES_FAILURE_TYPES[t].retryable));
    expect(ES_NON_RETRYABLE_FAILURE_TYPES).not.toContain('EsUnreachable');
    expect(ES_NON_RETRYABLE_FAILURE_TYPES).toContain('FollowerIndexExists');
  });

  it('raises each type with the retryability the table gives', () => {
    for (const [type, entry] of Object.entries(ES_FAILURE_TYPES)) {
      const failure = esDecision(type as EsFailureType, `a ${type}`);
      expect(failure.type).toBe(type);
      expect(failure.nonRetryable, type).toBe(!entry.retryable);
    }
    const refused = esFailure('gra', 'ping', new errors.ConnectionError('connect ECONNREFUSED'));
    expect(refused).toMatchObject({ type: 'EsUnreachable', nonRetryable: false });
  });
});
