/** What the start-up line reports. */
export interface StartupFacts {
  grpcAddress: string;
  tls: boolean;
  /** Monitoring host:port; undefined when monitoring is off. */
  httpAddress?: string;
  httpsMonitoring?: boolean;
  agents: ReadonlyArray<{ id: string; isDefault: boolean }>;
}

/** One human-readable line: where the gateway listens, which agents it serves and which is the default. */
export function startupSummary(f: StartupFacts): string {
  const grpc = `gRPC on ${f.grpcAddress} (${f.tls ? 'TLS' : 'h2c, plaintext'})`;
  const http = f.httpAddress ? `monitoring on ${f.httpsMonitoring ? 'https' : 'http'}://${f.httpAddress}` : 'monitoring off';
  const def = f.agents.find((a) => a.isDefault);
  const agents = f.agents.length
    ? `${f.agents.length} agent${f.agents.length === 1 ? '' : 's'}: ${f.agents.map((a) => `"${a.id}"`).join(', ')}; default "${def?.id ?? f.agents[0].id}"`
    : 'no agent configured (health NOT_SERVING, every call refused)';
  return `BYOVA gateway listening: ${grpc}, ${http}; ${agents}`;
}
