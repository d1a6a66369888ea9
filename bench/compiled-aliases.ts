// Preloaded into bench children that run from .bench-build (bench/compiled.ts): tsc keeps the `@app/<lib>` import
// paths, so they are resolved here to the build's libs/<lib>/src, as the tsconfig paths say.
import Module = require('node:module');
import { resolve } from 'node:path';

const LIBS = resolve(__dirname, '..', 'libs');
const M = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
const original = M._resolveFilename;
M._resolveFilename = function (request: string, ...rest: unknown[]): string {
  if (request.startsWith('@app/')) request = resolve(LIBS, request.slice(5), 'src');
  return original.call(this, request, ...rest);
};
