import { SetMetadata } from '@nestjs/common';

/** Marks a monitoring route as served without authentication (health probes). */
export const Public = () => SetMetadata('monitoring:public', true);
