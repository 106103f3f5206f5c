import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const __dirname = fileURLToPath(new URL('.', import.meta.url));

/** What the global set-up started, for the tests to reach. */
export type ServerInfo = {
  baseURL: string;
  operatorToken: string;
  cli: string;
  repository: string;
  data: string;
  /** Where an auth backend (here, the CLI's `action trigger`) calls Execute, and its token. */
  runnerURL: string;
  runnerToken: string;
};

export const SERVER_FILE = join(__dirname, '..', 'test-results', 'server.json');

export function server(): ServerInfo {
  return JSON.parse(readFileSync(SERVER_FILE, 'utf8')) as ServerInfo;
}
