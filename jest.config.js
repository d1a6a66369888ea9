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
const libs = ['proto', 'audio', 'config', 'connector-sdk', 'connectors', 'endpointing', 'recording', 'engine', 'simulator'];
module.exports = {
  testEnvironment: 'node',
  rootDir: '.',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test', '<rootDir>/bench'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  // NestJS 12 ships ES modules only; SWC turns them into CommonJS for jest's runtime.
  transform: { '^.+\\.(ts|js|mjs)$': ['@swc/jest', swc] },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|uid|file-type|strtok3|token-types|load-esm|jose|openid-client|oauth4webapi)/)'],
  moduleNameMapper: Object.fromEntries(libs.map((l) => [`^@app/${l}(|/.*)$`, `<rootDir>/libs/${l}/src$1`])),
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
};
