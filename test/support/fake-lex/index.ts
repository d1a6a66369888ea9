export { DEFAULT_FAKE_BOTS, FakeLexServer, parseRequestContentType, type FakeLexOptions } from './fake-lex-server';
export { decodeLexHeader, encodeLexHeader, LEX_REPLY_SAMPLE_RATE, pcmLevelDbfs, pcmSilence, pcmTone } from './lex-codec';
export { TINY_BOT, tinyBot } from './tiny-bot';
export type * from './types';
