import { LexModelsV2Client, ListBotAliasesCommand, ListBotsCommand } from '@aws-sdk/client-lex-models-v2';
import type { BotCatalog } from '../lex-bots';

export interface BotCatalogSettings {
  region: string;
  endpoint?: string;
  /** Bound on each discovery call. */
  timeoutMs: number;
}

/** Lex's models API (discovery) through the AWS SDK v3 client. */
export interface SdkBotCatalog extends BotCatalog {
  close(): void;
}

export function sdkBotCatalog(s: BotCatalogSettings): SdkBotCatalog {
  const client = new LexModelsV2Client({ region: s.region, endpoint: s.endpoint, maxAttempts: 3 });
  const opts = () => ({ abortSignal: AbortSignal.timeout(s.timeoutMs) });
  return {
    async listBots(nextToken) {
      const r = await client.send(new ListBotsCommand({ nextToken, maxResults: 50 }), opts());
      return { items: r.botSummaries ?? [], nextToken: r.nextToken };
    },
    async listAliases(botId, nextToken) {
      const r = await client.send(new ListBotAliasesCommand({ botId, nextToken, maxResults: 50 }), opts());
      return { items: r.botAliasSummaries ?? [], nextToken: r.nextToken };
    },
    close: () => client.destroy(),
  };
}
