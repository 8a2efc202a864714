import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { urlExpired } from '../../src/files/index.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { generateDataset, SIM_CREDENTIALS, startZoomSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { signFileToken } from '../../src/simulator/file-tokens.js';
import { ZoomClient } from '../../src/zoom/client.js';
import { openSignedDownload } from '../../src/zoom/files.js';
import { simulatorEnv } from '../helpers/simulator-env.js';

// The bearer token goes only to Zoom's hosts or the API's own: a signed URL elsewhere never gets it.
// Real sockets: the simulator issues the token, a plain HTTP server records what it was sent.

let sim: RunningSimulator;
let other: ReturnType<typeof createServer>;
let otherUrl = '';
const seen: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  sim = await startZoomSimulator({ dataset: generateDataset({ seed: 4, now: new Date(), sessions: 2, totalMessages: 20, fileProbability: 1, fileMaxBytes: 5000 }), serveFiles: { requireBearer: true } });
  other = createServer((req, res) => {
    seen.push(req.headers);
    res.end('ok');
  });
  other.listen(0, '127.0.0.1');
  await new Promise((r) => other.once('listening', r));
  otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await sim.close();
  await new Promise((r) => other.close(r));
});

function client(): ZoomClient {
  const config = loadConfig({ ...simulatorEnv(sim), ZOOM_RATE_LIGHT: '1000' });
  return new ZoomClient({ config: config.zoom, credentials: SIM_CREDENTIALS, logger: createSilentLogger() });
}

describe('download authentication', () => {
  it('sends the bearer token to the API host when asked, and never to another host', async () => {
    const zoom = client();
    try {
      const file = sim.files.all()[0]!;
      const url = sim.files.signedUrl(sim.baseUrl, file.fileId, Date.now());
      const without = await openSignedDownload(zoom, url, { withToken: false });
      without.body.resume();
      expect(without.status).toBe(401);
      const withToken = await openSignedDownload(zoom, url, { withToken: true });
      const chunks: Buffer[] = [];
      for await (const c of withToken.body) chunks.push(c as Buffer);
      expect(withToken.status).toBe(200);
      expect(Buffer.concat(chunks).equals(sim.files.content(file.fileId))).toBe(true);

      const elsewhere = await openSignedDownload(zoom, `${otherUrl}/file/download/x?jwt=abc`, { withToken: true });
      elsewhere.body.resume();
      expect(elsewhere.status).toBe(200);
      expect(seen).toHaveLength(1);
      expect(seen[0]?.authorization).toBeUndefined();
    } finally {
      await zoom.close();
    }
  });

  it("reads a signed URL's expiry from its jwt, and tries a URL without one as it is", () => {
    const now = Date.now();
    expect(urlExpired(`https://zoom.us/file/download/f?jwt=${signFileToken('f', now + 3600_000)}`, now)).toBe(false);
    expect(urlExpired(`https://zoom.us/file/download/f?jwt=${signFileToken('f', now - 1000)}`, now)).toBe(true);
    // Within a minute of expiry counts as expired: refreshed first.
    expect(urlExpired(`https://zoom.us/file/download/f?jwt=${signFileToken('f', now + 30_000)}`, now)).toBe(true);
    // Zoom's shape: header.payload.signature, exp in the payload.
    const payload = Buffer.from(JSON.stringify({ aud: 'zfs', exp: Math.floor((now + 3600_000) / 1000) })).toString('base64url');
    expect(urlExpired(`https://zoom.us/file/download/f?filename=a.txt&jwt=eyJhbGciOiJFUzI1NiJ9.${payload}.sig`, now)).toBe(false);
    expect(urlExpired('https://zoom.us/file/download/f?filename=a.txt', now)).toBe(false);
    expect(urlExpired('not a url', now)).toBe(true);
  });
});
