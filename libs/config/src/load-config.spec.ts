import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { buildGatewayConfig, ConfigError, loadGatewayConfig } from './load-config';
import { effectiveMonitoringTls } from './tls-config';

const REPO = resolve(__dirname, '../../..');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'byova-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Loads `content` (YAML text or an object) as GATEWAY_CONFIG with the given extra environment. */
function load(content: string | object, env: Record<string, string> = {}) {
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, typeof content === 'string' ? content : stringify(content));
  return loadGatewayConfig({ GATEWAY_CONFIG: file, ...env }, dir);
}

/** The problems a ConfigError lists (fails the test if nothing is thrown). */
function problems(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const local = { type: 'local_audio' };

describe('defaults', () => {
  it('an empty file gives the documented defaults and no connectors, and warns that no agent is configured', () => {
    const { config, file, baseDir, warnings } = load('');
    expect([file, baseDir]).toEqual([join(dir, 'gateway.yaml'), dir]);
    expect(warnings).toEqual([expect.stringMatching(/^no agent is configured: connectors is empty in .*gateway\.yaml; the gateway serves no call/)]);
    expect(config.gateway).toMatchObject({
      host: '0.0.0.0',
      port: 50051,
      default_agent: '',
      shutdown_grace_seconds: 45,
      max_connection_age_seconds: 300,
      max_connection_age_grace_seconds: 45,
      reflection: true,
      max_concurrent_streams: 1000,
      keepalive: { time_ms: 30_000, timeout_ms: 10_000, permit_without_calls: true, min_client_ping_interval_ms: 10_000 },
    });
    expect(config.sessions).toMatchObject({ max_sessions: 1000, timeout: 600 });
    expect(config.voice_activity_detection).toMatchObject({ end_silence_ms: 1000, fallback_sample_rate_hertz: 8000, batch_wait_ms: 20 });
    expect(config.logging.gateway.level).toBe('info');
    expect(config.connectors).toEqual({});
  });

  it('a partial section keeps the defaults of the keys it leaves out, nested blocks included', () => {
    const { config } = load({ gateway: { port: 6000, keepalive: { time_ms: 5000 } }, connectors: { a: local } });
    expect(config.gateway).toMatchObject({ port: 6000, host: '0.0.0.0', keepalive: { time_ms: 5000, timeout_ms: 10_000 } });
    expect(config.connectors.a).toMatchObject({
      type: 'local_audio',
      enabled: true,
      config: {},
      defaults: { reply_mode: 'wav', input_mode: 'voice_dtmf', barge_in: true, dtmf: { length: 1, terminator: '#' }, speech: { no_input_timeout_ms: 0 } },
    });
  });

  it('reads config/config.yaml relative to the working directory when GATEWAY_CONFIG is unset', () => {
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'config/config.yaml'), 'gateway: { port: 7001 }\n');
    const { config, file } = loadGatewayConfig({}, dir);
    expect([file, config.gateway.port]).toEqual([join(dir, 'config/config.yaml'), 7001]);
  });

  it('the shipped config/config.yaml loads without problems or warnings', () => {
    const { config, warnings } = loadGatewayConfig({}, REPO);
    expect(warnings).toEqual([]);
    expect(Object.keys(config.connectors).length).toBeGreaterThan(0);
  });
});

describe('environment overrides', () => {
  it('PORT, MONITORING_PORT and LOG_LEVEL win over the file', () => {
    const { config } = load({ gateway: { port: 6000 }, monitoring: { port: 6001 }, logging: { gateway: { level: 'debug' } } }, { PORT: '8080', MONITORING_PORT: '9090', LOG_LEVEL: 'WARNING' });
    expect([config.gateway.port, config.monitoring.port, config.logging.gateway.level]).toEqual([8080, 9090, 'WARNING']);
  });

  it('an empty PORT is ignored', () => {
    expect(load({ gateway: { port: 6000 } }, { PORT: '' }).config.gateway.port).toBe(6000);
  });

  it.each(['abc', '70000', '-1', '1e3', '0x50', ' 80', '8080.5'])('PORT=%j is refused, naming the variable and the value', (v) => {
    expect(problems(() => load('', { PORT: v }))).toEqual([`PORT: must be a port number, got "${v}"`]);
  });

  it('a bad MONITORING_PORT and an unknown LOG_LEVEL are refused too', () => {
    const p = problems(() => load('', { MONITORING_PORT: 'x', LOG_LEVEL: 'loud' }));
    expect(p).toEqual([expect.stringMatching(/^MONITORING_PORT: .*"x"/), expect.stringMatching(/^LOG_LEVEL: .*"loud"/)]);
  });

  it('environment and file problems are reported together, with the file named', () => {
    try {
      load({ gateway: { prot: 1 } }, { PORT: 'abc' });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect((e as ConfigError).problems).toEqual(['gateway.prot: unknown key', 'PORT: must be a port number, got "abc"']);
      expect((e as Error).message).toBe(`Invalid configuration in ${join(dir, 'gateway.yaml')}:\n  - gateway.prot: unknown key\n  - PORT: must be a port number, got "abc"`);
    }
  });
});

describe('unknown keys', () => {
  const cases: Array<[string, object]> = [
    ['gatewy', { gatewy: {} }],
    ['gateway.prot', { gateway: { prot: 1 } }],
    ['gateway.keepalive.time', { gateway: { keepalive: { time: 1 } } }],
    ['sessions.max_session', { sessions: { max_session: 1 } }],
    ['voice_activity_detection.end_silence', { voice_activity_detection: { end_silence: 1 } }],
    ['monitoring.prot', { monitoring: { prot: 1 } }],
    ['logging.gateways', { logging: { gateways: {} } }],
    ['logging.gateway.lvl', { logging: { gateway: { lvl: 'info' } } }],
    ['connectors.a.confg', { connectors: { a: { ...local, confg: {} } } }],
    ['connectors.a.defaults.replymode', { connectors: { a: { ...local, defaults: { replymode: 'wav' } } } }],
    ['connectors.a.defaults.dtmf.len', { connectors: { a: { ...local, defaults: { dtmf: { len: 2 } } } } }],
    ['connectors.a.defaults.speech.no_input', { connectors: { a: { ...local, defaults: { speech: { no_input: 1 } } } } }],
  ];
  it.each(cases)('%s is named as an unknown key', (path, raw) => {
    expect(problems(() => load(raw))).toEqual([`${path}: unknown key`]);
  });

  it('all of them at once are all reported', () => {
    const merged = { gatewy: {}, gateway: { prot: 1 }, connectors: { a: { ...local, confg: {}, defaults: { dtmf: { len: 2 } } } } };
    expect(problems(() => load(merged)).sort()).toEqual(['connectors.a.confg: unknown key', 'connectors.a.defaults.dtmf.len: unknown key', 'gateway.prot: unknown key', 'gatewy: unknown key']);
  });
});

describe('the error of a file that has mistakes', () => {
  it('carries the configuration as far as it was valid, so its connectors can still be checked', () => {
    let err: ConfigError | undefined;
    try {
      load({ gateway: { prot: 1, default_agent: 'bot' }, connectors: { a: { ...local, config: { agent_id: 'x' } } } });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.problems).toEqual(['gateway.prot: unknown key']);
    expect(err?.partial?.file).toBe(join(dir, 'gateway.yaml'));
    expect(err?.partial?.baseDir).toBe(dir);
    expect(err?.partial?.config.gateway.default_agent).toBe('bot');
    expect(err?.partial?.config.connectors.a).toMatchObject({ type: 'local_audio', enabled: true, config: { agent_id: 'x' } });
  });

  it('carries nothing when the file could not be read', () => {
    writeFileSync(join(dir, 'gateway.yaml'), 'gateway: [unclosed');
    expect(() => loadGatewayConfig({ GATEWAY_CONFIG: join(dir, 'gateway.yaml') }, dir)).toThrow(expect.objectContaining({ partial: undefined }));
  });
});

describe('logging.gateway', () => {
  it('takes a file with its rotation, sizes written as the Python gateway wrote them', () => {
    const { config, warnings } = load({ logging: { gateway: { level: 'INFO', format: 'json', file: 'logs/gw.log', max_size: '5MB', backup_count: 3 } }, connectors: { a: local } });
    expect(config.logging.gateway).toMatchObject({ file: 'logs/gw.log', max_size: '5MB', backup_count: 3, format: 'json' });
    expect(warnings).toEqual([]);
  });

  it('refuses a size it cannot read and a negative backup count, by key', () => {
    expect(problems(() => load({ logging: { gateway: { file: 'x.log', max_size: 'huge', backup_count: -1 } } }))).toEqual([
      'logging.gateway.backup_count: value must not be less than 0',
      'logging.gateway.max_size: must be a size such as 10MB, 512KB or a number of bytes, got "huge"',
    ]);
  });

  it('says when rotation settings have no file to apply to', () => {
    expect(load({ logging: { gateway: { max_size: '5MB' } }, connectors: { a: local } }).warnings).toEqual([
      'logging.gateway.max_size and backup_count apply to logging.gateway.file, which is not set: no log file is written',
    ]);
  });
});

describe('values of the wrong YAML type', () => {
  it('a quoted number is named as text, with the fix', () => {
    expect(problems(() => load({ gateway: { port: '50051' }, sessions: { timeout: '600' }, connectors: { a: { ...local, defaults: { prompt_sample_rate: '8000' } } } }))).toEqual([
      'gateway.port: must be a number, not the text "50051": write it without quotes',
      'sessions.timeout: must be a number, not the text "600": write it without quotes',
      'connectors.a.defaults.prompt_sample_rate: must be a number, not the text "8000": write it without quotes',
    ]);
  });

  it('a quoted boolean, a word where a number belongs, and a number where text belongs', () => {
    expect(problems(() => load({ gateway: { reflection: 'false', port: 'fifty', default_agent: 5 } }))).toEqual([
      'gateway.port: must be a number, got the text "fifty"',
      'gateway.default_agent: must be text, got the number 5: put it in quotes',
      'gateway.reflection: must be true or false, not the text "false": write it without quotes',
    ]);
  });

  it('an empty connectors section, or only disabled ones, warns that no agent is configured', () => {
    expect(load({ connectors: { a: { ...local, enabled: false } } }).warnings[0]).toMatch(/^no agent is configured: every entry under connectors is disabled/);
    expect(load({ connectors: { a: local } }).warnings).toEqual([]);
  });
});

describe('bad values and shapes', () => {
  it.each<[string, object, RegExp]>([
    ['sessions.max_sessions', { sessions: { max_sessions: -1 } }, /^sessions\.max_sessions: value must not be less than 1$/],
    ['gateway.port', { gateway: { port: 70000 } }, /^gateway\.port: value must not be greater than 65535$/],
    ['gateway.reflection', { gateway: { reflection: 'yes' } }, /^gateway\.reflection: must be true or false, got the text "yes" \(yes\/no\/on\/off are text in YAML 1\.2\)$/],
    ['voice_activity_detection.threshold', { voice_activity_detection: { threshold: 2 } }, /^voice_activity_detection\.threshold: .*greater than 1/],
    ['voice_activity_detection.batch_wait_ms', { voice_activity_detection: { batch_wait_ms: 40 } }, /^voice_activity_detection\.batch_wait_ms: .*greater than 30$/],
    ['connectors.a.defaults.recording.max_pending_seconds', { connectors: { a: { ...local, defaults: { recording: { max_pending_seconds: 1 } } } } }, /^connectors\.a\.defaults\.recording\.max_pending_seconds: .*less than 5$/],
    ['connectors.a.defaults.reply_mode', { connectors: { a: { ...local, defaults: { reply_mode: 'mp3' } } } }, /^connectors\.a\.defaults\.reply_mode: value must be one of/],
    ['connectors.a.defaults.dtmf.terminator', { connectors: { a: { ...local, defaults: { dtmf: { terminator: 'x' } } } } }, /^connectors\.a\.defaults\.dtmf\.terminator: value must be one DTMF key/],
    ['logging.gateway.level', { logging: { gateway: { level: 'loud' } } }, /^logging\.gateway\.level: value must be one of/],
  ])('%s: the value is refused with its path', (_path, raw, message) => {
    expect(problems(() => load(raw))).toEqual([expect.stringMatching(message)]);
  });

  it.each<[string, string]>([
    ['gateway', 'gateway: []\n'],
    ['gateway', 'gateway:\n  - host: 127.0.0.1\n'],
    ['gateway', 'gateway:\n'],
    ['sessions', 'sessions: 5\n'],
    ['gateway.keepalive', 'gateway: { keepalive: [] }\n'],
    ['logging.gateway', 'logging: { gateway: [info] }\n'],
    ['connectors.a.defaults', 'connectors: { a: { type: local_audio, defaults: [] } }\n'],
  ])('a settings block given as something else than a map is refused by name (%s)', (path, yaml) => {
    const p = problems(() => load(yaml));
    expect(p[0]).toBe(`${path}: value must be a map of settings`);
    // a list of scalars also gets a line per item; each names the block
    for (const line of p) expect(line.startsWith(`${path}`)).toBe(true);
    if (!yaml.includes('[info]')) expect(p).toHaveLength(1);
  });

  it('a connection-age grace set longer than the drain grace is refused, naming both keys; unset, it follows the drain grace', () => {
    expect(problems(() => load('gateway: { shutdown_grace_seconds: 10, max_connection_age_grace_seconds: 11 }\n'))).toEqual([
      'gateway.max_connection_age_grace_seconds: 11 is above gateway.shutdown_grace_seconds (10); keep it at most that',
    ]);
    expect(load('gateway: { shutdown_grace_seconds: 10, max_connection_age_grace_seconds: 10, max_connection_age_seconds: 0 }\n').config.gateway).toMatchObject({
      max_connection_age_seconds: 0,
    });
    // Left unset, it follows a shorter drain grace.
    expect(load('gateway: { shutdown_grace_seconds: 3 }\n').config.gateway.max_connection_age_grace_seconds).toBe(3);
  });

  describe('graces against the longest turn', () => {
    const turn = 'the longest turn (40 s: connectors.a.defaults.speech.max_speech_ms 30000 + connectors.a.timeouts.turn_ms 10000)';

    it('the defaults cover the longest turn of default agents: no warning', () => {
      const { config, warnings } = load({ connectors: { a: local } });
      expect(config.gateway).toMatchObject({ shutdown_grace_seconds: 45, max_connection_age_grace_seconds: 45 });
      expect(warnings).toEqual([]);
    });

    it('graces shorter than the longest turn warn (not fail), naming the keys, the numbers and what to set', () => {
      const { warnings } = load({ gateway: { shutdown_grace_seconds: 25, max_connection_age_grace_seconds: 20 }, connectors: { a: local } });
      expect(warnings).toEqual([
        `gateway.max_connection_age_grace_seconds 20 is shorter than ${turn}: a turn still running when an aged connection's grace ends is cut; set it to at least 40`,
        `gateway.shutdown_grace_seconds 25 leaves calls in progress 20 s to finish (the rest of the grace ends conversations), shorter than ${turn}: ` +
          'a turn still running when a stop\'s drain ends is cut; set it to at least 45',
      ]);
      // The drain's own tail counts: 42 s leave the RPCs 37.
      expect(load({ gateway: { shutdown_grace_seconds: 42, max_connection_age_grace_seconds: 40 }, connectors: { a: local } }).warnings).toEqual([
        expect.stringMatching(/^gateway\.shutdown_grace_seconds 42 leaves calls in progress 37 s to finish/),
      ]);
      // No connection ageing, no age grace to warn about.
      expect(load({ gateway: { max_connection_age_seconds: 0, max_connection_age_grace_seconds: 5 }, connectors: { a: local } }).warnings).toEqual([]);
    });

    it('the longest turn is that of the agent allowing the most: connector defaults, agent overrides, turn deadlines; disabled and unlimited ones left out', () => {
      const warnings = (connectors: object) => load({ gateway: { shutdown_grace_seconds: 45, max_connection_age_grace_seconds: 45 }, connectors }).warnings;
      expect(
        warnings({
          a: local,
          b: { ...local, timeouts: { turn_ms: 20_000 }, agent_defaults: { Slow: { speech: { max_speech_ms: 60_000 } }, Odd: { speech: { max_speech_ms: 'x' } } } },
          c: { ...local, enabled: false, defaults: { speech: { max_speech_ms: 600_000 } } },
          d: { ...local, defaults: { speech: { max_speech_ms: 0 } } },
        }),
      ).toEqual([
        "gateway.max_connection_age_grace_seconds 45 is shorter than the longest turn (80 s: connectors.b.agent_defaults.Slow.speech.max_speech_ms 60000 + connectors.b.timeouts.turn_ms 20000): a turn still running when an aged connection's grace ends is cut; set it to at least 80",
        expect.stringMatching(/^gateway\.shutdown_grace_seconds 45 leaves calls in progress 40 s to finish .* longest turn \(80 s: .*set it to at least 85$/),
      ]);
      expect(warnings({ a: { ...local, defaults: { speech: { max_speech_ms: 36_000 } } } })).toEqual([
        expect.stringMatching(/^gateway\.max_connection_age_grace_seconds 45 is shorter than the longest turn \(46 s/),
        expect.stringMatching(/^gateway\.shutdown_grace_seconds 45 leaves calls in progress 40 s .*\(46 s: connectors\.a\.defaults\.speech\.max_speech_ms 36000 \+ connectors\.a\.timeouts\.turn_ms 10000\).*at least 51$/),
      ]);
      // No enabled agent: no turn to compare (the no-agent warning says the rest).
      expect(load({ gateway: { shutdown_grace_seconds: 5 }, connectors: { c: { ...local, enabled: false } } }).warnings).toHaveLength(1);
    });
  });

  it('a file that is not YAML, or not a map at the top, names the file', () => {
    expect(problems(() => load('a: [\n'))[0]).toMatch(/^cannot parse YAML: /);
    expect(problems(() => load('- gateway\n'))).toEqual(['the top level must be a map of sections']);
  });

  it('a GATEWAY_CONFIG that does not exist is named, with the variable', () => {
    const missing = join(dir, 'nope.yaml');
    expect(problems(() => loadGatewayConfig({ GATEWAY_CONFIG: missing }, dir))).toEqual([`configuration file not found: ${missing} (set GATEWAY_CONFIG)`]);
    // relative paths resolve against the working directory
    expect(problems(() => loadGatewayConfig({ GATEWAY_CONFIG: 'nope.yaml' }, dir))[0]).toContain(missing);
  });
});

describe('connector entries', () => {
  it('connectors must be a map, and each entry a map', () => {
    expect(problems(() => load('connectors:\n  - name: a\n    type: local_audio\n'))).toEqual(['connectors: must be a map of connector id to settings']);
    expect(problems(() => load('connectors:\n  a:\n  b: local_audio\n'))).toEqual(['connectors.a: must be a map of settings', 'connectors.b: must be a map of settings']);
  });

  it('an entry needs a type or a module', () => {
    expect(problems(() => load({ connectors: { a: { config: {} } } }))).toEqual(['connectors.a: needs a type (e.g. local_audio) or a module']);
    expect(load({ connectors: { a: { module: './my-plugin' } } }).config.connectors.a.module).toBe('./my-plugin');
  });

  it('checks the entry\'s own keys: enabled must be boolean, config a map', () => {
    expect(problems(() => load({ connectors: { a: { ...local, enabled: 'no' } } }))).toEqual(['connectors.a.enabled: must be true or false, got the text "no" (yes/no/on/off are text in YAML 1.2)']);
    expect(problems(() => load({ connectors: { a: { ...local, config: ['x'] } } }))).toEqual([expect.stringMatching(/^connectors\.a\.config: value must be an object/)]);
  });

  it('leaves the connector\'s own config block to the connector', () => {
    expect(load({ connectors: { a: { ...local, config: { anything: { goes: 1 } } } } }).config.connectors.a.config).toEqual({ anything: { goes: 1 } });
  });

  it('a disabled entry is still checked, so a typo does not hide until it is enabled', () => {
    expect(problems(() => load({ connectors: { a: { ...local, enabled: false, defaults: { reply_mode: 'mp3' } } } }))).toHaveLength(1);
  });
});

describe('the Python gateway\'s file layout', () => {
  const python = {
    gateway: { name: 'BYOVA Gateway', version: '1.0.0', host: '0.0.0.0', port: 50051, streaming_max_workers: 100, request_queue_maxsize: 100, response_queue_maxsize: 100, max_terminal_playback_seconds: 30 },
    connectors: {
      local_audio_connector: {
        type: 'local_audio_connector',
        class: 'LocalAudioConnector',
        module: 'connectors.local_audio_connector',
        config: { agent_id: 'Local Playback', audio_base_path: 'audio', audio_files: { welcome: 'welcome.wav' } },
        agents: ['Local Playback'],
      },
    },
    monitoring: { enabled: true, host: '0.0.0.0', port: 8080, debug: false, metrics_enabled: true, health_check_interval: 30 },
    authentication: { enabled: true, environment: 'dev' },
    jwt_validation: { enabled: false, datasource_url: '' },
    data_source: { enabled: false },
    logging: {
      gateway: { level: 'INFO', format: '%(asctime)s - %(message)s', file: 'logs/gateway.log', max_size: '10MB', backup_count: 5 },
      web: { level: 'WARNING', file: 'logs/web.log', max_size: '5MB', backup_count: 3 },
    },
    sessions: { timeout: 600, max_sessions: 1000, cleanup_interval: 60, enable_auto_cleanup: true, max_session_duration: 3600 },
    audio: { supported_formats: ['wav', 'mp3'], default_sample_rate: 16000, max_audio_size: '10MB' },
  };

  it('loads as is, with a warning for each section this gateway does not serve', () => {
    const { config, warnings } = load(python);
    expect(config.connectors.local_audio_connector).toMatchObject({ module: 'connectors.local_audio_connector', class: 'LocalAudioConnector' });
    expect(config.logging.gateway.level).toBe('INFO');
    expect(warnings).toEqual([
      'section "authentication" (Python layout) is read as monitoring.auth: auth on, no browser login (set WEBEX_CLIENT_ID, WEBEX_CLIENT_SECRET, WEBEX_REDIRECT_URI and AUTHORIZED_WEBEX_ORG_IDS, or use monitoring.auth)',
      'logging.gateway.format: "%(asctime)s - %(message)s" is not used (write pretty or json); stdout gets one readable line per event on a terminal, JSON lines otherwise',
      "logging.web (the Python dashboard's log) is ignored: the monitoring server logs into the gateway log",
      ...['audio'].map((s) => `section "${s}" is not supported by this gateway yet and is ignored`),
    ]);
    expect(config.monitoring.auth).toMatchObject({ enabled: true, session: { secret_env: 'FLASK_SECRET_KEY', timeout_hours: 8 } });
    expect(config.monitoring.auth.oidc).toBeUndefined();
  });

  it('reads its authentication section\'s Webex login from the environment variables that gateway used', () => {
    const withLogin = {
      ...python,
      authentication: { enabled: true, session: { timeout_hours: 24, secret_key_env: 'MY_SECRET' }, webex_oauth: { scopes: 'openid email', state: 'static' }, authorized_orgs_env: 'MY_ORGS' },
    };
    const env = { WEBEX_CLIENT_ID: 'cid', WEBEX_CLIENT_SECRET: 's', WEBEX_REDIRECT_URI: 'https://gw.example.com/oauth', MY_ORGS: 'org-a, org-b' };
    const { config, warnings } = load(withLogin, env);
    expect(config.monitoring.auth).toMatchObject({
      enabled: true,
      session: { secret_env: 'MY_SECRET', timeout_hours: 24 },
      oidc: { client_id: 'cid', client_secret_env: 'WEBEX_CLIENT_SECRET', redirect_uri: 'https://gw.example.com/oauth', allowed_org_ids: ['org-a', 'org-b'], scopes: 'openid email' },
    });
    expect(warnings[0]).toBe('section "authentication" (Python layout) is read as monitoring.auth: auth on, Webex login from WEBEX_CLIENT_ID, WEBEX_REDIRECT_URI and MY_ORGS');
    // monitoring.auth written out wins.
    const ours = load({ ...withLogin, monitoring: { auth: { enabled: false } } }, env);
    expect([ours.config.monitoring.auth.enabled, ours.warnings[0]]).toEqual([false, 'section "authentication" (Python layout) is ignored: monitoring.auth is set']);
  });
});

describe('buildGatewayConfig', () => {
  it('validates an in-memory config the same way, without a file name', () => {
    expect(buildGatewayConfig({ gateway: { port: 1 } }).gateway.port).toBe(1);
    expect(() => buildGatewayConfig({ gateway: { prot: 1 } })).toThrow(new ConfigError(['gateway.prot: unknown key']));
    expect(() => buildGatewayConfig({ gateway: { prot: 1 } })).toThrow(/^Invalid configuration:\n {2}- gateway\.prot: unknown key$/);
  });
});

describe('TLS (gateway.tls, monitoring.tls)', () => {
  const pair = { cert_file: 'tls/server.crt', key_file: 'tls/server.key' };

  it('absent: plaintext, no TLS sections', () => {
    const { config } = load('');
    expect([config.gateway.tls, config.monitoring.tls]).toEqual([undefined, undefined]);
  });

  it('a pair gets the defaults: no client authentication, files re-read every 30 s', () => {
    const { config, warnings } = load({ gateway: { tls: pair }, monitoring: { tls: { same_as_gateway: true } }, connectors: { a: local } });
    expect(config.gateway.tls).toEqual({ enabled: true, ...pair, client_auth: 'none', watch_interval_seconds: 30 });
    expect(config.monitoring.tls).toMatchObject({ enabled: true, same_as_gateway: true, client_auth: 'none' });
    expect(warnings).toEqual([]);
  });

  it('names each key that is missing, misspelled or out of range', () => {
    expect(problems(() => load({ gateway: { tls: { cert_file: 'a.crt', client_auth: 'sometimes', watch_interval_seconds: 0, ca_file: 'x' } } }))).toEqual([
      'gateway.tls.ca_file: unknown key',
      'gateway.tls.key_file: required when TLS is enabled',
      'gateway.tls.client_auth: value must be none, optional or require',
      'gateway.tls.watch_interval_seconds: value must not be less than 1',
    ]);
    expect(problems(() => load({ monitoring: { tls: {} } }))).toEqual([
      'monitoring.tls.cert_file: required when TLS is enabled',
      'monitoring.tls.key_file: required when TLS is enabled',
    ]);
  });

  it('client_auth optional or require needs client_ca_file; a CA with client_auth none is a warning', () => {
    expect(problems(() => load({ gateway: { tls: { ...pair, client_auth: 'optional' } }, monitoring: { tls: { ...pair, client_auth: 'require' } } }))).toEqual([
      'gateway.tls.client_ca_file: required when client_auth is optional',
      'monitoring.tls.client_ca_file: required when client_auth is require',
    ]);
    expect(load({ gateway: { tls: { ...pair, client_ca_file: 'ca.crt' } }, connectors: { a: local } }).warnings).toEqual([
      'gateway.tls.client_ca_file is not used: client_auth is none (set optional or require for mutual TLS)',
    ]);
  });

  it('same_as_gateway needs gateway.tls and no files of its own', () => {
    expect(problems(() => load({ monitoring: { tls: { same_as_gateway: true } } }))).toEqual([
      'monitoring.tls.same_as_gateway: gateway.tls is not enabled, so there is no certificate to share',
    ]);
    expect(problems(() => load({ gateway: { tls: pair }, monitoring: { tls: { same_as_gateway: true, cert_file: 'm.crt' } } }))).toEqual([
      'monitoring.tls: give either same_as_gateway: true or cert_file/key_file, not both',
    ]);
  });

  it('enabled: false keeps the block without its files being required', () => {
    const { config } = load({ gateway: { tls: { enabled: false } }, monitoring: { tls: { enabled: false, same_as_gateway: true } } });
    expect([config.gateway.tls?.enabled, config.monitoring.tls?.enabled]).toEqual([false, false]);
  });

  it('same_as_gateway serves the gateway files with the monitoring server\'s own client authentication', () => {
    const { config } = load({ gateway: { tls: { ...pair, client_ca_file: 'ca.crt', client_auth: 'require' } }, monitoring: { tls: { same_as_gateway: true } } });
    expect(effectiveMonitoringTls(config.gateway.tls, config.monitoring.tls)).toEqual({ enabled: true, ...pair, client_auth: 'none', watch_interval_seconds: 30 });
    expect(effectiveMonitoringTls(config.gateway.tls, undefined)).toBeUndefined();
  });
});
