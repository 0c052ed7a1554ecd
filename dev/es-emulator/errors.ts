/**
 * Elasticsearch error bodies. Shapes follow ElasticsearchException.generateFailureXContent:
 * `{error: {root_cause: [...], type, reason, <metadata>, caused_by?}, status}`, where the root causes are the
 * innermost Elasticsearch exceptions of the chain, rendered without their own `caused_by`.
 * Metadata keys are written without ES's internal `es.` prefix, as ES does.
 */

export interface ErrorCause {
  type: string;
  reason: string;
  caused_by?: ErrorCause;
  [metadata: string]: unknown;
}

export interface ErrorBody {
  error: ErrorCause & { root_cause: ErrorCause[] };
  status: number;
}

export class EsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly reason: string,
    readonly metadata: Record<string, unknown> = {},
    readonly causedBy?: EsError,
  ) {
    super(`${type}: ${reason}`);
  }

  /** The error as it appears inside other documents (bulk items, read_exceptions, fatal_exception). */
  toCause(): ErrorCause {
    const cause: ErrorCause = { type: this.type, reason: this.reason, ...this.metadata };
    if (this.causedBy) cause.caused_by = this.causedBy.toCause();
    return cause;
  }

  toBody(): ErrorBody {
    return {
      error: { root_cause: [this.rootCause().withoutCause()], ...this.toCause() },
      status: this.status,
    };
  }

  private rootCause(): EsError {
    return this.causedBy ? this.causedBy.rootCause() : this;
  }

  private withoutCause(): ErrorCause {
    return { type: this.type, reason: this.reason, ...this.metadata };
  }
}

export function indexNotFound(index: string): EsError {
  return new EsError(404, 'index_not_found_exception', `no such index [${index}]`, {
    'resource.type': 'index_or_alias',
    'resource.id': index,
    index_uuid: '_na_',
    index,
  });
}

export function indexAlreadyExists(index: string, uuid: string): EsError {
  return new EsError(400, 'resource_already_exists_exception', `index [${index}/${uuid}] already exists`, {
    index_uuid: uuid,
    index,
  });
}

export function indexClosed(index: string, uuid: string): EsError {
  return new EsError(400, 'index_closed_exception', 'closed', { index_uuid: uuid, index });
}

export function invalidIndexName(index: string, detail: string): EsError {
  return new EsError(400, 'invalid_index_name_exception', `Invalid index name [${index}], ${detail}`, {
    index_uuid: '_na_',
    index,
  });
}

export function illegalArgument(reason: string): EsError {
  return new EsError(400, 'illegal_argument_exception', reason);
}

export function resourceNotFound(reason: string): EsError {
  return new EsError(404, 'resource_not_found_exception', reason);
}

export function resourceAlreadyExists(reason: string): EsError {
  return new EsError(400, 'resource_already_exists_exception', reason);
}

export function statusException(status: number, reason: string, causedBy?: EsError): EsError {
  return new EsError(status, 'status_exception', reason, {}, causedBy);
}

/** ActionRequestValidationException: "Validation Failed: 1: first;2: second;" */
export function validationFailed(messages: string[]): EsError {
  const reason = 'Validation Failed: ' + messages.map((m, i) => `${i + 1}: ${m};`).join('');
  return new EsError(400, 'action_request_validation_exception', reason);
}

export function parsingException(reason: string): EsError {
  return new EsError(400, 'parsing_exception', reason);
}

export function xContentParseException(reason: string): EsError {
  return new EsError(400, 'x_content_parse_exception', reason);
}

/** NoSuchRemoteClusterException extends ResourceNotFoundException, hence 404. */
export function noSuchRemoteCluster(alias: string): EsError {
  return new EsError(404, 'no_such_remote_cluster_exception', `no such remote cluster: [${alias}]`);
}

export function connectTransport(address: string): EsError {
  return new EsError(500, 'connect_transport_exception', `[][${address}] connect_exception`);
}

/** FollowingEngine rejects operations that do not come from the leader (yaml test index_directly_into_follower_index). */
export function followerWriteRejected(): EsError {
  return statusException(
    403,
    'a following engine does not accept operations without an assigned sequence number',
  );
}

export function versionConflict(
  index: string,
  uuid: string,
  shard: string,
  id: string,
  currentVersion: number,
): EsError {
  return new EsError(
    409,
    'version_conflict_engine_exception',
    `[${id}]: version conflict, document already exists (current version [${currentVersion}])`,
    { index_uuid: uuid, shard, index },
  );
}

export function documentMissing(index: string, uuid: string, shard: string, id: string): EsError {
  return new EsError(404, 'document_missing_exception', `[${id}]: document missing`, {
    index_uuid: uuid,
    shard,
    index,
  });
}

/**
 * A write to an index with `index.blocks.write: true`: ClusterBlockException over IndexMetadata.INDEX_WRITE_BLOCK
 * (id 8, "index write (api)", FORBIDDEN).
 */
export function indexWriteBlocked(index: string): EsError {
  return new EsError(
    403,
    'cluster_block_exception',
    `index [${index}] blocked by: [FORBIDDEN/8/index write (api)];`,
  );
}

export function indexClosedBlock(index: string): EsError {
  return new EsError(
    403,
    'cluster_block_exception',
    `index [${index}] blocked by: [FORBIDDEN/4/index closed];`,
  );
}

/**
 * `new ElasticsearchException(cause)`: type "exception", status 500, and the cause's Java toString() as reason.
 */
export function wrappedException(cause: EsError, metadata: Record<string, unknown> = {}): EsError {
  return new EsError(
    500,
    'exception',
    `${JAVA_CLASS_NAMES[cause.type] ?? 'org.elasticsearch.ElasticsearchException'}: ${cause.reason}`,
    metadata,
    cause,
  );
}

const JAVA_CLASS_NAMES: Record<string, string> = {
  connect_transport_exception: 'org.elasticsearch.transport.ConnectTransportException',
  no_such_remote_cluster_exception: 'org.elasticsearch.transport.NoSuchRemoteClusterException',
  index_not_found_exception: 'org.elasticsearch.index.IndexNotFoundException',
};

/** Body of a request that matched no route (RestController.handleBadRequest): no `status` field. */
export function noHandlerBody(uri: string, method: string): Record<string, unknown> {
  return { error: `no handler found for uri [${uri}] and method [${method}]` };
}

/** Body of a request whose path exists for other methods (RestController.handleUnsupportedHttpMethod). */
export function methodNotAllowedBody(
  uri: string,
  method: string,
  allowed: string[],
): Record<string, unknown> {
  return {
    error: `Incorrect HTTP method for uri [${uri}] and method [${method}], allowed: [${allowed.join(', ')}]`,
    status: 405,
  };
}
