/**
 * The failure types of the Elasticsearch activities and whether a retry can fix each: the one list workflows
 * derive their retry policies' nonRetryableErrorTypes from. Pure data (no imports), so workflow code can import it.
 */
export const ES_FAILURE_TYPES = {
  EsUnreachable: {
    retryable: true,
    meaning: "nothing answers at the cluster's URL (refused, reset, no living node), e.g. a dead site",
  },
  EsTimeout: {
    retryable: true,
    meaning: 'the request took longer than allowed (a slow or overloaded cluster)',
  },
  EsRemoteUnreachable: {
    retryable: true,
    meaning: 'the cluster answers but cannot reach its remote cluster (link cut, leader down)',
  },
  EsUnavailable: { retryable: true, meaning: '429 or 5xx from Elasticsearch' },
  FollowerNotReady: {
    retryable: true,
    meaning:
      'a follower is still restoring from its leader (or not following yet) when the wait for it ended',
  },
  WriteBlockNotConfirmed: {
    retryable: true,
    meaning:
      'the write block is set but Elasticsearch did not confirm that every shard accounts for it (writes may still be in flight)',
  },
  InvalidCredentials: { retryable: false, meaning: '401: the API key is refused' },
  EsForbidden: { retryable: false, meaning: '403: missing privileges or license' },
  SecretUnavailable: { retryable: false, meaning: 'the API key reference cannot be resolved' },
  InvalidInput: {
    retryable: false,
    meaning: "the activity's input is malformed (the message names the field); nothing was changed",
  },
  EsIndexNotFound: { retryable: false, meaning: 'the index named does not exist on that cluster' },
  IndexNotFollower: {
    retryable: false,
    meaning: 'the index is not a CCR follower (pause/resume on a regular index)',
  },
  LeaderIndexMissing: {
    retryable: false,
    meaning: 'the leader index of a follower (or of a follow request) does not exist',
  },
  FollowerIndexExists: {
    retryable: false,
    meaning:
      'following would replace an existing regular index (open or closed) that replaceExisting did not name',
  },
  IndexFollowsOtherLeader: { retryable: false, meaning: 'the index already follows another leader' },
  RemoteClusterNotConfigured: {
    retryable: false,
    meaning: 'the remote alias is not in the cluster settings',
  },
  AutoFollowPatternNotFound: { retryable: false, meaning: 'no auto-follow pattern of that name' },
  IndexClosed: { retryable: false, meaning: 'the operation needs an open index' },
  IndexNotWriteBlocked: {
    retryable: false,
    meaning: 'a count that must run under the write block found an index without it (fence the site first)',
  },
  EsRequestRejected: { retryable: false, meaning: 'any other 4xx: a request Elasticsearch refuses as such' },
  EsNotElasticsearch: { retryable: false, meaning: 'the URL answers but is not Elasticsearch' },
  EsCertificateUntrusted: {
    retryable: false,
    meaning:
      "the cluster's HTTPS certificate is not trusted (self-signed, unknown CA, or not naming the url's host): set the cluster's ca",
  },
  EsVersionUnsupported: {
    retryable: false,
    meaning:
      "the cluster is not Elasticsearch 8.x or 9.x, or refuses the REST compatibility version sent (the runbook's version is wrong)",
  },
  ElasticsearchNotConfigured: { retryable: false, meaning: 'the runbook has no elasticsearch section' },
  UnknownSite: { retryable: false, meaning: 'the runbook has no Elasticsearch cluster for that site' },
  PromotionIncomplete: {
    retryable: false,
    meaning: 'some indices of a batch failed for different causes (listed in the details)',
  },
} as const satisfies Record<string, { retryable: boolean; meaning: string }>;

export type EsFailureType = keyof typeof ES_FAILURE_TYPES;

/** The types a retry cannot fix, for a retry policy's nonRetryableErrorTypes. */
export const ES_NON_RETRYABLE_FAILURE_TYPES: readonly EsFailureType[] = (
  Object.keys(ES_FAILURE_TYPES) as EsFailureType[]
).filter((type) => !ES_FAILURE_TYPES[type].retryable);

export function isRetryableEsFailureType(type: string): boolean {
  return (ES_FAILURE_TYPES as Record<string, { retryable: boolean }>)[type]?.retryable === true;
}
