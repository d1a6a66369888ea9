import { instanceToPlain } from 'class-transformer';
import { AgentDefaults, buildGatewayConfig, mergeSettings, validateSection } from '@app/config';

const problemsOf = (recording: Record<string, unknown>) => validateSection(AgentDefaults, { recording }, 'defaults').problems;

describe('defaults.recording settings', () => {
  it('is off by default, with the documented defaults', () => {
    const r = new AgentDefaults().recording;
    expect({ ...r }).toEqual({
      enabled: false,
      folder: 'recordings',
      file_pattern: '{conversation_id}_{start}_{side}.wav',
      layout: 'split',
      max_file_bytes: 0,
      max_pending_seconds: 60,
      retention_days: 0,
    });
  });

  it('accepts a full block', () => {
    expect(problemsOf({ enabled: true, folder: '/var/rec', file_pattern: '{agent}_{part}.wav', layout: 'stereo', max_file_bytes: 1024, retention_days: 0.5 })).toEqual([]);
  });

  it.each([
    [{ file_pattern: 'sub/{side}.wav' }, /file_pattern: value must be a file name ending in \.wav/],
    [{ file_pattern: '{conversation_id}_{side}.mp3' }, /file_pattern/],
    [{ file_pattern: '{who}_{side}.wav' }, /file_pattern/],
    [{ file_pattern: '{conversation_id}.wav' }, /file_pattern: value must contain \{side\} when layout is split/],
    [{ layout: 'mono' }, /layout/],
    [{ max_file_bytes: 100 }, /max_file_bytes/],
    [{ max_file_bytes: 1.5 }, /max_file_bytes/],
    [{ retention_days: -1 }, /retention_days/],
    [{ folder: '' }, /folder/],
    [{ enable: true }, /defaults\.recording\.enable: unknown key/],
  ])('rejects %j', (recording, problem) => {
    expect(problemsOf(recording).join('\n')).toMatch(problem);
  });

  it('lets stereo files do without {side}', () => {
    expect(problemsOf({ layout: 'stereo', file_pattern: '{conversation_id}.wav' })).toEqual([]);
  });

  it('is read under connectors.<id>.defaults and overridden per agent like the other defaults', () => {
    const config = buildGatewayConfig({ connectors: { c: { type: 'x', defaults: { recording: { enabled: true, folder: 'rec' } } } } });
    const base = config.connectors.c.defaults;
    expect(base.recording.enabled).toBe(true);
    const agent = validateSection(AgentDefaults, mergeSettings(instanceToPlain(base), { recording: { layout: 'stereo' } }), 'x').value;
    expect(agent.recording).toMatchObject({ enabled: true, folder: 'rec', layout: 'stereo' });
  });
});
