import { startupSummary } from './startup-summary';

describe('startupSummary', () => {
  it('names the address, the monitoring URL, every agent and the default, on one line', () => {
    const line = startupSummary({
      grpcAddress: '0.0.0.0:50051',
      tls: false,
      httpAddress: '127.0.0.1:8080',
      agents: [
        { id: 'Local Audio: Local Playback', isDefault: false },
        { id: 'aws_lex_connector: Banking', isDefault: true },
      ],
    });
    expect(line).toBe(
      'BYOVA gateway listening: gRPC on 0.0.0.0:50051 (h2c, plaintext), monitoring on http://127.0.0.1:8080; 2 agents: "Local Audio: Local Playback", "aws_lex_connector: Banking"; default "aws_lex_connector: Banking"',
    );
    expect(line).not.toContain('\n');
  });

  it('says when there is no agent, TLS, and monitoring off', () => {
    const line = startupSummary({ grpcAddress: '127.0.0.1:443', tls: true, agents: [] });
    expect(line).toContain('gRPC on 127.0.0.1:443 (TLS)');
    expect(line).toContain('monitoring off');
    expect(line).toContain('no agent configured');
  });
});
