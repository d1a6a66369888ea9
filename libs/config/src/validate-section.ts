import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

const VALIDATE = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true } as const;

const NUMERIC = ['isInt', 'isNumber', 'min', 'max', 'isPositive'];
const NUMBER_TEXT = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/;

/**
 * A value of the wrong YAML type, said as such: `port: "50051"` is text, not a number (YAML quotes make text), and
 * `agent_id: 123` a number where text belongs. Undefined when the problem is something else.
 */
function typeProblem(e: ValidationError): string | undefined {
  const kinds = Object.keys(e.constraints ?? {});
  const v: unknown = e.value;
  if (typeof v === 'string') {
    if (kinds.some((k) => NUMERIC.includes(k)) || (kinds.includes('isIn') && NUMBER_TEXT.test(v))) {
      return NUMBER_TEXT.test(v) ? `must be a number, not the text "${v}": write it without quotes` : `must be a number, got the text "${v}"`;
    }
    if (kinds.includes('isBoolean')) {
      // Only true/false without quotes are booleans in YAML 1.2 (yes/no/on/off stay text).
      if (/^(true|false)$/i.test(v)) return `must be true or false, not the text "${v}": write it without quotes`;
      return /^(yes|no|on|off|y|n)$/i.test(v) ? `must be true or false, got the text "${v}" (yes/no/on/off are text in YAML 1.2)` : `must be true or false, got the text "${v}"`;
    }
  }
  if ((typeof v === 'number' || typeof v === 'boolean') && kinds.includes('isString')) return `must be text, got the ${typeof v} ${v}: put it in quotes`;
  return undefined;
}

/** class-validator errors as `path.to.key: problem` lines, unknown keys named as such. */
export function describeValidationErrors(errors: ValidationError[], prefix = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    const wrongType = typeProblem(e);
    if (wrongType) {
      out.push(`${path}: ${wrongType}`);
      out.push(...describeValidationErrors(e.children ?? [], path));
      continue;
    }
    for (const msg of new Set(Object.values(e.constraints ?? {}))) {
      out.push(msg.startsWith('property ') ? `${path}: unknown key` : `${path}: ${msg.replace(e.property, 'value')}`);
    }
    out.push(...describeValidationErrors(e.children ?? [], path));
  }
  return out;
}

/**
 * Turns one YAML section into its settings class, defaults filled in, and lists what is wrong with it.
 * Connectors use it for their own `config` block so every error names the key the user wrote.
 */
export function validateSection<T extends object>(cls: ClassConstructor<T>, raw: unknown, prefix: string): { value: T; problems: string[] } {
  const value = plainToInstance(cls, raw ?? {}, { exposeDefaultValues: true });
  return { value, problems: describeValidationErrors(validateSync(value, VALIDATE), prefix) };
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `override` laid over `base`, map by map (lists and values replace). */
export function mergeSettings(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = isMap(v) && isMap(base[k]) ? mergeSettings(base[k], v) : v;
  return out;
}
