import type { RunningGateway } from '../../apps/gateway/src/bootstrap';

/** The parts of an OpenAPI 3 document these checks read. */
export interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>>;
  components: { schemas: Record<string, Schema> };
}

type Schema = Record<string, any>;

/** The JSON schema documented for a route's response. Throws when the route or the status is not documented. */
export function responseSchema(doc: OpenApiDoc, method: string, path: string, status: number): Schema {
  const op = doc.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`${method} ${path} is not in the OpenAPI document`);
  const res = op.responses[String(status)];
  const schema = res?.content?.['application/json']?.schema ?? res?.content?.['text/plain']?.schema;
  if (!schema) throw new Error(`${method} ${path}: no documented schema for ${status}`);
  return schema;
}

/**
 * Where `value` does not match `schema` (empty when it does). Stricter than OpenAPI's default: an object may carry
 * only documented properties (unless its schema allows others), so an undocumented field fails the check.
 */
export function schemaProblems(doc: OpenApiDoc, schema: Schema, value: unknown, at = '$'): string[] {
  if (schema.$ref) {
    const name = String(schema.$ref).replace('#/components/schemas/', '');
    const target = doc.components.schemas[name];
    if (!target) return [`${at}: unknown schema ${schema.$ref}`];
    return schemaProblems(doc, target, value, at);
  }
  if (schema.allOf) return (schema.allOf as Schema[]).flatMap((s) => schemaProblems(doc, s, value, at));
  if (value === null && schema.nullable) return [];
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) return [`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`];
  const type = schema.type ?? (schema.properties ? 'object' : undefined);
  switch (type) {
    case 'string':
      return typeof value === 'string' ? [] : [`${at}: expected a string, got ${JSON.stringify(value)}`];
    case 'number':
      return typeof value === 'number' ? [] : [`${at}: expected a number, got ${JSON.stringify(value)}`];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${at}: expected an integer, got ${JSON.stringify(value)}`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at}: expected a boolean, got ${JSON.stringify(value)}`];
    case 'array':
      if (!Array.isArray(value)) return [`${at}: expected an array`];
      return schema.items ? value.flatMap((v, i) => schemaProblems(doc, schema.items, v, `${at}[${i}]`)) : [];
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: expected an object`];
      const obj = value as Record<string, unknown>;
      const props: Record<string, Schema> = schema.properties ?? {};
      const out: string[] = [];
      for (const r of (schema.required as string[] | undefined) ?? []) if (!(r in obj)) out.push(`${at}.${r}: required, missing`);
      for (const [k, v] of Object.entries(obj)) {
        if (props[k]) out.push(...schemaProblems(doc, props[k], v, `${at}.${k}`));
        else if (schema.additionalProperties === undefined || schema.additionalProperties === false) out.push(`${at}.${k}: not documented`);
        else if (typeof schema.additionalProperties === 'object') out.push(...schemaProblems(doc, schema.additionalProperties, v, `${at}.${k}`));
      }
      return out;
    }
    default:
      return [];
  }
}

/**
 * Every route the monitoring HTTP application's server (Express, in its worker thread) has registered, as
 * `METHOD /path` with `{param}` placeholders.
 */
export async function registeredRoutes(gw: RunningGateway): Promise<string[]> {
  const routes = await gw.monitoringHttp!.call<Array<{ method: string; path: string }>>('routes');
  return [...new Set(routes.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`))].sort();
}
