import { ServerCredentials } from '@grpc/grpc-js';
import type { SecureServerOptions } from 'node:http2';
import type { SecureContextOptions } from 'node:tls';

/**
 * grpc-js server credentials whose certificate can change while the server runs. grpc-js (1.10+) registers a
 * watcher on the credentials of every port it binds and, on an update, calls the HTTP/2 server's
 * setSecureContext: new connections get the new context, established ones (and their calls) keep theirs.
 * `createSsl` has no way to update; this subclass only exposes the base class's update.
 */
export class RotatingServerCredentials extends ServerCredentials {
  constructor(serverOptions: SecureServerOptions, context: SecureContextOptions) {
    super(serverOptions, context);
  }

  update(context: SecureContextOptions): void {
    this.updateSecureContextOptions(context);
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}
