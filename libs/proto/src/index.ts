export * from './gen/voicevirtualagent';
export {
  DTMFDigits,
  DTMFInputConfig,
  DTMFInputs,
  EventInput,
  EventInput_EventType,
  InputHandlingConfig,
  InputSpeechTimers,
  ListVARequest,
  ListVAResponse,
  OutputEvent,
  OutputEvent_EventType,
  TextContent,
  VirtualAgentInfo,
} from './gen/byova_common';
export * as health from './gen/grpc/health/v1/health';
export * from './messages';
export * from './descriptor';
export * from './strict-decode';
