// Starts the embedded default with the built console, on free ports and a
// fresh data folder, for the whole browser suite; stops it afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SERVER_FILE, type ServerInfo } from './server';
import { fileURLToPath } from 'node:url';

const __dirname = fileURLToPath(new URL('.', import.meta.url));

const repository = resolve(__dirname, '../..');
const target = process.env.CARGO_TARGET_DIR ?? join(repository, 'target');

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

async function until(what: string, check: () => Promise<boolean>, child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`actions-standalone exited (${child.exitCode}) before ${what}:\n${log()}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}:\n${log()}`);
}

export default async function globalSetup() {
  const binary = join(target, 'release', 'actions-standalone');
  const cli = join(target, 'release', 'action');
  for (const file of [binary, cli, join(__dirname, '..', 'dist', 'index.html')]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: build first (just console-test builds everything)`);
  }
  const data = mkdtempSync(join(tmpdir(), 'actions-console-'));
  const [cpPort, runnerPort] = [await freePort(), await freePort()];
  let output = '';
  const child = spawn(
    binary,
    [
      '--data-dir', data,
      '--control-plane-listen', `127.0.0.1:${cpPort}`,
      '--runner-listen', `127.0.0.1:${runnerPort}`,
      '--console-dir', join(__dirname, '..', 'dist'),
    ],
    { cwd: repository, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const baseURL = `http://127.0.0.1:${cpPort}`;
  await until('the console to be served', async () => (await fetch(`${baseURL}/`)).ok, child, () => output);
  await until('secrets.toml', async () => existsSync(join(data, 'secrets.toml')), child, () => output);
  const secrets = readFileSync(join(data, 'secrets.toml'), 'utf8');
  const operatorToken = /operator_token\s*=\s*"([^"]+)"/.exec(secrets)?.[1];
  if (!operatorToken) throw new Error(`no operator_token in secrets.toml:\n${secrets}`);
  const runnerToken = /runner_token\s*=\s*"([^"]+)"/.exec(secrets)?.[1];
  if (!runnerToken) throw new Error(`no runner_token in secrets.toml:\n${secrets}`);
  const runnerURL = `http://127.0.0.1:${runnerPort}`;
  const info: ServerInfo = { baseURL, operatorToken, cli, repository, data, runnerURL, runnerToken };
  // A fresh checkout has no test-results folder yet.
  mkdirSync(dirname(SERVER_FILE), { recursive: true });
  writeFileSync(SERVER_FILE, JSON.stringify(info));
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(data, { recursive: true, force: true });
    rmSync(SERVER_FILE, { force: true });
  };
}
