import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SIM_CREDENTIALS, parseStandaloneArgs, runStandaloneSimulator } from '../../src/simulator/index.js';

const STANDALONE = fileURLToPath(new URL('../../src/simulator/standalone.ts', import.meta.url));

interface ReadyLine {
  baseUrl: string;
  apiBaseUrl: string;
  tokenUrl: string;
  credentials: typeof SIM_CREDENTIALS;
}

describe('parseStandaloneArgs', () => {
  it('reads every option', () => {
    expect(
      parseStandaloneArgs([
        '--seed', '7', '--now', '2026-11-21T15:00:00Z', '--sessions', '10', '--messages', '500', '--span-days', '90',
        '--quirks', 'numbers-as-strings,malformedItems', '--port', '0', '--rate-medium', '20', '--rate-resource-intensive', '0.1',
        '--daily-limit', '30000', '--latency-ms', '5', '--session-listing', 'last-activity-window', '--modifications-paging', 'every-page',
        '--page-token-ttl-ms', '1000', '--access-token-ttl-seconds', '60', '--record-requests',
      ]),
    ).toEqual({
      seed: 7,
      now: new Date('2026-11-21T15:00:00Z'),
      sessions: 10,
      messages: 500,
      spanDays: 90,
      quirks: { numbersAsStrings: true, nulInBody: false, longBodies: false, externalSenders: false, unknownFields: false, duplicateAcrossPages: false, malformedItems: true },
      port: 0,
      rateLimits: { medium: 20, 'resource-intensive': 0.1 },
      dailyLimit: 30000,
      latencyMs: 5,
      sessionListing: 'last-activity-window',
      modificationsPaging: 'every-page',
      pageTokenTtlMs: 1000,
      accessTokenTtlSeconds: 60,
      recordRequests: true,
    });
  });

  it('names the flag and a good value when one is wrong', () => {
    expect(() => parseStandaloneArgs(['--sessions', 'many'])).toThrow(/--sessions: expected a whole number/);
    expect(() => parseStandaloneArgs(['--quirks', 'sparkles'])).toThrow(/--quirks: unknown quirk sparkles/);
    expect(() => parseStandaloneArgs(['--session-listing', 'sometimes'])).toThrow(/--session-listing/);
    expect(() => parseStandaloneArgs(['--bogus'])).toThrow();
  });
});

describe('runStandaloneSimulator', () => {
  it('prints one ready line, serves, and stops on its signal', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const done = runStandaloneSimulator(['--sessions', '5', '--messages', '50', '--seed', '3'], { writeLine: (l) => lines.push(l), signal: stop.signal, handleProcessSignals: false });
    await expect.poll(() => lines.length).toBe(1);
    const ready = JSON.parse(lines[0]!) as ReadyLine;
    expect(ready).toEqual({ baseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), apiBaseUrl: `${ready.baseUrl}/v2`, tokenUrl: `${ready.baseUrl}/oauth/token`, credentials: SIM_CREDENTIALS });
    expect((await fetch(`${ready.baseUrl}/__sim/health`)).status).toBe(200);
    stop.abort();
    await done;
    await expect(fetch(`${ready.baseUrl}/__sim/health`)).rejects.toThrow();
  });

  it('runs as its own process and exits cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', STANDALONE, '--sessions', '5', '--messages', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const ready = JSON.parse(line) as ReadyLine;
      const basic = Buffer.from(`${ready.credentials.clientId}:${ready.credentials.clientSecret}`).toString('base64');
      const token = await fetch(ready.tokenUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=account_credentials&account_id=${ready.credentials.accountId}`,
      });
      expect(token.status).toBe(200);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
