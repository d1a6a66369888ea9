import {
  DTMFInputConfig,
  InputHandlingConfig,
  InputSpeechTimers,
  ListVAResponse,
  OutputEvent,
  TextContent,
  VirtualAgentInfo,
} from './gen/byova_common';
import { Prompt, VoiceVAInputMode, VoiceVAResponse, VoiceVAResponse_ResponseType } from './gen/voicevirtualagent';

// ts-proto (nestJs mode) emits no fromPartial, and its encoders expect every repeated/map field
// to be present. Every outgoing message is built here so none is ever incomplete.

const EMPTY = new Uint8Array(0);

export function prompt(p: Partial<Prompt>): Prompt {
  return { text: p.text ?? '', audioUri: p.audioUri ?? '', audioContent: p.audioContent ?? EMPTY, isBargeInEnabled: p.isBargeInEnabled ?? false };
}

export function outputEvent(e: Partial<OutputEvent> & Pick<OutputEvent, 'eventType'>): OutputEvent {
  return { eventType: e.eventType, name: e.name ?? '', metadata: e.metadata };
}

export function inputHandlingConfig(c: { dtmf?: Partial<DTMFInputConfig>; speech?: Partial<InputSpeechTimers> }): InputHandlingConfig {
  return {
    dtmfConfig: c.dtmf
      ? { interDigitTimeoutMsec: c.dtmf.interDigitTimeoutMsec ?? 0, termchar: c.dtmf.termchar ?? 0, dtmfInputLength: c.dtmf.dtmfInputLength ?? 0 }
      : undefined,
    speechTimers: c.speech
      ? {
          maxSpeechTimeoutMsec: c.speech.maxSpeechTimeoutMsec ?? 0,
          completeTimeoutMsec: c.speech.completeTimeoutMsec ?? 0,
          incompleteTimeoutMsec: c.speech.incompleteTimeoutMsec ?? 0,
          noInputTimeoutMsec: c.speech.noInputTimeoutMsec ?? 0,
        }
      : undefined,
  };
}

export function textContent(text: string, languageCode = ''): TextContent {
  return { text, ssml: undefined, languageCode };
}

export function voiceVAResponse(r: Partial<VoiceVAResponse>): VoiceVAResponse {
  return {
    prompts: r.prompts ?? [],
    outputEvents: r.outputEvents ?? [],
    inputSensitive: r.inputSensitive ?? false,
    inputMode: r.inputMode ?? VoiceVAInputMode.INPUT_VOICE_MODE_UNSPECIFIED,
    inputHandlingConfig: r.inputHandlingConfig,
    sessionTranscript: r.sessionTranscript,
    sessionSummary: r.sessionSummary,
    responseType: r.responseType ?? VoiceVAResponse_ResponseType.FINAL,
  };
}

export function virtualAgentInfo(a: Partial<VirtualAgentInfo> & Pick<VirtualAgentInfo, 'virtualAgentId'>): VirtualAgentInfo {
  return { virtualAgentId: a.virtualAgentId, virtualAgentName: a.virtualAgentName ?? a.virtualAgentId, isDefault: a.isDefault ?? false, attributes: a.attributes ?? {} };
}

export function listVAResponse(agents: VirtualAgentInfo[]): ListVAResponse {
  return { virtualAgents: agents };
}
