import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, requireZoomCredentials } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';

describe('configuration', () => {
  it('has working defaults: no database URL means the embedded database', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.zoom.apiBaseUrl).toBe('https://api.zoom.us/v2');
    expect(config.zoom.oauthTokenUrl).toBe('https://zoom.us/oauth/token');
    // Half of the Pro plan by default: other apps share the account's budget.
    expect(config.zoom.ratePerSecond.medium).toBe(10);
    expect(config.zoom.ratePerSecond['resource-intensive']).toBeCloseTo(5 / 60);
    expect(config.sync.horizonRiskDays).toBe(14);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad variable at once, with what a good value looks like', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ DATABASE_URL: 'mysql://x', ZOOM_RATE_MEDIUM: 'fast', SYNC_CONCURRENCY: '0', LOG_LEVEL: 'loud', ZOOM_API_BASE_URL: 'ftp://x', ZOOM_RATE_SHARE: '2' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.issues.map((i) => i.variable).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'SYNC_CONCURRENCY', 'ZOOM_API_BASE_URL', 'ZOOM_RATE_MEDIUM', 'ZOOM_RATE_SHARE']);
    expect(error?.message).toContain('ZOOM_RATE_MEDIUM: expected requests per second');
  });

  it('reads secrets from *_FILE variables and refuses both forms at once', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'zca-config-'));
    const file = path.join(dir, 'secret');
    writeFileSync(file, 's3cret\n');
    const config = loadConfig({ ZOOM_CLIENT_SECRET_FILE: file, ZOOM_CLIENT_ID: 'id', ZOOM_ACCOUNT_ID: 'acct' });
    expect(requireZoomCredentials(config)).toEqual({ accountId: 'acct', clientId: 'id', clientSecret: 's3cret' });
    expect(() => loadConfig({ ZOOM_CLIENT_SECRET_FILE: file, ZOOM_CLIENT_SECRET: 'x' })).toThrow(/set either ZOOM_CLIENT_SECRET or ZOOM_CLIENT_SECRET_FILE/);
    expect(() => loadConfig({ ZOOM_CLIENT_SECRET_FILE: path.join(dir, 'missing') })).toThrow(/cannot read secret file/);
  });

  it('never echoes a secret in an error', () => {
    for (const env of [
      { DATABASE_URL: 'postgres://u:hunter2@h/db', SYNC_CONCURRENCY: 'x' },
      { DATABASE_URL: 'mysql://u:hunter2@h/db' },
      { DATABASE_URL: 'u:hunter2@db.internal:5432/zoom' },
      { ZOOM_CLIENT_SECRET: 'hunter2', ZOOM_PLAN: 'x' },
      { DATABASE_URL: 'postgres://u@h/db', DATABASE_PASSWORD: 'hunter2', SYNC_CONCURRENCY: 'x' },
    ]) {
      const message = configErrorOf(env);
      expect(message).toMatch(/invalid configuration/);
      expect(message).not.toMatch(/hunter2/);
    }
    expect(configErrorOf({ DATABASE_URL: 'mysql://u:hunter2@h/db' })).toMatch(/DATABASE_URL: .*got "mysql:\/\/u:\*\*\*@h\/db"/);
  });

  it('names every missing Zoom credential for commands that call Zoom', () => {
    expect(() => requireZoomCredentials(loadConfig({ ZOOM_CLIENT_ID: 'x' }))).toThrow(/ZOOM_ACCOUNT_ID[\s\S]*ZOOM_CLIENT_SECRET/);
  });

  it('puts DATABASE_PASSWORD(_FILE) into a DATABASE_URL without one, so one secret file serves PostgreSQL and the archiver', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'zca-config-'));
    const file = path.join(dir, 'postgres_password');
    writeFileSync(file, 'p@ss:w/rd\n');
    const config = loadConfig({ DATABASE_URL: 'postgres://archiver@postgres:5432/zoom_archive', DATABASE_PASSWORD_FILE: file });
    expect(config.databaseUrl).toBe('postgres://archiver:p%40ss%3Aw%2Frd@postgres:5432/zoom_archive');
    expect(decodeURIComponent(new URL(config.databaseUrl!).password)).toBe('p@ss:w/rd');
    expect(() => loadConfig({ DATABASE_URL: 'postgres://archiver:other@postgres/db', DATABASE_PASSWORD: 'x' })).toThrow(/DATABASE_PASSWORD: DATABASE_URL already holds a password/);
    expect(() => loadConfig({ DATABASE_PASSWORD: 'x' })).toThrow(/DATABASE_PASSWORD: is set but DATABASE_URL is not/);
    expect(configErrorOf({ DATABASE_URL: 'postgres://h/db', DATABASE_PASSWORD: 'hunter2' })).not.toMatch(/hunter2/);
  });

  it('reads ALLOW_EMBEDDED_DATABASE and DATABASE_LOCK_HEARTBEAT_MS, with defaults', () => {
    expect(loadConfig({})).toMatchObject({ allowEmbeddedDatabase: false, lockHeartbeatMs: 2000 });
    expect(loadConfig({ ALLOW_EMBEDDED_DATABASE: 'true', DATABASE_LOCK_HEARTBEAT_MS: '500' })).toMatchObject({ allowEmbeddedDatabase: true, lockHeartbeatMs: 500 });
    expect(() => loadConfig({ ALLOW_EMBEDDED_DATABASE: 'maybe', DATABASE_LOCK_HEARTBEAT_MS: '10' })).toThrow(/DATABASE_LOCK_HEARTBEAT_MS[\s\S]*ALLOW_EMBEDDED_DATABASE: expected true or false/);
  });
});

/** The message of the configuration error `env` must raise (fails the test when it raises none). */
function configErrorOf(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`expected a configuration error for ${Object.keys(env).join(', ')}`);
}

describe('configuration of tamper evidence, retention and alerts', () => {
  it('keeps everything forever, publishes no head file and sends no alert by default', () => {
    const config = loadConfig({});
    expect(config.retention).toEqual({ days: null, daysByType: {} });
    expect(config.audit.headFile).toBeUndefined();
    expect(config.alerts).toMatchObject({ zoomUserId: undefined, jobFailures: 3, maxPerHour: 10, remindHours: 24 });
    expect(config.service.schedules).toMatchObject({ audit: '30 0 * * *', alerts: 'off', retention: 'off' });
  });

  it('reads a retention policy by days and session type, never shorter than Zoom reports data', () => {
    const config = loadConfig({ RETENTION_DAYS: '2555', RETENTION_DAYS_BY_TYPE: 'Group=3650, 1:1=off', SCHEDULE_RETENTION: '0 3 * * 0', AUDIT_HEAD_FILE: 'heads.jsonl' });
    expect(config.retention).toEqual({ days: 2555, daysByType: { Group: 3650, '1:1': null } });
    expect(config.service.schedules.retention).toBe('0 3 * * 0');
    expect(config.audit.headFile).toBe(path.resolve('heads.jsonl'));
    let error: ConfigError | undefined;
    try {
      loadConfig({ RETENTION_DAYS: '30', RETENTION_DAYS_BY_TYPE: 'Group' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error?.issues.map((i) => i.variable).sort()).toEqual(['RETENTION_DAYS', 'RETENTION_DAYS_BY_TYPE']);
    expect(error?.message).toContain('at least 190');
  });

  it('sends alerts to exactly one place, as a named user, and schedules them only then', () => {
    const config = loadConfig({ ALERT_ZOOM_USER_ID: 'u1', ALERT_ZOOM_CHANNEL: 'c1' });
    expect(config.alerts).toMatchObject({ zoomUserId: 'u1', toChannel: 'c1', toContact: undefined });
    expect(config.service.schedules.alerts).toBe('*/5 * * * *');
    const issues = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).issues.map((i) => i.variable);
      }
    };
    expect(issues({ ALERT_ZOOM_USER_ID: 'u1' })).toEqual(['ALERT_ZOOM_CHANNEL']);
    expect(issues({ ALERT_ZOOM_USER_ID: 'u1', ALERT_ZOOM_CHANNEL: 'c1', ALERT_ZOOM_CONTACT: 'a@example.com' })).toEqual(['ALERT_ZOOM_CHANNEL']);
    expect(issues({ ALERT_ZOOM_CONTACT: 'a@example.com' })).toEqual(['ALERT_ZOOM_USER_ID']);
  });
});
