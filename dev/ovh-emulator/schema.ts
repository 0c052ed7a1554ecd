import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The parts of an OVH API v1 schema file (`https://eu.api.ovh.com/1.0/<api>.json`) the emulator reads. */
export interface SchemaProperty {
  type: string;
  fullType?: string;
  canBeNull: boolean;
  readOnly: boolean;
  required?: boolean;
}
export interface SchemaModel {
  id: string;
  namespace: string;
  enum?: string[];
  properties?: Record<string, SchemaProperty>;
}
export interface SchemaParameter {
  name?: string;
  dataType: string;
  paramType: 'path' | 'query' | 'body' | 'header';
  required: boolean;
}
export interface SchemaOperation {
  httpMethod: string;
  noAuthentication: boolean;
  parameters: SchemaParameter[];
  responseType: string;
}
export interface ApiSchema {
  resourcePath: string;
  apis: { path: string; operations: SchemaOperation[] }[];
  models: Record<string, SchemaModel>;
}

export const SCHEMA_DIR = path.join(__dirname, 'schemas');
export const SCHEMA_NAMES = ['auth', 'domain', 'ipLoadbalancing', 'cloud'] as const;

export function loadSchemas(dir = SCHEMA_DIR): ApiSchema[] {
  return SCHEMA_NAMES.map(
    (name) => JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as ApiSchema,
  );
}

const STRING_TYPES = new Set([
  'string',
  'text',
  'password',
  'ip',
  'ipv6',
  'ipBlock',
  'ipv4Block',
  'uuid',
  'datetime',
  'date',
  'time',
]);
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Operation lookup and value validation against the shipped schemas, as OVH validates request input. */
export class OvhSchemas {
  private readonly operations = new Map<string, SchemaOperation>();
  private readonly models = new Map<string, SchemaModel>();

  constructor(schemas: ApiSchema[] = loadSchemas()) {
    for (const schema of schemas) {
      for (const api of schema.apis) {
        for (const op of api.operations) this.operations.set(`${op.httpMethod} ${api.path}`, op);
      }
      for (const [name, model] of Object.entries(schema.models)) this.models.set(name, model);
    }
  }

  operation(method: string, templatePath: string): SchemaOperation | undefined {
    return this.operations.get(`${method} ${templatePath}`);
  }

  model(name: string): SchemaModel | undefined {
    return this.models.get(name);
  }

  /**
   * Problems with a JSON value for a schema type, each prefixed with the field path. With `writable`, read-only
   * properties are tolerated (a client may send back what it read) and not checked.
   */
  problems(type: string, value: unknown, where: string, writable = false): string[] {
    if (type.endsWith('[]')) {
      if (!Array.isArray(value)) return [`[${where}] Given data (${show(value)}) is not an array`];
      return value.flatMap((item, i) => this.problems(type.slice(0, -2), item, `${where}[${i}]`, writable));
    }
    if (type === 'long' || type === 'int') {
      return Number.isInteger(value) ? [] : [`[${where}] Given data (${show(value)}) is not a long`];
    }
    if (type === 'double' || type === 'float') {
      return typeof value === 'number' ? [] : [`[${where}] Given data (${show(value)}) is not a number`];
    }
    if (type === 'boolean') {
      return typeof value === 'boolean' ? [] : [`[${where}] Given data (${show(value)}) is not a boolean`];
    }
    if (type === 'ipv4') {
      return typeof value === 'string' && IPV4.test(value)
        ? []
        : [`[${where}] Given data (${show(value)}) is not an ipv4`];
    }
    if (STRING_TYPES.has(type)) {
      return typeof value === 'string' ? [] : [`[${where}] Given data (${show(value)}) is not a ${type}`];
    }
    const model = this.models.get(type);
    if (!model) return [`[${where}] unknown schema type ${type}`];
    if (model.enum) {
      return typeof value === 'string' && model.enum.includes(value)
        ? []
        : [`[${where}] Given data (${show(value)}) does not belong to the ${type} enumeration`];
    }
    return this.objectProblems(type, model, value, where, writable);
  }

  private objectProblems(
    type: string,
    model: SchemaModel,
    value: unknown,
    where: string,
    writable: boolean,
  ): string[] {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return [`[${where}] Given data (${show(value)}) is not a ${type}`];
    }
    const properties = model.properties ?? {};
    const problems: string[] = [];
    for (const [key, field] of Object.entries(value)) {
      const property = properties[key];
      const at = where ? `${where}.${key}` : key;
      if (!property) problems.push(`[${at}] Unknown parameter for ${type}`);
      else if (writable && property.readOnly) continue;
      else if (field === null) {
        if (!property.canBeNull) problems.push(`[${at}] Property is mandatory and cannot be null`);
      } else problems.push(...this.problems(property.type, field, at, writable));
    }
    return problems;
  }
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
