import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type AudioFormat, mulawToLinear, parseWav } from '@app/audio';
import { AgentDefaults, ConnectorTimeouts, createLogger } from '@app/config';
import type { ConnectorCallContext } from '@app/connector-sdk';
import { LocalAudioConnectorFactory } from './local-audio.factory';

const REPO = resolve(__dirname, '../../../..');
const FIXTURES = join(REPO, 'libs/audio/test-data/wav');
const MULAW: AudioFormat = { encoding: 'mulaw', sampleRate: 8000 };
const ctx = {} as ConnectorCallContext;

function make(config: Record<string, unknown>, promptFormat = MULAW, baseDir = REPO) {
  return new LocalAudioConnectorFactory().create({ id: 'local', config, defaults: new AgentDefaults(), timeouts: new ConnectorTimeouts(), promptFormat, baseDir, logger: createLogger('silent'), agentsChanged: () => undefined });
}

/** A prompt folder where every prompt is the given fixture file. */
function folderOf(fixture: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'prompts-'));
  for (const f of ['welcome', 'default_response', 'transferring', 'goodbye', 'error', 'no_input']) copyFileSync(join(FIXTURES, fixture), join(dir, `${f}.wav`));
  return dir;
}

describe('LocalAudioConnectorFactory', () => {
  it('serves the shipped prompts as 8 kHz mu-law WAV under the Python gateway id', async () => {
    const c = make({});
    expect(c.listAgents()).toEqual([{ id: 'Local Audio: Local Playback' }]);
    const welcome = (await c.start()).prompts[0];
    expect(welcome.text).toMatch(/welcome/i);
    const wav = parseWav(welcome.audio!.wav!);
    expect([wav.sampleFormat, wav.sampleRate]).toEqual(['mulaw', 8000]);
    expect(wav.data).toEqual(welcome.audio!.data);
  });

  it.each(['pcm-u8.wav', 'pcm-s24.wav', 'pcm-s32.wav', 'stereo-s16.wav', 'float32.wav', 'ext-s24.wav', 'alaw.wav', 'ref-s16.wav'])(
    'converts %s once at start-up to the call format',
    async (fixture) => {
      const src = parseWav(require('node:fs').readFileSync(join(FIXTURES, fixture)));
      const c = make({ audio_base_path: folderOf(fixture) });
      const audio = (await c.start()).prompts[0].audio!;
      expect(audio.format).toEqual(MULAW);
      const expectedBytes = Math.round((src.data.length / ((src.bitsPerSample / 8) * src.channels)) * (8000 / src.sampleRate));
      expect(Math.abs(audio.data.length - expectedBytes)).toBeLessThanOrEqual(2);
      // it is audio, not silence
      expect(audio.data.some((b) => Math.abs(mulawToLinear(b)) > 1000)).toBe(true);
    },
  );

  it('converts to other call formats (16 kHz linear PCM)', async () => {
    const c = make({}, { encoding: 'linear16', sampleRate: 16000 });
    const wav = parseWav((await c.start()).prompts[0].audio!.wav!);
    expect([wav.sampleFormat, wav.sampleRate, wav.bitsPerSample]).toEqual(['pcm', 16000, 16]);
  });

  it('stops start-up naming a missing prompt file', () => {
    expect(() => make({ audio_files: { welcome: 'nope.wav' } })).toThrow(/connectors\.local\.config\.audio_files\.welcome: cannot read .*nope\.wav: ENOENT/);
  });

  it('stops start-up naming a prompt that is not a WAV file', () => {
    const dir = folderOf('ref-s16.wav');
    writeFileSync(join(dir, 'goodbye.wav'), 'not audio at all');
    expect(() => make({ audio_base_path: dir })).toThrow(/audio_files\.goodbye: .*goodbye\.wav is not a usable WAV file/);
  });

  it('names a misspelled key and a missing prompt file of the same connector together', () => {
    expect(() => make({ agent_idd: 'x', audio_files: { welcome: 'nope.wav' } })).toThrow(
      /connectors\.local\.config\.agent_idd: unknown key[\s\S]*connectors\.local\.config\.audio_files\.welcome: cannot read .*nope\.wav: ENOENT/,
    );
    // Prompt settings that are themselves wrong are not read.
    expect(() => make({ audio_files: { welcome: 5 } })).toThrow(/audio_files\.welcome: must be text/);
    expect(() => make({ audio_base_path: 5 })).toThrow(/^(?![\s\S]*cannot read)[\s\S]*config\.audio_base_path: /);
  });

  it('rejects unknown keys and bad DTMF actions by name', () => {
    expect(() => make({ agent_idd: 'x' })).toThrow(/connectors\.local\.config\.agent_idd: unknown key/);
    expect(() => make({ dtmf_actions: { '5': 'explode', x: 'goodbye' } })).toThrow(/dtmf_actions\.5: must be one of[\s\S]*dtmf_actions: "x" is not a DTMF key sequence/);
  });

  it('follows its configurable digit map', async () => {
    const c = make({ dtmf_actions: { '0': 'transfer', '99': 'goodbye' } });
    expect((await c.handleInput(ctx, { kind: 'dtmf', digits: '0' }))!.end).toEqual({ kind: 'transfer', name: 'transfer_requested' });
    expect((await c.handleInput(ctx, { kind: 'dtmf', digits: '99' }))!.end).toEqual({ kind: 'session_end', name: 'session_ended' });
    const other = await c.handleInput(ctx, { kind: 'dtmf', digits: '5' });
    expect([other!.end, other!.prompts[0].text]).toEqual([undefined, expect.stringMatching(/press 5/i)]);
    expect((await c.handleInput(ctx, { kind: 'no_input' }))!.prompts[0].text).toMatch(/did not hear/);
    expect(await c.handleInput(ctx, { kind: 'event', name: 'x' })).toBeNull();
    expect(c.errorReply().prompts[0].text).toMatch(/went wrong/);
  });
});
