import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The gateway's version: the `version` of the repository's package.json (found from here, source or build). */
export function gatewayVersion(from = __dirname): string {
  let dir = from;
  for (let i = 0; i < 8; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'byova-gateway' && pkg.version) return pkg.version;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return 'unknown';
}
