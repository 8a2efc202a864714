/** What a running simulator announces about itself: enough to point the archiver at it. */
export interface SimulatorEndpoint {
  apiBaseUrl: string;
  tokenUrl: string;
  credentials: { accountId: string; clientId: string; clientSecret: string };
}

/** The environment variables that point a child process (CLI, service, benchmark) at a simulator. */
export function simulatorEnv(sim: SimulatorEndpoint): Record<string, string> {
  return {
    ZOOM_ACCOUNT_ID: sim.credentials.accountId,
    ZOOM_CLIENT_ID: sim.credentials.clientId,
    ZOOM_CLIENT_SECRET: sim.credentials.clientSecret,
    ZOOM_API_BASE_URL: sim.apiBaseUrl,
    ZOOM_OAUTH_TOKEN_URL: sim.tokenUrl,
  };
}
