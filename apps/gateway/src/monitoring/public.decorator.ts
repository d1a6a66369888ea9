import { SetMetadata } from '@nestjs/common';

/** Metadata key marking a route that needs no authentication (load-balancer probes). */
export const PUBLIC_ROUTE = 'monitoring:public';

/** The route is served to anyone, whatever `monitoring.auth` says: /health and /ready only. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
