import type { Observable } from 'rxjs';
import type { AgentDto } from './api/dto/agent.dto';
import type { ConfigViewDto } from './api/dto/config.dto';
import type { StatusDto } from './api/dto/status.dto';
import type { ConnectionEvent, ConversationDetail, ConversationSummary, ListOptions, MinuteStats, Page } from './call-log/call-log.types';
import type { ChangeSummary } from './call-log/change-summary';

/*
 * The narrow, read-only view of the gateway the monitoring HTTP application works from (plus ending a stuck call).
 * Abstract classes, so they serve as Nest's injection tokens: on the gateway's thread the monitoring services
 * implement them; in the HTTP server's thread the stand-ins answer them over the bridge. This file imports no
 * gateway code, so that thread loads none.
 */

export abstract class CallLogReader {
  abstract active(opts?: ListOptions): Page<ConversationSummary>;
  abstract history(opts?: ListOptions): Page<ConversationSummary>;
  abstract get(id: string): ConversationDetail | undefined;
  abstract counts(): { active: number; total: number; history: number };
  abstract lastHour(): MinuteStats[];
  abstract connectionEvents(): ConnectionEvent[];
  /** The changes summed up, at most one summary a period, while observed. */
  abstract changeSummaries(): Observable<ChangeSummary>;
}

export abstract class StatusReader {
  abstract readonly version: string;
  /** The gateway's thread answers (the liveness probe). */
  abstract alive(): boolean;
  abstract ready(): boolean;
  abstract status(): StatusDto;
  abstract agents(): AgentDto[];
  abstract config(): ConfigViewDto;
}

export abstract class MetricsReader {
  abstract text(): Promise<{ contentType: string; body: string }>;
}

/** The one change the monitoring API may make to the calls. */
export abstract class CallControl {
  abstract endById(id: string, reason: 'admin_ended'): Promise<boolean>;
}
