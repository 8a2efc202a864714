import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { loadConfig } from '../../src/config/config.js';
import { ZoomClient } from '../../src/zoom/client.js';

/** Every object key in a JSON text, per object, with duplicates reported: JSON.parse alone hides them. */
export function duplicateKeys(text: string): string[] {
  const duplicates: string[] = [];
  const stack: Array<Set<string> | null> = [];
  let i = 0;
  const readString = (): string => {
    let out = '';
    i++; // opening quote
    while (text[i] !== '"') {
      if (text[i] === '\\') {
        out += text.slice(i, i + 2);
        i += 2;
      } else out += text[i++];
    }
    i++;
    return out;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '{') {
      stack.push(new Set());
      i++;
    } else if (c === '[') {
      stack.push(null);
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === '"') {
      const value = readString();
      let j = i;
      while (text[j] === ' ') j++;
      const keys = stack.at(-1);
      if (text[j] === ':' && keys) {
        if (keys.has(value)) duplicates.push(value);
        keys.add(value);
      }
    } else i++;
  }
  return duplicates;
}

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { lines, stream };
}

describe('log lines', () => {
  it('carry every key once, the innermost value winning', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', format: 'json', destination: stream });
    logger.child({ module: 'zoom', job: 'sync' }).child({ module: 'zoom-client' }).warn({ job: 'legal-hold', endpoint: 'e' }, 'something');
    expect(lines).toHaveLength(1);
    expect(duplicateKeys(lines[0]!)).toEqual([]);
    expect(JSON.parse(lines[0]!)).toMatchObject({ module: 'zoom-client', job: 'legal-hold', endpoint: 'e', msg: 'something' });
  });

  it('the Zoom client under a logger already bound to a module (as the sync command builds it) writes no duplicate key', async () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'debug', format: 'json', destination: stream });
    const config = loadConfig({ ZOOM_API_BASE_URL: 'http://127.0.0.1:9/v2', ZOOM_OAUTH_TOKEN_URL: 'http://127.0.0.1:9/oauth/token' });
    const client = new ZoomClient({ config: config.zoom, credentials: { accountId: 'a', clientId: 'b', clientSecret: 'c' }, logger: logger.child({ module: 'zoom' }) });
    client.logger.warn({ endpoint: 'report.chat.sessions' }, 'a warning from the client');
    await client.close();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(duplicateKeys(line), line).toEqual([]);
  });

  it('the duplicate-key detector itself sees what JSON.parse would hide', () => {
    expect(duplicateKeys('{"a":1,"b":{"a":2,"c":3},"a":4}')).toEqual(['a']);
    expect(duplicateKeys('{"a":"x\\\\\\"a\\":","b":[{"a":1},{"a":2}]}')).toEqual([]);
  });
});
