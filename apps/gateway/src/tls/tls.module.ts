import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TlsCertificates } from './tls-certificates.service';

/**
 * The listeners' certificates, made by the bootstrap before the application (its servers need them at creation)
 * and injectable everywhere (monitoring: expiry metric, status).
 */
@Global()
@Module({})
export class TlsModule {
  static forRoot(certificates: TlsCertificates): DynamicModule {
    return { module: TlsModule, providers: [{ provide: TlsCertificates, useValue: certificates }], exports: [TlsCertificates] };
  }
}
