/**
 * OVH API error replies.
 *
 * Body shape: `{errorCode, httpCode, message}` as quoted in ovh/php-ovh#56 and #62, plus `class`, which go-ovh parses
 * and which appears in 2024 error messages from the real API ("Client::BadRequest: \"Invalid signature\"").
 * Confirmed: INVALID_SIGNATURE (400, "Invalid signature") and INVALID_CREDENTIAL (403, "This credential is not valid").
 * Everything else here (other codes, messages, the 401 for a missing consumer key, the stale-timestamp reply) is
 * the documented-most-likely choice, not confirmed against the live API.
 */
export interface OvhErrorBody {
  class: string;
  errorCode?: string;
  httpCode: string;
  message: string;
}

const REASONS: Record<number, [reason: string, errorClass: string]> = {
  400: ['Bad Request', 'Client::BadRequest'],
  401: ['Unauthorized', 'Client::Unauthorized'],
  403: ['Forbidden', 'Client::Forbidden'],
  404: ['Not Found', 'Client::NotFound'],
  409: ['Conflict', 'Client::Conflict'],
  500: ['Internal Server Error', 'Server::InternalServerError'],
  502: ['Bad Gateway', 'Server::BadGateway'],
  503: ['Service Unavailable', 'Server::ServiceUnavailable'],
  504: ['Gateway Timeout', 'Server::GatewayTimeout'],
};

export class OvhHttpError extends Error {
  readonly body: OvhErrorBody;

  constructor(
    readonly status: number,
    message: string,
    errorCode?: string,
  ) {
    super(message);
    this.name = 'OvhHttpError';
    const [reason, errorClass] = REASONS[status] ?? [
      'Error',
      status >= 500 ? 'Server::Error' : 'Client::Error',
    ];
    this.body = {
      class: errorClass,
      ...(errorCode === undefined ? {} : { errorCode }),
      httpCode: `${status} ${reason}`,
      message,
    };
  }
}

export const invalidSignature = () => new OvhHttpError(400, 'Invalid signature', 'INVALID_SIGNATURE');
export const queryOutOfTime = () => new OvhHttpError(400, 'Query out of time', 'QUERY_TIME_OUT');
export const invalidApplicationKey = () =>
  new OvhHttpError(403, 'This application key is invalid', 'INVALID_KEY');
export const unknownCredential = () =>
  new OvhHttpError(403, 'This credential does not exist', 'INVALID_CREDENTIAL');
export const invalidCredential = () =>
  new OvhHttpError(403, 'This credential is not valid', 'INVALID_CREDENTIAL');
export const notAuthenticated = () => new OvhHttpError(401, 'You must login first', 'NOT_AUTHENTICATED');
export const badRequest = (message: string) => new OvhHttpError(400, message);
export const conflict = (message: string) => new OvhHttpError(409, message);
/** A path the API does not serve: 404 `Client::NotFound` (kubernetes-sigs/external-dns#5914 quotes the real reply). */
export const invalidUrl = () => new OvhHttpError(404, 'Got an invalid (or empty) URL');
/**
 * An unknown service (the `{serviceName}` of an IP Load Balancer, the `{zoneName}` of a DNS zone): the real API says
 * "This service does not exist" (`Client::NotFound`, quoted for `GET /domain/zone/{zone}/status` in
 * aureq/cert-manager-webhook-ovh#39 and baarde/cert-manager-webhook-ovh#15).
 */
export const serviceNotFound = () => new OvhHttpError(404, 'This service does not exist');
/**
 * An unknown object below a service: "The requested object (id = 1583058551) does not exist" for a DNS record
 * (ovh/php-ovh#89). Other objects are named by their path parameter the same way (by analogy, unconfirmed).
 */
export const objectNotFound = (key: string, value: string | number) =>
  new OvhHttpError(404, `The requested object (${key} = ${value}) does not exist`);
