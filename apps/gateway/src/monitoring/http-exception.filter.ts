import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { LOGGER, type Logger } from '@app/config';

/** The part of Express's response used here (no @types/express in the project). */
interface HttpResponse {
  headersSent: boolean;
  status(code: number): { json(body: unknown): void };
}

/** Every HTTP error as `{ statusCode, message }`: a readable message, never a stack or internal detail. */
@Catch()
export class MonitoringExceptionFilter implements ExceptionFilter {
  private readonly log: Logger;

  constructor(@Inject(LOGGER) logger: Logger) {
    this.log = logger.child({ context: 'MonitoringHttp' });
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<HttpResponse>();
    let statusCode: number = HttpStatus.INTERNAL_SERVER_ERROR;
    let message = 'internal server error';
    if (exception instanceof HttpException) {
      statusCode = exception.getStatus();
      const body = exception.getResponse();
      const m = typeof body === 'string' ? body : (body as { message?: unknown }).message;
      message = Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : exception.message;
    } else {
      this.log.error({ err: exception }, 'unexpected error in a monitoring request');
    }
    if (res.headersSent) return;
    res.status(statusCode).json({ statusCode, message });
  }
}
