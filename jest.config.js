// CommonJS jest with SWC: fast, and keeps decorator metadata for NestJS DI.
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};
const libs = ['proto', 'audio', 'config', 'connectors', 'engine', 'simulator'];
module.exports = {
  testEnvironment: 'node',
  rootDir: '.',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: Object.fromEntries(libs.map((l) => [`^@app/${l}(|/.*)$`, `<rootDir>/libs/${l}/src$1`])),
  testTimeout: 30000,
};
