import { DESCRIPTOR_SET_BASE64 } from './gen/descriptor-set';

/** Binary FileDescriptorSet of proto/ (embedded at generate time); feeds server reflection. */
export function descriptorSet(): Buffer {
  return Buffer.from(DESCRIPTOR_SET_BASE64, 'base64');
}

export const BYOVA_PACKAGE = 'com.cisco.wcc.ccai.media.v1';
export const BYOVA_SERVICE = `${BYOVA_PACKAGE}.VoiceVirtualAgent`;
export const HEALTH_PACKAGE = 'grpc.health.v1';
export const HEALTH_SERVICE = `${HEALTH_PACKAGE}.Health`;
