import { ApiProperty } from '@nestjs/swagger';

export class DtmfSettingsDto {
  @ApiProperty() length: number;
  @ApiProperty() interDigitTimeoutMs: number;
  @ApiProperty({ example: '#' }) terminator: string;
}

export class SpeechSettingsDto {
  @ApiProperty() completeTimeoutMs: number;
  @ApiProperty() incompleteTimeoutMs: number;
  @ApiProperty() maxSpeechMs: number;
  @ApiProperty() noInputTimeoutMs: number;
}

/** What WxCC is asked to collect. */
export class InputSettingsDto {
  @ApiProperty({ enum: ['voice', 'dtmf', 'voice_dtmf'] }) mode: 'voice' | 'dtmf' | 'voice_dtmf';
  @ApiProperty() bargeIn: boolean;
  @ApiProperty() sensitive: boolean;
  @ApiProperty({ type: DtmfSettingsDto }) dtmf: DtmfSettingsDto;
  @ApiProperty({ type: SpeechSettingsDto }) speech: SpeechSettingsDto;
}

export class AgentDto {
  @ApiProperty({ example: 'Local Audio: Local Playback' }) id: string;
  @ApiProperty({ example: 'Local Playback' }) name: string;
  @ApiProperty({ example: 'local_audio', description: 'the connector config id serving it' }) connector: string;
  @ApiProperty({ description: 'the agent used when a call names none' }) isDefault: boolean;
  @ApiProperty({ enum: ['wav', 'chunk'] }) replyMode: 'wav' | 'chunk';
  @ApiProperty({ enum: ['gateway', 'agent'], description: "who detects the caller's speech" }) endpointing: string;
  @ApiProperty({ type: InputSettingsDto, description: 'input defaults' }) input: InputSettingsDto;
}
