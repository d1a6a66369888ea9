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
  const missingConfig = join(__dirname, 'no-such-dir', 'gateway.yaml');
  let outcomes: Record<'badKeys' | 'badType' | 'badPrompt' | 'noFile', Promise<Outcome>>;
  let yamlPort: number;
  let envPort: number;
  let python: ReturnType<typeof spawnGateway>;

  beforeAll(async () => {
    [yamlPort, envPort] = [await freePort(), await freePort()];
    const env = (cfg: object | string) => ({ GATEWAY_CONFIG: tempConfig(cfg), LOG_LEVEL: 'warn' });
    outcomes = {
      // With a jwt_validation mistake too: one more child would slow every start-up on a busy machine.
      badKeys: runGatewayToExit(
        env(base({ gateway: { host: '127.0.0.1', prot: 1 }, sessions: { max_sessions: -1 }, jwt_validation: { enabled: true, issuers: ['http://idb.example.com/idb'] } })),
      ),
      badType: runGatewayToExit(env(base({ connectors: { mybot: { type: 'dialogflow_cx' } } }))),
      badPrompt: runGatewayToExit(env(base({ connectors: { local: { ...local, config: { audio_base_path: 'audio', audio_files: { welcome: 'hello-there.wav' } } } } }))),
      noFile: runGatewayToExit({ GATEWAY_CONFIG: missingConfig }),
    };
    const py = PYTHON_LAYOUT.replace('port: 50051', `port: ${yamlPort}`);
    python = spawnGateway({ GATEWAY_CONFIG: tempConfig(py), PORT: String(envPort) });
  });
  afterAll(() => {
    killAll();
    removeTempConfigs();
  });

  it('a misspelled key and a bad value stop the gateway, naming both at once', async () => {
    const o = await outcomes.badKeys;
    expectFailure(o, 'gateway.prot', 'unknown key', 'sessions.max_sessions');
    expect(o.code).toBe(2);
  });

  it('an unknown connector type stops the gateway, naming the entry, the type and the known types', async () => {
    expectFailure(await outcomes.badType, 'connectors.mybot', '"dialogflow_cx"', 'local_audio');
  });

  it('a missing prompt file stops the gateway, naming the setting and the file', async () => {
    expectFailure(await outcomes.badPrompt, 'connectors.local.config.audio_files.welcome', 'hello-there.wav');
  });

  it('jwt_validation on without a data source URL, or with a plain-http issuer, stops the gateway naming both', async () => {
    const o = await outcomes.badKeys;
    expectFailure(o, 'jwt_validation.datasource_url: required', 'jwt_validation.issuers.0: must be an https URL');
    expect(o.code).toBe(2);
  });

  it('a GATEWAY_CONFIG path that does not exist is named', async () => {
    expectFailure(await outcomes.noFile, missingConfig, 'GATEWAY_CONFIG');
  });

  it('the Python gateway\'s own config file starts, PORT wins over the file\'s port, and the agent is listed', async () => {
    await python.waitForPort(envPort);
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
  });
});
