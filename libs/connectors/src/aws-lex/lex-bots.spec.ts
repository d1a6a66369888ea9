import type { BotAliasSummary, BotSummary } from '@aws-sdk/client-lex-models-v2';
import { createLogger } from '@app/config';
import { type BotCatalog, BotDirectory, chooseAlias, discoverBots, resolveExplicit } from './lex-bots';

const alias = (id: string, name: string, updated: string, status = 'Available'): BotAliasSummary =>
  ({ botAliasId: id, botAliasName: name, botAliasStatus: status, lastUpdatedDateTime: new Date(updated) }) as BotAliasSummary;

/** An in-memory catalog serving `pageSize` items a page, counting calls. */
function catalog(bots: BotSummary[], aliases: Record<string, BotAliasSummary[]>, pageSize = 2) {
  const calls: string[] = [];
  const page = <T>(items: T[], token?: string) => {
    const from = Number(token ?? 0);
    const next = from + pageSize < items.length ? String(from + pageSize) : undefined;
    return { items: items.slice(from, from + pageSize), nextToken: next };
  };
  const c: BotCatalog & { calls: string[] } = {
    calls,
    async listBots(token) {
      calls.push(`bots:${token ?? ''}`);
      return page(bots, token);
    },
    async listAliases(botId, token) {
      calls.push(`aliases:${botId}:${token ?? ''}`);
      return page(aliases[botId] ?? [], token);
    },
  };
  return c;
}

describe('chooseAlias', () => {
  const list = [alias('T', 'TestBotAlias', '2026-03-01'), alias('A', 'prod', '2026-01-01'), alias('B', 'staging', '2026-02-01'), alias('C', 'new', '2026-04-01', 'Creating')];
  it('takes the named alias, else the newest Available one that is not TestBotAlias', () => {
    expect(chooseAlias(list, 'prod')?.botAliasId).toBe('A');
    expect(chooseAlias(list, 'new')).toBeUndefined();
    expect(chooseAlias(list)?.botAliasId).toBe('B');
    expect(chooseAlias([alias('T', 'TestBotAlias', '2026-03-01')])?.botAliasId).toBe('T');
    expect(chooseAlias([])).toBeUndefined();
  });
});

describe('discoverBots', () => {
  it('follows every page and keeps Available bots with an alias', async () => {
    const bots = ['Banking', 'Travel', 'Draft', 'NoAlias', 'Zoo'].map((n, i) => ({ botId: `id${i}`, botName: n, botStatus: n === 'Draft' ? 'Creating' : 'Available' }) as BotSummary);
    const aliases = {
      id0: [alias('a1', 'x', '2026-01-01'), alias('a2', 'y', '2026-01-02'), alias('a3', 'TestBotAlias', '2026-05-01')],
      id1: [alias('b1', 'live', '2026-01-01')],
      id4: [alias('z1', 'TestBotAlias', '2026-01-01')],
    };
    const c = catalog(bots, aliases);
    const found = await discoverBots(c, 'lex', 'en_GB');
    expect(found).toEqual([
      { agentId: 'lex: Banking', name: 'Banking', botId: 'id0', aliasId: 'a2', localeId: 'en_GB' },
      { agentId: 'lex: Travel', name: 'Travel', botId: 'id1', aliasId: 'b1', localeId: 'en_GB' },
      { agentId: 'lex: Zoo', name: 'Zoo', botId: 'id4', aliasId: 'z1', localeId: 'en_GB' },
    ]);
    expect(c.calls.filter((x) => x.startsWith('bots'))).toEqual(['bots:', 'bots:2', 'bots:4']);
    expect(c.calls).toContain('aliases:id0:2');
  });
});

describe('resolveExplicit', () => {
  it('uses ids without any call, looks names up only when needed', async () => {
    expect(await resolveExplicit([{ bot_id: 'B1', alias_id: 'A1', agent_name: 'Banking', locale_id: 'fr_FR' }], 'lex', 'en_US')).toEqual([
      { agentId: 'lex: Banking', name: 'Banking', botId: 'B1', aliasId: 'A1', localeId: 'fr_FR' },
    ]);
    const c = catalog([{ botId: 'B9', botName: 'Travel', botStatus: 'Available' } as BotSummary], { B9: [alias('L', 'live', '2026-01-01')] });
    expect(await resolveExplicit([{ bot_name: 'Travel', alias_name: 'live' }], 'lex', 'en_US', c)).toEqual([
      { agentId: 'lex: Travel', name: 'Travel', botId: 'B9', aliasId: 'L', localeId: 'en_US' },
    ]);
    await expect(resolveExplicit([{ bot_name: 'Nope', alias_id: 'x' }], 'lex', 'en_US', c)).rejects.toThrow(/bots\.0: no bot named "Nope"/);
  });
});

describe('BotDirectory', () => {
  it('keeps the last good list when a refresh fails, and says so', async () => {
    let fail = false;
    const d = new BotDirectory(async () => {
      if (fail) throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
      return [{ agentId: 'lex: A', name: 'A', botId: 'b', aliasId: 'a', localeId: 'en_US' }];
    }, createLogger('silent'));
    await d.refresh();
    expect([d.list().length, d.status.healthy]).toEqual([1, true]);
    const before = d.list();
    fail = true;
    await d.refresh();
    expect(d.list()).toBe(before);
    expect(d.status).toMatchObject({ healthy: false, lastError: 'AccessDeniedException: denied' });
    expect(d.find('lex: A')?.botId).toBe('b');
  });
});
