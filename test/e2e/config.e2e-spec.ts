import { join } from 'node:path';
import { ByovaCaller } from '@app/simulator';
import { canConnect, type Exit, killAll, removeTempConfigs, runGatewayToExit, spawnGateway, stackLines, tempConfig } from '../support/child-gateway';
import { freePort } from './harness';

type Outcome = Exit & { stdout: string; stderr: string };

const local = { type: 'local_audio', config: { audio_base_path: 'audio' } };
const base = (extra: Record<string, any> = {}) => ({ gateway: { host: '127.0.0.1', port: 1 }, connectors: { local }, ...extra });

/** A start-up failure as the operator sees it: non-zero exit, the cause on stderr, no stack anywhere. */
function expectFailure(o: Outcome, ...mentions: string[]): void {
  expect(o.code).not.toBe(0);
  expect(o.code).not.toBeNull(); // exited by itself, not killed by the timeout
  for (const m of mentions) expect(o.stderr).toContain(m);
  expect(stackLines(o.stderr)).toEqual([]);
  expect(stackLines(o.stdout)).toEqual([]);
}

// The Python gateway's config.yaml as its users have it (section 13.1 of the upstream notes), except for
// loopback-only host addresses; PORT comes from the environment as on Cloud Run.
const PYTHON_LAYOUT = `
gateway:
  name: "BYOVA Gateway"
  version: "1.0.0"
  host: "127.0.0.1"
  port: 50051
  streaming_max_workers: 100
  request_queue_maxsize: 100
  response_queue_maxsize: 100
  max_terminal_playback_seconds: 30

voice_activity_detection:
  threshold: 0.5
  start_debounce_ms: 96
  end_silence_ms: 1000
  speech_end_grace_ms: 1000
  fallback_sample_rate_hertz: 8000

connectors:
  local_audio_connector:
    type: "local_audio_connector"
    class: "LocalAudioConnector"
    module: "connectors.local_audio_connector"
    config:
      agent_id: "Python Layout Bot"
      audio_base_path: "audio"
      audio_files:
        welcome: "welcome.wav"
        transfer: "transferring.wav"
        goodbye: "goodbye.wav"
        error: "error.wav"
        default: "default_response.wav"
    agents:
      - "Python Layout Bot"

monitoring:
  enabled: true
  host: "127.0.0.1"
  port: 8080
  debug: false
  metrics_enabled: true
  health_check_interval: 30

authentication:
  enabled: true
  environment: "dev"
  session:
    timeout_hours: 24
    secret_key_env: "FLASK_SECRET_KEY"
  webex_oauth:
    scopes: "openid email profile"
    state: "byova_gateway_auth"
  authorized_orgs_env: "AUTHORIZED_WEBEX_ORG_IDS"

jwt_validation:
  enabled: false
  enforce_validation: true
  datasource_url: ""
  datasource_schema_uuid: "5397013b-7920-4ffc-807c-e8a3e0a18f43"
  cache_duration_minutes: 60

logging:
  gateway:
    level: INFO
    format: "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
    file: "logs/gateway.log"
    max_size: "10MB"
    backup_count: 5
  web:
    level: "WARNING"
    file: "logs/web.log"
    max_size: "5MB"
    backup_count: 3

sessions:
  timeout: 600
  max_sessions: 1000
  cleanup_interval: 60
  enable_auto_cleanup: true
  max_session_duration: 3600

audio:
  supported_formats: ["wav", "mp3", "flac", "ogg"]
  default_sample_rate: 16000
  default_channels: 1
  max_audio_size: "10MB"
`;

describe('start-up configuration through the real entry point (child processes)', () => {
  // Every child starts at once: start-up (TypeScript compile + NestJS) dominates, so run them side by side.
  // Five children starting together on two busy cores can take well over 15 s: bound them, and the tests that
  // wait for them, generously (the bound only catches a child that never exits).
  const STARTUP_MS = 45_000;
  const WAIT_MS = STARTUP_MS + 15_000;
  const missingConfig = join(__dirname, 'no-such-dir', 'gateway.yaml');
  let outcomes: Record<'badKeys' | 'badType' | 'badPrompt' | 'noFile' | 'manyConnectors' | 'badLogFile', Promise<Outcome>>;
  let notADir: string;
  let yamlPort: number;
  let envPort: number;
  let python: ReturnType<typeof spawnGateway>;
  let portZero: ReturnType<typeof spawnGateway>;

  beforeAll(async () => {
    [yamlPort, envPort] = [await freePort(), await freePort()];
    const env = (cfg: object | string) => ({ GATEWAY_CONFIG: tempConfig(cfg), LOG_LEVEL: 'warn' });
    outcomes = {
      // With a jwt_validation mistake too: one more child would slow every start-up on a busy machine.
      badKeys: runGatewayToExit(
        env(base({ gateway: { host: '127.0.0.1', prot: 1, shutdown_grace_seconds: '5' }, sessions: { max_sessions: -1 }, jwt_validation: { enabled: true, issuers: ['http://idb.example.com/idb'] } })),
        STARTUP_MS,
      ),
      badType: runGatewayToExit(env(base({ connectors: { mybot: { type: 'dialogflow_cx' } } })), STARTUP_MS),
      badPrompt: runGatewayToExit(env(base({ connectors: { local: { ...local, config: { audio_base_path: 'audio', audio_files: { welcome: 'hello-there.wav' } } } } })), STARTUP_MS),
      noFile: runGatewayToExit({ GATEWAY_CONFIG: missingConfig }, STARTUP_MS),
      // A log file whose folder is a plain file: refused before anything starts.
      badLogFile: runGatewayToExit(env(base({ logging: { gateway: { file: join((notADir = tempConfig('', 'plain-file')), 'gateway.log') } } })), STARTUP_MS),
      // Three connectors, each wrong in its own way: all named in one run.
      manyConnectors: runGatewayToExit(
        env(
          base({
            connectors: {
              typo: { ...local, config: { audio_base_path: 'audio', agent_idd: 'x' } },
              noPrompt: { ...local, config: { agent_id: 'two', audio_base_path: 'audio', audio_files: { welcome: 'hello-there.wav', goodbye: 'bye-now.wav' } } },
              mybot: { type: 'dialogflow_cx' },
            },
          }),
        ),
        STARTUP_MS,
      ),
    };
    const py = PYTHON_LAYOUT.replace('port: 50051', `port: ${yamlPort}`);
    python = spawnGateway({ GATEWAY_CONFIG: tempConfig(py), PORT: String(envPort) });
    portZero = spawnGateway({ GATEWAY_CONFIG: tempConfig({ gateway: { host: '127.0.0.1' } }), PORT: '0' });
  });
  afterAll(() => {
    killAll();
    removeTempConfigs();
  });

  it('a misspelled key and a bad value stop the gateway, naming both at once', async () => {
    const o = await outcomes.badKeys;
    expectFailure(o, 'gateway.prot', 'unknown key', 'sessions.max_sessions');
    // A quoted number is text in YAML: said so, with the fix.
    expectFailure(o, 'gateway.shutdown_grace_seconds: must be a number, not the text "5": write it without quotes');
    expect(o.code).toBe(2);
  }, WAIT_MS);

  it('an unknown connector type stops the gateway (exit 2), naming the entry, the type, the known types and enabled: false', async () => {
    const o = await outcomes.badType;
    expectFailure(o, 'connectors.mybot.type: unknown connector type "dialogflow_cx"', 'local_audio', 'aws_lex_connector', 'connectors.mybot.enabled: false');
    expect(o.code).toBe(2);
  }, WAIT_MS);

  it('a missing prompt file stops the gateway (exit 2), naming the setting and the file', async () => {
    const o = await outcomes.badPrompt;
    expectFailure(o, 'connectors.local.config.audio_files.welcome', 'hello-there.wav');
    expect(o.code).toBe(2);
  }, WAIT_MS);

  it('mistakes in several connectors are all reported in one run, each by key, with the file, exit 2', async () => {
    const o = await outcomes.manyConnectors;
    expectFailure(
      o,
      'Invalid configuration in ',
      'connectors.typo.config.agent_idd: unknown key',
      'connectors.noPrompt.config.audio_files.welcome: cannot read',
      'hello-there.wav',
      'connectors.noPrompt.config.audio_files.goodbye: cannot read',
      'bye-now.wav',
      'connectors.mybot.type: unknown connector type "dialogflow_cx"',
    );
    expect(o.code).toBe(2);
    // Reported before anything started: no listener, no "listening" line.
    expect(o.stdout).not.toMatch(/BYOVA gateway listening/);
  }, WAIT_MS);

  it('jwt_validation on without a data source URL, or with a plain-http issuer, stops the gateway naming both', async () => {
    const o = await outcomes.badKeys;
    expectFailure(o, 'jwt_validation.datasource_url: required', 'jwt_validation.issuers.0: must be an https URL');
    expect(o.code).toBe(2);
  });

  it('a logging.gateway.file that cannot be written stops the gateway (exit 2), naming the key', async () => {
    const o = await outcomes.badLogFile;
    expectFailure(o, 'logging.gateway.file: cannot write', notADir);
    expect(o.stderr).toMatch(/ENOTDIR|EEXIST/);
    expect(o.code).toBe(2);
  }, WAIT_MS);

  it('a GATEWAY_CONFIG path that does not exist is named', async () => {
    expectFailure(await outcomes.noFile, missingConfig, 'GATEWAY_CONFIG');
  }, WAIT_MS);

  it('with PORT=0 and no connector: a warning that no agent is configured, and the start-up line gives the bound port', async () => {
    const end = Date.now() + STARTUP_MS;
    while (!/BYOVA gateway listening/.test(portZero.stdout)) {
      if (portZero.hasExited || Date.now() > end) throw new Error(`no start-up line:\n${portZero.stdout}\n${portZero.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(portZero.stdout).toMatch(/no agent is configured: connectors is empty in .*config\.yaml/);
    const line = portZero.stdout.split('\n').find((l) => l.includes('BYOVA gateway listening'))!;
    const { msg } = JSON.parse(line) as { msg: string };
    const m = /^BYOVA gateway listening: gRPC on 127\.0\.0\.1:(\d+) \(h2c, plaintext\), monitoring on http:\/\/127\.0\.0\.1:(\d+); no agent configured/.exec(msg);
    expect(m).not.toBeNull();
    const [grpcPort, httpPort] = [Number(m![1]), Number(m![2])];
    expect(grpcPort).toBeGreaterThan(0);
    expect(httpPort).toBeGreaterThan(0);
    expect(await canConnect(grpcPort)).toBe(true);
    expect(await canConnect(httpPort)).toBe(true);
    expect((await portZero.stop('SIGTERM')).code).toBe(0);
  }, WAIT_MS);

  it('the Python gateway\'s own config file starts, PORT wins over the file\'s port, and the agent is listed', async () => {
    await python.waitForPort(envPort, STARTUP_MS);
    expect(await canConnect(yamlPort)).toBe(false);
    const caller = new ByovaCaller({ target: `127.0.0.1:${envPort}`, deadlineMs: 5000 });
    try {
      const res = await caller.listAgents();
      expect(res.virtualAgents.map((a) => [a.virtualAgentId, a.isDefault])).toEqual([['Local Audio: Python Layout Bot', true]]);
      // The connector works with the Python file's prompt set (it names no no_input prompt).
      const welcome = await caller.startSession();
      expect([welcome.status.code, welcome.responses.length]).toEqual([0, 1]);
      await caller.endSession();
    } finally {
      caller.close();
    }
    // Sections it does not serve yet are reported, not silently dropped.
    expect(python.stdout).toMatch(/audio.*not supported/);
    // Its jwt_validation section is read: off there, and said so.
    expect(python.stdout).toMatch(/gRPC calls are not authenticated: jwt_validation.enabled is false/);
    expect(python.stdout).toMatch(/authentication.*read as monitoring.auth/);
    const exit = await python.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(stackLines(python.stderr + python.stdout)).toEqual([]);
  }, WAIT_MS);
});

describe('a file wrong both in its schema and in its connectors (child process)', () => {
  const STARTUP_MS = 45_000;
  afterAll(() => {
    killAll();
    removeTempConfigs();
  });

  it('reports every mistake in one run (exit 2) and opens no port while checking the connectors', async () => {
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const child = spawnGateway({
      GATEWAY_CONFIG: tempConfig({
        gateway: { host: '127.0.0.1', port: grpcPort, shutdwn_grace_seconds: 10 },
        monitoring: { host: '127.0.0.1' },
        connectors: {
          // A misspelled key and a missing prompt in one connector: both named too.
          typo: { ...local, config: { audio_base_path: 'audio', agent_idd: 'x', audio_files: { goodbye: 'bye-now.wav' } } },
          noPrompt: { ...local, config: { agent_id: 'two', audio_base_path: 'audio', audio_files: { welcome: 'hello-there.wav' } } },
          mybot: { type: 'no_such_thing' },
        },
      }),
      MONITORING_PORT: String(httpPort),
      LOG_LEVEL: 'warn',
    });
    const timer = setTimeout(() => child.kill(), STARTUP_MS);
    // Neither port may accept a connection at any moment of the child's life.
    const opened: number[] = [];
    while (!child.hasExited) {
      for (const port of [grpcPort, httpPort]) if (await canConnect(port)) opened.push(port);
      await new Promise((r) => setTimeout(r, 20));
    }
    clearTimeout(timer);
    const o = { ...(await child.exited), stdout: child.stdout, stderr: child.stderr };
    expectFailure(
      o,
      'gateway.shutdwn_grace_seconds: unknown key',
      'connectors.typo.config.agent_idd: unknown key',
      'connectors.typo.config.audio_files.goodbye: cannot read',
      'bye-now.wav',
      'connectors.noPrompt.config.audio_files.welcome: cannot read',
      'hello-there.wav',
      'connectors.mybot.type: unknown connector type "no_such_thing" (known types: local_audio, aws_lex_connector)',
    );
    expect(o.code).toBe(2);
    // One report naming the file, not two.
    expect(o.stderr.match(/Invalid configuration in .*config\.yaml:/g)).toHaveLength(1);
    expect(opened).toEqual([]);
    expect(o.stdout).not.toMatch(/BYOVA gateway listening/);
  }, STARTUP_MS + 15_000);
});
