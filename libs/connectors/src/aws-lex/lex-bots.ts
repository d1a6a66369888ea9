import type { BotAliasSummary, BotSummary } from '@aws-sdk/client-lex-models-v2';
import type { Logger } from '@app/config';
import type { LexBotEntry } from './lex.config';

/** One bot the connector offers as an agent. */
export interface LexBot {
  agentId: string;
  name: string;
  botId: string;
  aliasId: string;
  localeId: string;
}

/** The two discovery calls, one page each. */
export interface BotCatalog {
  listBots(nextToken?: string): Promise<{ items: BotSummary[]; nextToken?: string }>;
  listAliases(botId: string, nextToken?: string): Promise<{ items: BotAliasSummary[]; nextToken?: string }>;
}

async function allPages<T>(page: (token?: string) => Promise<{ items: T[]; nextToken?: string }>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  const seen = new Set<string>();
  do {
    const r = await page(token);
    out.push(...r.items);
    token = r.nextToken || undefined;
    // A service repeating a token would loop for ever.
    if (token !== undefined && seen.has(token)) throw new Error('discovery: the service repeated a page token');
    if (token !== undefined) seen.add(token);
  } while (token !== undefined);
  return out;
}

const time = (d: Date | string | undefined) => (d ? new Date(d).getTime() : 0);

/** The alias named `wanted`, else the most recently updated one; the draft TestBotAlias only if nothing else. */
export function chooseAlias(aliases: BotAliasSummary[], wanted?: string): BotAliasSummary | undefined {
  const ready = aliases.filter((a) => a.botAliasStatus === 'Available' && a.botAliasId);
  if (wanted) return ready.find((a) => a.botAliasName === wanted);
  const byAge = [...ready].sort((a, b) => (time(b.lastUpdatedDateTime) || time(b.creationDateTime)) - (time(a.lastUpdatedDateTime) || time(a.creationDateTime)));
  return byAge.find((a) => a.botAliasName !== 'TestBotAlias') ?? byAge[0];
}

/** Every Available bot with a usable alias, every page followed. */
export async function discoverBots(catalog: BotCatalog, connectorId: string, localeId: string, aliasName?: string): Promise<LexBot[]> {
  const bots = (await allPages((t) => catalog.listBots(t))).filter((b) => b.botStatus === 'Available' && b.botId && b.botName);
  const out: LexBot[] = [];
  for (const b of bots) {
    const alias = chooseAlias(await allPages((t) => catalog.listAliases(b.botId!, t)), aliasName);
    if (!alias) continue;
    out.push({ agentId: `${connectorId}: ${b.botName}`, name: b.botName!, botId: b.botId!, aliasId: alias.botAliasId!, localeId });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Whether the explicit list can be used as is, without any discovery call. */
export function needsCatalog(entries: LexBotEntry[]): boolean {
  return entries.some((e) => !e.bot_id || !e.alias_id);
}

/** The explicit bot list; names are looked up in the catalog only for entries that give no ids. */
export async function resolveExplicit(entries: LexBotEntry[], connectorId: string, localeId: string, catalog?: BotCatalog): Promise<LexBot[]> {
  let summaries: BotSummary[] | undefined;
  const out: LexBot[] = [];
  for (const [i, e] of entries.entries()) {
    let botId = e.bot_id;
    let name = e.bot_name ?? e.bot_id!;
    if (!botId) {
      summaries ??= await allPages((t) => catalog!.listBots(t));
      const found = summaries.find((s) => s.botName === e.bot_name);
      if (!found?.botId) throw new Error(`bots.${i}: no bot named "${e.bot_name}"`);
      botId = found.botId;
    }
    let aliasId = e.alias_id;
    if (!aliasId) {
      const alias = chooseAlias(await allPages((t) => catalog!.listAliases(botId!, t)), e.alias_name);
      if (!alias) throw new Error(`bots.${i}: bot "${name}" has no Available alias named "${e.alias_name}"`);
      aliasId = alias.botAliasId!;
    }
    name = e.agent_name ?? name;
    out.push({ agentId: `${connectorId}: ${name}`, name, botId, aliasId, localeId: e.locale_id ?? localeId });
  }
  return out;
}

export interface DirectoryStatus {
  healthy: boolean;
  lastRefreshAt?: string;
  lastError?: string;
}

/**
 * The bots on offer, swapped whole on each refresh so a call in progress keeps the bot it started with;
 * a failed refresh keeps the last good list and reports itself in `status`.
 */
export class BotDirectory {
  private bots: LexBot[] = [];
  private timer?: NodeJS.Timeout;
  status: DirectoryStatus = { healthy: false };

  constructor(
    private readonly load: () => Promise<LexBot[]>,
    private readonly logger: Logger,
    /** A refresh changed which agents there are (a bot deployed or removed). */
    private readonly onAgentsChanged: () => void = () => undefined,
  ) {}

  list(): LexBot[] {
    return this.bots;
  }

  find(agentId: string): LexBot | undefined {
    return this.bots.find((b) => b.agentId === agentId);
  }

  async refresh(): Promise<void> {
    try {
      const before = this.agentIds();
      this.bots = await this.load();
      this.status = { healthy: true, lastRefreshAt: new Date().toISOString() };
      if (this.agentIds() !== before) this.onAgentsChanged();
    } catch (e) {
      const msg = (e as Error).name + ': ' + (e as Error).message;
      this.status = { ...this.status, healthy: false, lastError: msg };
      this.logger.warn({ err: msg, bots: this.bots.length }, 'Lex bot discovery failed; keeping the last list');
    }
  }

  private agentIds(): string {
    return this.bots.map((b) => b.agentId).sort().join('\n');
  }

  every(seconds: number): void {
    this.timer = setInterval(() => void this.refresh(), seconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
