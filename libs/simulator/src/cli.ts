import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { AudioEncoding, AudioFormat, writeWav } from '@app/audio';
import { ByovaCaller, dtmfDigits } from './caller';
import { isWav, TurnResult } from './turn-recorder';

export const USAGE = `Usage: npm run simulate -- [options]

Calls a BYOVA server the way Webex Contact Center does (one ProcessCallerInput RPC per turn).
After SESSION_START, steps run in the order given; then SESSION_END unless the server ended the call or --no-end.

  --target HOST:PORT   server address (default localhost:50051)
  --agent ID           virtual_agent_id (default '' = the server's default agent)
  --list               print ListVirtualAgents and exit
  --wav FILE           an audio turn from a WAV file (repeatable)
  --dtmf DIGITS        a DTMF turn: START_OF_DTMF then the digits 0-9 A-D * # (repeatable)
  --silence MS         a silence-only audio turn (repeatable)
  --trailing MS        silence sent after each WAV until END_OF_INPUT (default 3000)
  --no-end             do not send SESSION_END
  --out DIR            where received prompts are saved as WAV (default ./simulator-out)
  --encoding ENC       mulaw | alaw | linear16 (default mulaw)
  --rate HZ            8000 | 16000 (default 8000)
  --no-pace            send audio as fast as possible instead of in real time
  --conversation ID    conversation_id (default: a random uuid)
  --org ID             customer_org_id
  --token JWT          sent as 'authorization: Bearer JWT' on every RPC (visible in the process list:
                       prefer --token-file or the BYOVA_TOKEN environment variable)
  --token-file FILE    the token read from a file
  --tls                use TLS instead of plaintext (server certificate checked against the system's CAs)
  --ca FILE            TLS, trusting the CA certificate(s) in this PEM file instead of the system's
  --cert FILE          TLS client certificate (PEM) for a server asking for one (mutual TLS); needs --key
  --key FILE           its private key (PEM, unencrypted)
  --server-name NAME   name the server certificate must carry, when --target uses another (e.g. an IP address)
  --strict             also exit 1 when the server broke a protocol rule
  -h, --help           this text

Environment: BYOVA_TOKEN, the token when neither --token nor --token-file is given.

Exit code: 0 when every turn ended with status OK, 1 otherwise.`;

const OPTIONS = {
  target: { type: 'string', default: 'localhost:50051' },
  agent: { type: 'string', default: '' },
  list: { type: 'boolean', default: false },
  wav: { type: 'string', multiple: true },
  dtmf: { type: 'string', multiple: true },
  silence: { type: 'string', multiple: true },
  trailing: { type: 'string', default: '3000' },
  'no-end': { type: 'boolean', default: false },
  out: { type: 'string', default: './simulator-out' },
  encoding: { type: 'string', default: 'mulaw' },
  rate: { type: 'string', default: '8000' },
  'no-pace': { type: 'boolean', default: false },
  conversation: { type: 'string' },
  org: { type: 'string', default: '' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  tls: { type: 'boolean', default: false },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'server-name': { type: 'string' },
  strict: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Step = { kind: 'wav' | 'dtmf' | 'silence'; value: string };

function statusName(code: number): string {
  return grpc.status[code] ?? String(code);
}

/** Readable timeline of one turn, one line per event. */
export function formatTurn(n: number, r: TurnResult): string {
  const name = statusName(r.status.code);
  const details = r.status.details && r.status.details !== name ? ` (${r.status.details})` : '';
  const lines = [`#${n} ${r.label}  ${name}${details}  ${r.durationMs} ms${r.framesSent ? `, ${r.framesSent} frames sent` : ''}`];
  for (const e of r.timeline) lines.push(`  ${e.atMs.toFixed(1).padStart(9)} ms  ${e.kind.padEnd(18)}${e.detail ?? ''}`.trimEnd());
  r.prompts.forEach((p, i) => lines.push(`  prompt ${i + 1} (${p.responseType}): ${JSON.stringify(p.text)} ${p.audio.length} B${p.bargeIn ? ' barge-in' : ''}${p.audioUri ? ` uri ${p.audioUri}` : ''}`));
  if (r.terminal) lines.push(`  call ended by server: ${r.terminal.type} ${JSON.stringify(r.terminal.name)}${r.terminal.metadata ? ` ${JSON.stringify(r.terminal.metadata)}` : ''}`);
  for (const v of r.violations) lines.push(`  ! violation: ${v}`);
  return lines.join('\n');
}

export interface ClientTlsOptions {
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
}

/**
 * Channel credentials for the TLS flags: plaintext unless --tls, --ca or --cert is given. Throws a message naming
 * the flag when a file cannot be read or --cert/--key come alone.
 */
export function clientTls(o: ClientTlsOptions): { credentials?: grpc.ChannelCredentials; channelOptions?: grpc.ChannelOptions } {
  if (!!o.cert !== !!o.key) throw new Error('--cert and --key go together');
  if (!o.tls && !o.ca && !o.cert) {
    if (o.serverName) throw new Error('--server-name needs TLS (--tls or --ca)');
    return {};
  }
  const file = (flag: string, path?: string) => {
    if (!path) return null;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`--${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  const credentials = grpc.credentials.createSsl(file('ca', o.ca), file('key', o.key), file('cert', o.cert));
  return { credentials, channelOptions: o.serverName ? { 'grpc.ssl_target_name_override': o.serverName } : undefined };
}

function intArg(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} expects an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** The token to send: --token, else --token-file, else BYOVA_TOKEN; a `Bearer ` prefix written with it is dropped. */
async function tokenOf(values: { token?: string; 'token-file'?: string }, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  let t = values.token;
  if (t === undefined && values['token-file'] !== undefined) {
    try {
      t = await readFile(values['token-file'], 'utf8');
    } catch (e) {
      throw new Error(`--token-file: cannot read ${values['token-file']} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  t ??= env.BYOVA_TOKEN;
  t = t?.trim().replace(/^bearer\s+/i, '');
  return t || undefined;
}

export async function runCli(
  argv: string[],
  print: (s: string) => void = (s) => process.stdout.write(`${s}\n`),
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false, tokens: true });
  } catch (e) {
    print(`${(e as Error).message}\n\n${USAGE}`);
    return 1;
  }
  const { values, tokens } = parsed;
  if (values.help) {
    print(USAGE);
    return 0;
  }

  let format: AudioFormat;
  let trailingSilenceMs: number;
  let token: string | undefined;
  let tls: ReturnType<typeof clientTls>;
  const steps: Step[] = [];
  try {
    token = await tokenOf(values, env);
    tls = clientTls({ tls: values.tls, ca: values.ca, cert: values.cert, key: values.key, serverName: values['server-name'] });
    if (!['mulaw', 'alaw', 'linear16'].includes(values.encoding)) throw new Error(`--encoding must be mulaw, alaw or linear16`);
    const rate = intArg('rate', values.rate, 1);
    if (rate !== 8000 && rate !== 16000) throw new Error('--rate must be 8000 or 16000');
    format = { encoding: values.encoding as AudioEncoding, sampleRate: rate };
    trailingSilenceMs = intArg('trailing', values.trailing, 0);
    // tokens keep argv order, so --wav/--dtmf/--silence can interleave.
    for (const t of tokens ?? []) {
      if (t.kind !== 'option' || (t.name !== 'wav' && t.name !== 'dtmf' && t.name !== 'silence')) continue;
      const value = t.value ?? '';
      if (t.name === 'silence') intArg('silence', value, 1);
      if (t.name === 'dtmf') dtmfDigits(value);
      steps.push({ kind: t.name, value });
    }
  } catch (e) {
    print(`${(e as Error).message}\n\n${USAGE}`);
    return 1;
  }

  const caller = new ByovaCaller({
    target: values.target,
    agentId: values.agent,
    conversationId: values.conversation,
    customerOrgId: values.org,
    metadata: token ? { authorization: `Bearer ${token}` } : undefined,
    credentials: tls.credentials,
    channelOptions: tls.channelOptions,
    format,
  });
  try {
    if (values.list) {
      try {
        const res = await caller.listAgents(values.org);
        print(`${res.virtualAgents.length} virtual agent(s) at ${values.target}:`);
        for (const a of res.virtualAgents) {
          const attrs = Object.keys(a.attributes).length ? ` ${JSON.stringify(a.attributes)}` : '';
          print(`  ${JSON.stringify(a.virtualAgentId)}  ${a.virtualAgentName}${a.isDefault ? '  (default)' : ''}${attrs}`);
        }
        return 0;
      } catch (e) {
        const err = e as grpc.ServiceError;
        print(`ListVirtualAgents failed: ${statusName(err.code)} ${err.details ?? err.message}`);
        return 1;
      }
    }

    print(`conversation ${caller.conversationId} -> ${values.target} agent ${JSON.stringify(caller.agentId)} (${format.encoding} ${format.sampleRate} Hz)`);
    await mkdir(values.out, { recursive: true });
    const results: TurnResult[] = [];
    const report = async (r: TurnResult) => {
      const n = results.push(r);
      print(formatTurn(n, r));
      let saved = 0;
      for (const p of r.prompts) {
        if (!p.audio.length) continue;
        const file = join(values.out, `${caller.conversationId}-${n}-${++saved}.wav`);
        // Prompts with a RIFF header are complete WAVs already; raw CHUNK audio is in the call format.
        await writeFile(file, isWav(p.audio) ? p.audio : writeWav(p.audio, format));
        print(`  saved ${file}`);
      }
      return r.status.code === 0 && !r.terminal;
    };

    let goOn = await report(await caller.startSession());
    let stepError = false;
    try {
      for (const step of steps) {
        if (!goOn) break;
        if (step.kind === 'wav') goOn = await report(await caller.sendWavFile(step.value, { pace: !values['no-pace'], trailingSilenceMs }));
        else if (step.kind === 'silence') goOn = await report(await caller.sendSilence(Number(step.value), { pace: !values['no-pace'] }));
        else {
          const { startOfDtmf, ...dtmf } = await caller.sendDtmf(step.value);
          const first = await report(startOfDtmf);
          goOn = (await report(dtmf)) && first;
        }
      }
    } catch (e) {
      // e.g. an unreadable WAV: still hang up below, as a real call would.
      print(`error: ${(e as Error).message}`);
      stepError = true;
    }
    const ended = results.some((r) => r.terminal);
    if (!ended && !values['no-end']) await report(await caller.endSession());

    const failed = results.filter((r) => r.status.code !== 0).length;
    const violations = results.reduce((s, r) => s + r.violations.length, 0);
    print(`${results.length} turn(s), ${failed} not OK, ${violations} protocol violation(s)${ended ? ', call ended by server' : ''}`);
    return stepError || failed > 0 || (values.strict && violations > 0) ? 1 : 0;
  } catch (e) {
    print(`error: ${(e as Error).message}`);
    return 1;
  } finally {
    caller.close();
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
