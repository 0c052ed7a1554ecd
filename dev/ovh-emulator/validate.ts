import { badRequest } from './errors';
import type { OvhSchemas, SchemaOperation } from './schema';

/** Problems with a path or query parameter, which arrive as text. */
function textProblems(schemas: OvhSchemas, dataType: string, value: string, name: string): string[] {
  if (dataType === 'long' || dataType === 'int') {
    return /^-?\d+$/.test(value) ? [] : [`[${name}] Given data (${value}) is not a long`];
  }
  if (dataType === 'boolean') {
    return value === 'true' || value === 'false' ? [] : [`[${name}] Given data (${value}) is not a boolean`];
  }
  if (dataType === 'datetime') {
    return Number.isNaN(Date.parse(value)) ? [`[${name}] Given data (${value}) is not a datetime`] : [];
  }
  if (dataType.includes('[') || dataType.includes(']')) return []; // maps and lists in a query string: not used here
  return schemas.problems(dataType, value, name);
}

function bodyProblems(schemas: OvhSchemas, operation: SchemaOperation, body: unknown): string[] {
  const bodyParams = operation.parameters.filter((p) => p.paramType === 'body');
  const whole = bodyParams.find((p) => p.name === undefined);
  if (whole) {
    if (body === undefined) return whole.required ? ['Missing body'] : [];
    return schemas.problems(whole.dataType, body, '', true);
  }
  if (body === undefined) {
    return bodyParams.filter((p) => p.required).map((p) => `[${p.name}] Property is mandatory`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return ['The body must be a JSON object'];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    const param = bodyParams.find((p) => p.name === key);
    if (!param) problems.push(`[${key}] Unknown parameter`);
    else if (value !== null) problems.push(...schemas.problems(param.dataType, value, key, true));
  }
  for (const param of bodyParams) {
    if (param.required && param.name !== undefined && !(param.name in body))
      problems.push(`[${param.name}] Property is mandatory`);
  }
  return problems;
}

/** Refuses (400) a request whose path parameters, query parameters or body do not fit the schema operation. */
export function validateRequest(
  schemas: OvhSchemas,
  operation: SchemaOperation,
  request: { params: Record<string, string>; query: URLSearchParams; body: unknown },
): void {
  const problems: string[] = [];
  for (const param of operation.parameters) {
    if (param.name === undefined) continue;
    const value =
      param.paramType === 'path'
        ? request.params[param.name]
        : param.paramType === 'query'
          ? request.query.get(param.name)
          : null;
    if (value !== null && value !== undefined)
      problems.push(...textProblems(schemas, param.dataType, value, param.name));
  }
  problems.push(...bodyProblems(schemas, operation, request.body));
  if (problems.length > 0) throw badRequest(problems.join('; '));
}
