import { join } from 'node:path';

/** Binary FileDescriptorSet of proto/ (written by `buf build` during generate); feeds server reflection. */
export const DESCRIPTOR_SET_PATH = join(__dirname, 'gen', 'descriptor.binpb');

export const BYOVA_PACKAGE = 'com.cisco.wcc.ccai.media.v1';
export const BYOVA_SERVICE = `${BYOVA_PACKAGE}.VoiceVirtualAgent`;
export const HEALTH_PACKAGE = 'grpc.health.v1';
export const HEALTH_SERVICE = `${HEALTH_PACKAGE}.Health`;
