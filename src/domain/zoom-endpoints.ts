/**
 * Names of the Zoom endpoints this project calls, one place for both sides: the client labels its
 * metrics, logs and errors with them, and the simulator counts calls and matches faults by them, so
 * a benchmark's "API calls by endpoint" means the same thing on either side of the socket.
 */

export const REPORT_ENDPOINTS = {
  sessions: 'report.chat.sessions',
  sessionMessages: 'report.chat.session_messages',
} as const;

export const LEGAL_HOLD_ENDPOINTS = {
  listMatters: 'legalhold.matters.list',
  addMatter: 'legalhold.matters.add',
  updateMatter: 'legalhold.matters.update',
  deleteMatter: 'legalhold.matters.delete',
  listFiles: 'legalhold.files.list',
  downloadFile: 'legalhold.files.download',
} as const;

/** Chat Messages: "Send a chat message", used for alerts (src/alerts/). */
export const CHAT_MESSAGE_ENDPOINTS = {
  send: 'chat.messages.send',
} as const;

/**
 * Chat Files: "Get file info" (LIGHT) and the download of a file's content at its signed
 * `download_url` (not an API call: no rate label; counted apart).
 */
export const CHAT_FILE_ENDPOINTS = {
  getInfo: 'chat.files.get',
  download: 'chat.files.download',
} as const;

/** Zoom's rate-limit label of an operation (per account, shared by every app on it; see ZOOM-API-NOTES). */
export type RateLabel = 'light' | 'medium' | 'heavy' | 'resource-intensive';
