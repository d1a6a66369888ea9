import { isAbsolute, resolve } from 'node:path';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigPaths, GatewaySection, LOGGER, type Logger, type RecordingSettings } from '@app/config';
import { ConnectorRegistry } from '@app/connector-sdk';
import { CallRecording } from './call-recording';
import { deleteOldRecordings } from './retention';

/** How often recordings in progress are written out. */
const FLUSH_INTERVAL_MS = 1000;
const RETENTION_INTERVAL_MS = 3_600_000;
/** The shutdown hook's wait when neither a deadline nor a config says otherwise. */
const DEFAULT_SHUTDOWN_WAIT_S = 25;

/** The call a recording belongs to. */
export interface RecordingTarget {
  conversationId: string;
  agentId: string;
  /** Epoch ms: the timeline's origin. */
  startedAt: number;
  /** The call's rate (its prompt format). */
  sampleRate: number;
  settings: RecordingSettings | undefined;
  log: Logger;
}

/**
 * Records the calls of agents with `recording.enabled`: one CallRecording per conversation, written out
 * periodically, finalised when the conversation ends or the gateway stops; old files deleted by retention.
 */
@Injectable()
export class CallRecorder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: Logger;
  private readonly recordings = new Map<CallRecording, Logger>();
  /** Recordings being finalised → their conversation id. */
  private readonly closing = new Map<Promise<unknown>, string>();
  /** Latest moment (epoch ms) the shutdown hook waits for recordings to be finalised. */
  private shutdownDeadline?: number;
  private flushTimer?: NodeJS.Timeout;
  private retentionTimer?: NodeJS.Timeout;

  constructor(
    private readonly paths: ConfigPaths,
    private readonly gateway: GatewaySection,
    private readonly registry: ConnectorRegistry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ context: 'CallRecorder' });
  }

  folderOf(folder: string): string {
    return isAbsolute(folder) ? folder : resolve(this.paths.baseDir, folder);
  }

  onApplicationBootstrap(): void {
    if (this.retentionFolders().size === 0) return;
    void this.applyRetention();
    this.retentionTimer = setInterval(() => void this.applyRetention(), RETENTION_INTERVAL_MS);
    this.retentionTimer.unref();
  }

  /** Starts recording a new conversation if its agent records calls. */
  open(call: RecordingTarget): CallRecording | undefined {
    const settings = call.settings;
    if (!settings?.enabled) return undefined;
    let rec: CallRecording;
    try {
      rec = new CallRecording({
        settings,
        folder: this.folderOf(settings.folder),
        conversationId: call.conversationId,
        agentId: call.agentId,
        startedAt: call.startedAt,
        sampleRate: call.sampleRate,
        log: call.log,
      });
    } catch (err) {
      call.log.error({ err }, 'call recording could not start: the call goes on unrecorded');
      return undefined;
    }
    this.recordings.set(rec, call.log);
    if (this.flushTimer === undefined) {
      this.flushTimer = setInterval(() => this.flushAll(), FLUSH_INTERVAL_MS);
      this.flushTimer.unref();
    }
    return rec;
  }

  get openCount(): number {
    return this.recordings.size;
  }

  /** Finalises a conversation's recording; never rejects. */
  close(rec: CallRecording): Promise<void> {
    const log = this.recordings.get(rec);
    if (log === undefined) return Promise.resolve();
    this.recordings.delete(rec);
    if (this.recordings.size === 0) this.stopFlushing();
    const done = rec.close().then((files) => {
      if (files.length) log.info({ files }, 'call recording saved');
    });
    this.closing.set(done, rec.conversationId);
    void done.finally(() => this.closing.delete(done));
    return done;
  }

  /** Resolves once every recording being finalised is on disk. */
  async whenIdle(): Promise<void> {
    while (this.closing.size > 0) await Promise.all([...this.closing.keys()]);
  }

  /** Conversations whose recording is open or still being finalised. */
  pendingConversations(): string[] {
    return [...[...this.recordings.keys()].map((r) => r.conversationId), ...this.closing.values()];
  }

  /** Bounds the shutdown hook's wait: a hung disk must not hold the process past its grace. */
  shutdownBy(deadline: number): void {
    this.shutdownDeadline = deadline;
  }

  /**
   * Finalises every recording, waiting until the deadline set by shutdownBy (else the shutdown grace);
   * what is still being written then is named in a warning and left behind.
   */
  async onApplicationShutdown(): Promise<void> {
    this.stopFlushing();
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    for (const rec of [...this.recordings.keys()]) void this.close(rec);
    const grace = (this.gateway.shutdown_grace_seconds ?? DEFAULT_SHUTDOWN_WAIT_S) * 1000;
    const wait = Math.max(0, (this.shutdownDeadline ?? Date.now() + grace) - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const idle = await Promise.race([
      this.whenIdle().then(() => true),
      new Promise<boolean>((res) => (timer = setTimeout(() => res(false), wait))),
    ]).finally(() => clearTimeout(timer));
    if (!idle) this.log.warn({ conversations: [...this.closing.values()], waitedMs: wait }, 'shutdown: call recordings not finalised in time');
  }

  private flushAll(): void {
    const now = Date.now();
    for (const rec of this.recordings.keys()) void rec.flush(now);
  }

  private stopFlushing(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Folder → retention days; agents sharing a folder get the shortest of their retentions. */
  private retentionFolders(): Map<string, number> {
    const out = new Map<string, number>();
    for (const agent of this.registry.agents()) {
      const r = agent.defaults.recording;
      if (!(r?.retention_days > 0)) continue;
      const abs = this.folderOf(r.folder);
      out.set(abs, Math.min(out.get(abs) ?? Infinity, r.retention_days));
    }
    return out;
  }

  async applyRetention(now = Date.now()): Promise<void> {
    for (const [folder, days] of this.retentionFolders()) {
      try {
        const { deleted, failed } = await deleteOldRecordings(folder, days, now);
        if (deleted.length) this.log.info({ folder, days, deleted: deleted.length }, 'old call recordings deleted');
        if (failed.length) this.log.warn({ folder, failed: failed.length, err: failed[0].err }, 'some old call recordings could not be deleted');
      } catch (err) {
        this.log.warn({ err, folder }, 'call recording retention failed');
      }
    }
  }
}
