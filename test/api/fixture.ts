import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp, type ApiOptions } from '../../src/api/app.js';
import { createServices, type Services } from '../../src/service/index.js';
import { loadSettings } from '../../src/host/settings.js';

export const TOKEN = 'test-token-0123456789abcdef';
export const auth = { authorization: `Bearer ${TOKEN}` };

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  home: string;
  /** Every log line the app wrote, as text. */
  logs: string[];
}

/** The directory tests' files live under (tmp()): the one root the test app allows besides its VMLAB_HOME. */
export const ALLOWED = mkdtempSync('/tmp/vmlab-apit-allowed-');

/** The app on services with a fresh VMLAB_HOME, logging into memory; paths in requests may name VMLAB_HOME and ALLOWED. */
export async function testApp(opts: Partial<ApiOptions> = {}, env: NodeJS.ProcessEnv = {}): Promise<TestApp> {
  const home = mkdtempSync('/tmp/vmlab-api-');
  const services = createServices(loadSettings({ ...process.env, VMLAB_HOME: home, ...env }));
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const app = await buildApp(services, {
    token: TOKEN,
    maxUploadBytes: 64 * 1024 * 1024,
    logger: { level: 'info', stream },
    jobPollMs: 50,
    allowPaths: [ALLOWED],
    ...opts,
  });
  return { app, services, home, logs };
}

/** A real qcow2 made by qemu-img. */
export function qcow2(dir: string, name: string, size = '16M'): string {
  const path = join(dir, name);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, size]);
  return path;
}

/** A multipart/form-data body: fields, then one file. */
export function multipart(
  fields: Record<string, string>,
  file?: { name: string; data: Buffer; field?: string },
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----vmlab${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields))
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="${file.field ?? 'file'}"; filename="${file.name}"\r\ncontent-type: application/octet-stream\r\n\r\n`,
      ),
      file.data,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export const tmp = () => mkdtempSync(join(ALLOWED, 'd-'));
