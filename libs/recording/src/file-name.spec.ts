import { fileTimestamp, recordingFileName, sanitizeFileComponent } from './file-name';

const fields = { conversationId: 'conv-1', agentId: 'Local Audio: Local Playback', startedAt: Date.UTC(2024, 4, 1, 10, 15, 2, 7), side: 'caller' as const };

describe('recording file names', () => {
  it('sanitises ids for any file system', () => {
    expect(sanitizeFileComponent('Local Audio: Local Playback')).toBe('Local_Audio_Local_Playback');
    expect(sanitizeFileComponent('../../etc/passwd')).toBe('__.._etc_passwd'); // no separator, no leading dot: stays in the folder
    expect(sanitizeFileComponent('a/b\\c:d*e?f"g<h>i|j')).toBe('a_b_c_d_e_f_g_h_i_j');
    expect(sanitizeFileComponent('..')).toBe('_');
    expect(sanitizeFileComponent('')).toBe('_');
    expect(sanitizeFileComponent('abc-DEF_0.9')).toBe('abc-DEF_0.9');
  });

  it('cuts long ids but keeps them distinct', () => {
    const a = sanitizeFileComponent('x'.repeat(250) + 'a');
    const b = sanitizeFileComponent('x'.repeat(250) + 'b');
    expect(a.length).toBe(100);
    expect(a).not.toBe(b);
  });

  it('stamps the start in UTC with milliseconds', () => {
    expect(fileTimestamp(fields.startedAt)).toBe('20240501T101502.007Z');
    expect(fileTimestamp(fields.startedAt + 1)).not.toBe(fileTimestamp(fields.startedAt));
  });

  it('expands the default pattern', () => {
    expect(recordingFileName('{conversation_id}_{start}_{side}.wav', fields)).toBe('conv-1_20240501T101502.007Z_caller.wav');
    expect(recordingFileName('{agent}-{conversation_id}-{side}.wav', { ...fields, conversationId: 'a/../b', side: 'mixed' })).toBe('Local_Audio_Local_Playback-a_.._b-mixed.wav');
  });

  it('numbers later parts, with or without {part}', () => {
    expect(recordingFileName('{conversation_id}_{side}.wav', fields, 1)).toBe('conv-1_caller.wav');
    expect(recordingFileName('{conversation_id}_{side}.wav', fields, 2)).toBe('conv-1_caller_part2.wav');
    expect(recordingFileName('{conversation_id}_{side}.WAV', fields, 3)).toBe('conv-1_caller_part3.WAV');
    expect(recordingFileName('{conversation_id}_{side}_{part}.wav', fields, 1)).toBe('conv-1_caller_1.wav');
    expect(recordingFileName('{conversation_id}_{side}_{part}.wav', fields, 2)).toBe('conv-1_caller_2.wav');
  });
});
