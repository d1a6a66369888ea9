import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { Eta } from 'eta';

/** The folders beside this file: templates and the static assets (copied into dist by nest-cli.json `assets`). */
export const VIEWS_DIR = join(__dirname, 'views');
export const ASSETS_DIR = join(__dirname, 'assets');

/** The dashboard's static files: the only names /dashboard/assets/ serves. */
const ASSET_TYPES: Record<string, string> = {
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

export interface Asset {
  body: Buffer;
  type: string;
  /** Content hash: the pages link `?v=<hash>`, so a long cache is safe across upgrades. */
  hash: string;
}

/**
 * Renders the dashboard's eta templates (escaping every `<%= %>` value) and holds its static assets, read once
 * at start-up: a missing file fails the start, not the first page view.
 */
@Injectable()
export class DashboardViews {
  private readonly eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true, autoTrim: [false, 'nl'] });
  readonly assets = new Map<string, Asset>();

  constructor() {
    for (const [name, type] of Object.entries(ASSET_TYPES)) {
      const file = join(ASSETS_DIR, name);
      if (!existsSync(file)) throw new Error(`dashboard asset missing: ${file} (is nest-cli.json copying the dashboard assets?)`);
      const body = readFileSync(file);
      this.assets.set(name, { body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 12) });
    }
  }

  /** `/dashboard/assets/<name>?v=<hash>`. */
  assetUrl(name: string): string {
    return `/dashboard/assets/${name}?v=${this.assets.get(name)?.hash ?? ''}`;
  }

  render(template: string, data: object): string {
    return this.eta.render(`./${template}`, data);
  }
}
