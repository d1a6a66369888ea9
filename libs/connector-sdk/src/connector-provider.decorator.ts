import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';

export const CONNECTOR_PROVIDER = Symbol.for('byova.connector-provider');

export interface ConnectorProviderMeta {
  /** Value of `type:` in a connectors entry. */
  type: string;
  /** Other names that select it, e.g. the Python gateway's `module`/`class` values. */
  aliases?: string[];
}

/** Marks an injectable ConnectorFactory; any module that provides one (built-in or plugin) registers it. */
export function ConnectorProvider(meta: ConnectorProviderMeta): ClassDecorator {
  return applyDecorators(Injectable(), SetMetadata(CONNECTOR_PROVIDER, meta));
}
