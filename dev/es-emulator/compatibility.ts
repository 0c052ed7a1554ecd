import type { EsMajorVersion } from './cluster';
import type { EsResponse } from './http-types';

/**
 * REST API compatibility, as Elasticsearch's RestRequest checks it before any handler runs
 * (RestCompatibleVersionHelper.getCompatibleVersion): `compatible-with=N` in Accept, and in Content-Type when the
 * request has a body, must be the server's major or the one before, and both headers must agree. A refusal is
 * the 400 `media_type_header_exception` RestRequest.MediaTypeHeaderException gives, its cause a status_exception.
 */
export function compatibilityRefusal(
  major: EsMajorVersion,
  accept: string | undefined,
  contentType: string | undefined,
  hasContent: boolean,
): EsResponse | undefined {
  const aVersion = compatibleWith(accept);
  const cVersion = compatibleWith(contentType);
  const acceptVersion = aVersion ?? major;
  const contentTypeVersion = cVersion ?? major;
  const outOfRange = (v: number) => v > major || v < major - 1;
  if (outOfRange(acceptVersion))
    return refusal(
      `Accept version must be either version ${major} or ${major - 1}, but found ${acceptVersion}. Accept=${accept}`,
    );
  if (!hasContent) return undefined;
  if (outOfRange(contentTypeVersion))
    return refusal(
      `Content-Type version must be either version ${major} or ${major - 1}, but found ${contentTypeVersion}. Content-Type=${contentType}`,
    );
  const both = 'A compatible version is required on both Content-Type and Accept headers';
  if (contentTypeVersion !== acceptVersion)
    return refusal(
      `${both} if either one has requested a compatible version and the compatible versions must match. Accept=${accept}, Content-Type=${contentType}`,
    );
  if ((aVersion === undefined) !== (cVersion === undefined))
    return refusal(
      `${both} if either one has requested a compatible version. Accept=${accept}, Content-Type=${contentType}`,
    );
  return undefined;
}

/**
 * The `compatible-with` parameter of a header, as ParsedMediaType.parseMediaType reads it: a value holding a comma
 * (several media types, as the JS client's `…; compatible-with=9,text/plain` on body-less requests) is a media
 * range and counts as absent, like `*\/*`.
 */
function compatibleWith(header: string | undefined): number | undefined {
  if (header === undefined || header.includes(',') || header === '*/*') return undefined;
  for (const parameter of header.toLowerCase().split(/\s*;/).slice(1)) {
    const [name, value] = parameter.trim().split('=');
    if (name === 'compatible-with' && value !== undefined) return Number(value);
  }
  return undefined;
}

function refusal(reason: string): EsResponse {
  // MediaTypeHeaderException lists the headers from a Set.of(...): reports show either order; this is one.
  const headerError = {
    type: 'media_type_header_exception',
    reason: 'Invalid media-type value on headers [Content-Type, Accept]',
  };
  return {
    status: 400,
    body: {
      error: {
        root_cause: [headerError],
        ...headerError,
        caused_by: { type: 'status_exception', reason },
      },
      status: 400,
    },
  };
}
