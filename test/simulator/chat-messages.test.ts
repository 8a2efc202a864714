import { describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logging/logger.js';
import { SIM_CREDENTIALS } from '../../src/simulator/index.js';
import { loadConfig } from '../../src/config/config.js';
import { hasCode } from '../../src/errors.js';
import { sendChatMessage } from '../../src/zoom/chat-messages.js';
import { ZoomClient } from '../../src/zoom/client.js';
import { simulatorEnv } from '../helpers/simulator-env.js';
import { smallDataset, startTestSim, type TestSim } from './helpers.js';

// "Send a chat message" in the simulator, over real HTTP, against the OpenAPI document and the
// reference example: JSON and form bodies, validation, unknown users and channels, scopes, and the
// record tests read back (handle and /__sim/chat-messages). Then the project's client against it.

const PATH = (user: string) => `/chat/users/${encodeURIComponent(user)}/messages`;

async function post(t: TestSim, user: string, body: string, contentType = 'application/json', token = t.token) {
  const res = await fetch(`${t.sim.apiBaseUrl}${PATH(user)}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function accountOf(t: TestSim) {
  const user = t.dataset.users.find((u) => !u.external)!;
  const other = t.dataset.users.filter((u) => !u.external)[1]!;
  const channel = t.dataset.sessions.find((s) => s.channelId !== null)!.channelId!;
  return { user, other, channel };
}

describe('POST /chat/users/{userId}/messages', () => {
  it('accepts JSON and form bodies to a channel or a contact, answers 201 with an id, and records what was sent', async () => {
    const t = await startTestSim({ dataset: smallDataset() });
    const { user, other, channel } = accountOf(t);
    const a = await post(t, user.userId, JSON.stringify({ message: 'hello channel', to_channel: channel }));
    expect(a.status).toBe(201);
    expect(a.json['id']).toMatch(/^[0-9a-f-]{36}$/);
    const b = await post(t, user.email, new URLSearchParams({ message: 'hello you', to_contact: other.email }).toString(), 'application/x-www-form-urlencoded');
    expect(b.status).toBe(201);
    const sent = t.sim.chatMessages.sent();
    expect(sent.map((m) => [m.userId, m.toChannel, m.toContact, m.message, m.contentType])).toEqual([
      [user.userId, channel, null, 'hello channel', 'application/json'],
      [user.email, null, other.email, 'hello you', 'application/x-www-form-urlencoded'],
    ]);
    expect(sent[0]!.id).toBe(a.json['id']);
    const control = (await (await fetch(`${t.sim.baseUrl}/__sim/chat-messages`)).json()) as { messages: unknown[]; channels: string[] };
    expect(control.messages).toEqual(sent);
    expect(control.channels).toContain(channel);
    await fetch(`${t.sim.baseUrl}/__sim/chat-messages`, { method: 'DELETE' });
    expect(t.sim.chatMessages.sent()).toEqual([]);
    // Sent messages are API calls like any other: counted under their endpoint.
    expect(t.sim.stats().byEndpoint['chat.messages.send']?.requests).toBe(2);
  });

  it('refuses what Zoom refuses, each with its code', async () => {
    const t = await startTestSim({ dataset: smallDataset() });
    const { user, channel } = accountOf(t);
    expect(await post(t, user.userId, JSON.stringify({ to_channel: channel }))).toMatchObject({ status: 400, json: { code: 300, errors: [{ field: 'message' }] } });
    expect(await post(t, user.userId, JSON.stringify({ message: 'x'.repeat(1025), to_channel: channel }))).toMatchObject({ status: 400, json: { code: 300, errors: [{ field: 'message' }] } });
    expect(await post(t, user.userId, JSON.stringify({ message: 'both', to_channel: channel, to_contact: user.email }))).toMatchObject({ status: 400, json: { code: 300 } });
    expect(await post(t, user.userId, JSON.stringify({ message: 'neither' }))).toMatchObject({ status: 400, json: { code: 300 } });
    expect(await post(t, 'nobody-here', JSON.stringify({ message: 'hi', to_channel: channel }))).toEqual({ status: 404, json: { code: 1001, message: 'User does not exist: nobody-here.' } });
    expect(await post(t, user.userId, JSON.stringify({ message: 'hi', to_channel: 'no-such-channel' }))).toEqual({ status: 404, json: { code: 4130, message: 'Channel does not exist: no-such-channel.' } });
    expect(await post(t, user.userId, JSON.stringify({ message: 'hi', to_contact: 'stranger@elsewhere.example' }))).toMatchObject({ status: 404, json: { code: 1001 } });
    t.sim.chatMessages.sendingAllowed = false;
    expect(await post(t, user.userId, JSON.stringify({ message: 'hi', to_channel: channel }))).toEqual({ status: 400, json: { code: 5301, message: 'Message sending failed.' } });
    expect(t.sim.chatMessages.sent()).toEqual([]);
  });

  it('needs chat_message:write:admin (or its granular scope); 4711 names the granular ones', async () => {
    const t = await startTestSim({ dataset: smallDataset(), grantedScopes: ['report:read:list_chat_sessions:admin'] });
    const { user, channel } = accountOf(t);
    const denied = await post(t, user.userId, JSON.stringify({ message: 'hi', to_channel: channel }));
    expect(denied.status).toBe(401);
    expect(denied.json).toEqual({ code: 4711, message: 'Invalid access token, does not contain scopes:[team_chat:write:user_message,team_chat:write:user_message:admin].' });
  });

  it('is what the project\'s client sends, a MEDIUM call; a refusal is a typed error', async () => {
    const t = await startTestSim({ dataset: smallDataset() });
    const { user, channel } = accountOf(t);
    const config = loadConfig({ ...simulatorEnv(t.sim), ZOOM_RATE_MEDIUM: '100' });
    const zoom = new ZoomClient({ config: config.zoom, credentials: SIM_CREDENTIALS, clock: t.clock, logger: createSilentLogger(), retry: { baseDelayMs: 5, maxDelayMs: 10 } });
    try {
      const sent = await sendChatMessage(zoom, { userId: user.userId, toChannel: channel, message: `ALERT ${'é'.repeat(1100)}` });
      const [recorded] = t.sim.chatMessages.sent();
      expect(recorded!.id).toBe(sent.messageId);
      expect([...recorded!.message].length).toBe(1024);
      await expect(sendChatMessage(zoom, { userId: user.userId, toChannel: 'gone', message: 'x' })).rejects.toSatisfy((e: unknown) => hasCode(e, 'ZOOM_NOT_FOUND'));
    } finally {
      await zoom.close();
    }
  });
});
