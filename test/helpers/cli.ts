import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The CLI as a real process, straight from the TypeScript sources (tsx), so tests never run a stale build. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = ['--import', 'tsx', 'src/cli/main.ts'];

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for a child: nothing inherited that could point it at a real Zoom or database. */
export function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'], HOME: process.env['HOME'], LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env };
}

export function spawnCli(args: string[], env: Record<string, string | undefined>, options: Pick<SpawnOptions, 'detached'> & { stdin?: string } = {}): ChildProcess & { result: Promise<CliResult> } {
  const child = spawn(process.execPath, [...ENTRY, ...args], { cwd: ROOT, env: cliEnv(env), stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: options.detached ?? false });
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const result = new Promise<CliResult>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return Object.assign(child, { result });
}

export function runCli(args: string[], env: Record<string, string | undefined>, options: { stdin?: string } = {}): Promise<CliResult> {
  return spawnCli(args, env, options).result;
}
