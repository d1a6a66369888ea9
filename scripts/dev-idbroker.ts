// A local stand-in for Webex's identity broker, to try jwt_validation without Webex: serves a key set on
// 127.0.0.1, prints the jwt_validation settings that trust it and a token WxCC-like (valid for an hour), and keeps
// serving until Ctrl-C. Development only: the key is made up at start and never leaves this process.
// Usage: node -r @swc-node/register scripts/dev-idbroker.ts [--port 9400] [--url https://gw.example.com/byova] [--hours 1]
import { parseArgs } from 'node:util';
import { FakeWebexIdBroker } from '../test/support/fake-webex-idbroker';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '9400' }, url: { type: 'string', default: 'https://gateway.example.com/byova' }, hours: { type: 'string', default: '1' } },
  });
  const port = Number(values.port);
  const hours = Number(values.hours);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`--port: not a port: ${values.port}`);
  if (!(hours > 0 && hours <= 24)) throw new Error('--hours: between 0 and 24');
  const broker = await new FakeWebexIdBroker().start(port);
  const now = Math.floor(Date.now() / 1000);
  const token = await broker.token({ claims: { 'com.cisco.datasource.url': values.url, exp: now + Math.round(hours * 3600) } });
  process.stdout.write(
    [
      `Identity broker stand-in: issuer ${broker.issuer}, keys at ${broker.issuer}/oauth2/v2/keys/verificationjwk`,
      '',
      'Gateway config:',
      'jwt_validation:',
      '  enabled: true',
      `  datasource_url: ${values.url}`,
      `  issuers: ["${broker.issuer}"]`,
      '',
      'Token (also in BYOVA_TOKEN form below):',
      token,
      '',
      `BYOVA_TOKEN=${token} npm run simulate -- --list`,
      '',
      'Serving until Ctrl-C.',
      '',
    ].join('\n'),
  );
  process.once('SIGINT', () => void broker.stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void broker.stop().then(() => process.exit(0)));
}

main().catch((e) => {
  process.stderr.write(`dev-idbroker: ${(e as Error).message}\n`);
  process.exit(1);
});
