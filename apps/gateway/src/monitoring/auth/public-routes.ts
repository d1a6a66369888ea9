import { Injectable, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { PUBLIC_KEY } from './auth-metadata';

interface PublicRoute {
  method: string;
  pattern: RegExp;
}

const joinPath = (...parts: string[]) => `/${parts.join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : [v === undefined ? '/' : String(v)]);

/** `/a/:id` → a regexp matching one value per parameter; a wildcard route is never public here. */
function toPattern(path: string): RegExp | undefined {
  if (/[*?(){}]/.test(path)) return undefined;
  const src = path
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.+^$|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${src}/?$`);
}

/**
 * The routes marked `@Public()`, read from the controllers at start-up, so the Express-level gate (which runs
 * before Nest's router picks a handler) lets exactly those through without credentials.
 */
@Injectable()
export class PublicRoutes {
  private routes: PublicRoute[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onApplicationBootstrap(): void {
    const routes: PublicRoute[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const cls = wrapper.metatype as (new (...a: unknown[]) => unknown) | undefined;
      if (!cls?.prototype) continue;
      const classPublic = this.reflector.get<boolean>(PUBLIC_KEY, cls) === true;
      for (const name of this.scanner.getAllMethodNames(cls.prototype)) {
        const fn = (cls.prototype as Record<string, unknown>)[name] as (...a: unknown[]) => unknown;
        const method = Reflect.getMetadata(METHOD_METADATA, fn) as RequestMethod | undefined;
        if (method === undefined) continue;
        if (!classPublic && this.reflector.get<boolean>(PUBLIC_KEY, fn) !== true) continue;
        for (const base of asList(Reflect.getMetadata(PATH_METADATA, cls))) {
          for (const sub of asList(Reflect.getMetadata(PATH_METADATA, fn))) {
            const pattern = toPattern(joinPath(base, sub));
            if (pattern) routes.push({ method: RequestMethod[method], pattern });
          }
        }
      }
    }
    this.routes = routes;
  }

  /** Whether `method path` is served by a public route (a public GET also answers HEAD). */
  has(method: string, path: string): boolean {
    const m = method === 'HEAD' ? 'GET' : method;
    return this.routes.some((r) => (r.method === m || r.method === 'ALL') && r.pattern.test(path));
  }
}
