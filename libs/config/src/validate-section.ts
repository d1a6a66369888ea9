import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

const VALIDATE = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true } as const;

/** class-validator errors as `path.to.key: problem` lines, unknown keys named as such. */
export function describeValidationErrors(errors: ValidationError[], prefix = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
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
