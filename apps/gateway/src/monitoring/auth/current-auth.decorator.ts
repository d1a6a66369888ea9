import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type AuthRequest, REQUEST_AUTH, type RequestAuth } from './auth.types';

/**
 * The request's auth result for a controller: `principal` (who, role, via token or session) and, with a session,
 * `csrfToken` for the page (`<meta name="csrf-token" content="...">`). Empty with auth off.
 */
export const CurrentAuth = createParamDecorator((_data: unknown, ctx: ExecutionContext): RequestAuth => ctx.switchToHttp().getRequest<AuthRequest>()[REQUEST_AUTH] ?? {});
