import { SetMetadata } from '@nestjs/common';
import type { MonitoringRole } from '@app/config';

export const ROLES_KEY = 'monitoring:role';

/**
 * The role a monitoring route needs. Without it, GET needs `viewer` and POST/PUT/PATCH/DELETE need `admin`.
 * `@Roles('viewer')` on a POST opens it to viewers (it still gets the cross-site check).
 */
export const Roles = (role: MonitoringRole) => SetMetadata(ROLES_KEY, role);

/** Shorthand for `@Roles('admin')`: e.g. ending a call. */
export const AdminOnly = () => Roles('admin');
