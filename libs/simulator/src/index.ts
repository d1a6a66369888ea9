export * from './caller';
export * from './turn-recorder';
export { formatTurn, runCli } from './cli';
export { freePort } from './free-port';
