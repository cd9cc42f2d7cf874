import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadFile, looksLikeHtml, type DownloadProgress } from '../../../src/images/download/index.js';
import { ImageError, type ImageErrorCode } from '../../../src/images/imageError.js';
import { serveBytes, startForwardProxy, startServer, type TestServer } from '../../helpers/httpServer.js';
import { assertIncludes } from '../../helpers/assertions.js';

const BODY = randomBytes(3 * 1024 * 1024 + 123);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');
const BODY_SHA256 = sha256(BODY);

let root: string;
let n = 0;
/** A fresh directory per test; the destination file inside it. */
const destIn = () => {
  const dir = join(root, `t${++n}`);
  execFileSync('mkdir', ['-p', dir]);
  return { dir, dest: join(dir, 'disk.img') };
};
const files = (dir: string) => readdirSync(dir).sort();

async function rejectsWith(p: Promise<unknown>, code: ImageErrorCode, ...parts: string[]): Promise<ImageError> {
  let caught: unknown;
  await p.then(
    () => assert.fail(`expected ImageError(${code})`),
    (e: unknown) => (caught = e),
  );
  assert.ok(caught instanceof ImageError, `not an ImageError: ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const part of parts) assertIncludes(caught.message, part, 'message');
  return caught;
}

/** Answer with the first `bytes` of the body, then drop the connection. */
function dropAfter(
  res: http.ServerResponse,
  bytes: number,
  headers: http.OutgoingHttpHeaders = { etag: '"v1"' },
): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length, ...headers });
  res.write(BODY.subarray(0, bytes), () => setTimeout(() => res.socket?.destroy(), 20));
}

const servers: TestServer[] = [];
async function server(
  handler: Parameters<typeof startServer>[0],
  tls?: Parameters<typeof startServer>[1],
): Promise<TestServer> {
  const s = await startServer(handler, tls);
  servers.push(s);
  return s;
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'vmlab-download-'));
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(root, { recursive: true, force: true });
});

describe('downloadFile', () => {
  it('downloads over http, hashing while it streams, and leaves only the finished file', async () => {
    const s = await server((req, res) => serveBytes(res, req, BODY));
    const { dir, dest } = destIn();
    const r = await downloadFile(`${s.url}/disk.img`, dest);
    assert.deepEqual(r, { path: dest, bytes: BODY.length, sha256: BODY_SHA256, resumed: false });
    assert.equal(sha256(readFileSync(dest)), BODY_SHA256);
    assert.deepEqual(files(dir), ['disk.img']);
    assert.equal(s.requests.length, 1);
    assert.equal(s.requests[0]!.headers.range, undefined);
  });

  it('downloads over https', async (t) => {
    const tlsDir = join(root, 'tls');
    try {
      execFileSync('mkdir', ['-p', tlsDir]);
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(tlsDir, 'key.pem'),
          '-out',
          join(tlsDir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
    } catch {
      t.skip('openssl is not available to make a test certificate');
      return;
    }
    const cert = readFileSync(join(tlsDir, 'cert.pem'));
    const s = await server((req, res) => serveBytes(res, req, BODY), {
      key: readFileSync(join(tlsDir, 'key.pem')),
      cert,
    });
    const { dest } = destIn();
    const r = await downloadFile(`${s.url}/disk.img`, dest, {
      ca: cert,
      expected: { algo: 'sha256', hex: BODY_SHA256 },
    });
    assert.equal(r.sha256, BODY_SHA256);
    // Without the CA the certificate is refused: a network error naming the URL.
    await rejectsWith(downloadFile(`${s.url}/disk.img`, destIn().dest), 'network', s.url);
  });

  it('follows 301, 302, 303, 307 and 308 redirects, relative ones too', async () => {
    const s = await server((req, res) => {
      const to = (status: number, location: string) => res.writeHead(status, { location }).end();
      switch (req.url) {
        case '/a':
          return to(301, `http://${req.headers.host}/b`);
        case '/b':
          return to(302, 'dir/c');
        case '/dir/c':
          return to(303, '/dir/sub/d');
        case '/dir/sub/d':
          return to(307, '../e');
        case '/dir/e':
          return to(308, '/file.img');
        case '/file.img':
          return serveBytes(res, req, BODY);
        default:
          res.writeHead(404).end();
      }
    });
    const lines: string[] = [];
    const r = await downloadFile(`${s.url}/a`, destIn().dest, { log: (l) => lines.push(l) });
    assert.equal(r.sha256, BODY_SHA256);
    assert.deepEqual(
      s.requests.map((q) => q.url),
      ['/a', '/b', '/dir/c', '/dir/sub/d', '/dir/e', '/file.img'],
    );
    assert.ok(
      lines.some((l) => l.startsWith('followed 5 redirect(s)') && l.endsWith('/file.img')),
      lines.join('\n'),
    );
  });

  it('gives up after 10 redirects', async () => {
    const s = await server((_req, res) => res.writeHead(302, { location: `/loop${s.requests.length}` }).end());
    const { dir, dest } = destIn();
    await rejectsWith(downloadFile(`${s.url}/start`, dest), 'http', 'more than 10 redirects');
    assert.equal(s.requests.length, 11);
    assert.deepEqual(files(dir), []);
  });

  it('resumes a download an earlier run left, with Range and If-Range, and gets the right sha256', async () => {
    const N = 1024 * 1024 + 7;
    const s = await server((req, res) => (s.requests.length === 1 ? dropAfter(res, N) : serveBytes(res, req, BODY)));
    const { dir, dest } = destIn();
    const url = `${s.url}/disk.img`;
    // One attempt only: the run gives up at the first drop, as a killed run would stop.
    const err = await rejectsWith(downloadFile(url, dest, { attempts: 1 }), 'network', url);
    assertIncludes(err.hint ?? '', 'resume');
    // Interrupted: only the part file and its metadata, never a "finished" dest.
    assert.deepEqual(files(dir), ['disk.img.part', 'disk.img.part.json']);
    const kept = statSync(`${dest}.part`).size;
    assert.ok(kept > 0 && kept <= N, `kept ${kept}`);
    assert.deepEqual(JSON.parse(readFileSync(`${dest}.part.json`, 'utf8')), {
      url,
      etag: '"v1"',
      lastModified: null,
      total: BODY.length,
    });

    const r = await downloadFile(url, dest, { expected: { algo: 'sha512', hex: sha512(BODY) } });
    assert.equal(s.requests.length, 2);
    assert.equal(s.requests[1]!.headers.range, `bytes=${kept}-`);
    assert.equal(s.requests[1]!.headers['if-range'], '"v1"');
    assert.deepEqual(r, { path: dest, bytes: BODY.length, sha256: BODY_SHA256, sha512: sha512(BODY), resumed: true });
    assert.equal(sha256(readFileSync(dest)), BODY_SHA256);
    assert.deepEqual(files(dir), ['disk.img']);
  });

  it('starts over when the server answers a Range request with 200', async () => {
    const s = await server((req, res) =>
      s.requests.length === 1
        ? dropAfter(res, 500_000, { 'last-modified': 'Tue, 02 Jan 2024 00:00:00 GMT' })
        : serveBytes(res, req, BODY, { ranges: false }),
    );
    const { dir, dest } = destIn();
    await rejectsWith(downloadFile(`${s.url}/disk.img`, dest, { attempts: 1 }), 'network');
    const r = await downloadFile(`${s.url}/disk.img`, dest);
    assert.equal(s.requests[1]!.headers['if-range'], 'Tue, 02 Jan 2024 00:00:00 GMT');
    assert.equal(r.resumed, false);
    assert.equal(r.bytes, BODY.length);
    assert.equal(r.sha256, BODY_SHA256);
    assert.deepEqual(files(dir), ['disk.img']);
  });

  it('does not resume a part file that has no metadata', async () => {
    const s = await server((req, res) => serveBytes(res, req, BODY));
    const { dest } = destIn();
    writeFileSync(`${dest}.part`, 'garbage');
    const r = await downloadFile(`${s.url}/disk.img`, dest);
    assert.equal(s.requests[0]!.headers.range, undefined);
    assert.equal(r.sha256, BODY_SHA256);
  });

  it('deletes the part file on a checksum mismatch and names both digests', async () => {
    const s = await server((req, res) => serveBytes(res, req, BODY));
    const { dir, dest } = destIn();
    const wrong = 'ab'.repeat(32);
    const e = await rejectsWith(
      downloadFile(`${s.url}/disk.img`, dest, { expected: { algo: 'sha256', hex: wrong } }),
      'checksum_mismatch',
      wrong,
      BODY_SHA256,
    );
    assert.equal(e.exitCode, 2);
    assert.deepEqual(files(dir), []);
  });

  it('maps 404 to not_found and other statuses to http with the status, without retrying', async () => {
    const s = await server((req, res) =>
      res.writeHead(req.url === '/missing' ? 404 : 403, { 'content-type': 'text/plain' }).end('no'),
    );
    const { dir, dest } = destIn();
    await rejectsWith(downloadFile(`${s.url}/missing`, dest), 'not_found', `${s.url}/missing`, '404');
    await rejectsWith(downloadFile(`${s.url}/private`, dest), 'http', '403');
    assert.equal(s.requests.length, 2);
    assert.deepEqual(files(dir), []);
  });

  it('refuses a text/html response and leaves nothing behind', async () => {
    const s = await server((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<p>Please log in</p>'),
    );
    const { dir, dest } = destIn();
    await rejectsWith(downloadFile(`${s.url}/disk.img`, dest), 'not_an_image', 'text/html');
    assert.deepEqual(files(dir), []);
  });

  it('refuses a body that starts like HTML whatever its Content-Type, even split in tiny writes', async () => {
    const s = await server(async (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', etag: '"x"' });
      if (req.url === '/split') {
        for (const piece of [' \r\n\t', '<H', 'tMl lang="en">', '<body>'.repeat(1000)]) {
          res.write(piece);
          await new Promise((r) => setTimeout(r, 10));
        }
        res.end();
      } else {
        res.end('\n  <!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">' + 'x'.repeat(5000));
      }
    });
    const { dir, dest } = destIn();
    await rejectsWith(downloadFile(`${s.url}/doctype`, dest), 'not_an_image', 'HTML');
    await rejectsWith(downloadFile(`${s.url}/split`, dest), 'not_an_image', 'HTML');
    assert.deepEqual(files(dir), []);
  });

  it('shares one transfer between concurrent calls for the same dest', async () => {
    const s = await server(async (req, res) => {
      await new Promise((r) => setTimeout(r, 100));
      serveBytes(res, req, BODY);
    });
    const { dir, dest } = destIn();
    const url = `${s.url}/disk.img`;
    const [a, b] = await Promise.all([downloadFile(url, dest), downloadFile(url, join(dir, '.', 'disk.img'))]);
    assert.equal(s.requests.length, 1);
    assert.equal(a, b);
    assert.equal(a.sha256, BODY_SHA256);
    // The map entry is gone once done: a later call downloads again.
    await downloadFile(url, dest);
    assert.equal(s.requests.length, 2);
  });

  it('waits on the lock file held by another download and returns its finished file', async () => {
    const s = await server(async (req, res) => {
      await new Promise((r) => setTimeout(r, 200));
      serveBytes(res, req, BODY);
    });
    const { dir, dest } = destIn();
    const url = `${s.url}/disk.img`;
    const lines: string[] = [];
    const first = downloadFile(url, dest, { shareInProcess: false });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(readFileSync(`${dest}.part.lock`, 'utf8').trim(), String(process.pid));
    const second = downloadFile(url, dest, {
      shareInProcess: false,
      lockPollMs: 20,
      log: (l) => lines.push(l),
      expected: { algo: 'sha256', hex: BODY_SHA256 },
    });
    const [a, b] = await Promise.all([first, second]);
    assert.equal(s.requests.length, 1);
    assert.deepEqual(b, a);
    assert.ok(
      lines.some((l) => l.startsWith('waiting for another download')),
      lines.join('\n'),
    );
    assert.deepEqual(files(dir), ['disk.img']);
  });

  it('takes over a lock file left by a process that is gone', async () => {
    const s = await server((req, res) => serveBytes(res, req, BODY));
    const { dir, dest } = destIn();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    writeFileSync(`${dest}.part.lock`, `${gone}\n`);
    const r = await downloadFile(`${s.url}/disk.img`, dest, { shareInProcess: false, lockPollMs: 20 });
    assert.equal(r.sha256, BODY_SHA256);
    assert.deepEqual(files(dir), ['disk.img']);
  });

  it('cancels on abort, keeps the part file, and a later call resumes it', async () => {
    const ac = new AbortController();
    const s = await server((req, res) => {
      if (s.requests.length > 1) return serveBytes(res, req, BODY);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length, etag: '"v1"' });
      res.write(BODY.subarray(0, 2 * 1024 * 1024), () => setTimeout(() => ac.abort(), 100)); // then stall
    });
    const { dir, dest } = destIn();
    const url = `${s.url}/disk.img`;
    await rejectsWith(downloadFile(url, dest, { signal: ac.signal }), 'cancelled', url);
    assert.deepEqual(files(dir), ['disk.img.part', 'disk.img.part.json']);
    const kept = statSync(`${dest}.part`).size;
    assert.ok(kept > 0, 'some bytes kept');
    assert.ok(BODY.subarray(0, kept).equals(readFileSync(`${dest}.part`)));

    // An already aborted signal does not even start.
    await rejectsWith(downloadFile(url, dest, { signal: AbortSignal.abort() }), 'cancelled');
    assert.equal(s.requests.length, 1);

    const r = await downloadFile(url, dest);
    assert.equal(s.requests[1]!.headers.range, `bytes=${kept}-`);
    assert.equal(r.resumed, true);
    assert.equal(r.sha256, BODY_SHA256);
  });

  it('reports progress at most about 10 times a second with total, speed and ETA', async () => {
    const piece = 64 * 1024;
    const s = await server(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length });
      for (let i = 0; i < BODY.length; i += piece) {
        res.write(BODY.subarray(i, i + piece));
        await new Promise((r) => setTimeout(r, 8));
      }
      res.end();
    });
    const seen: Array<DownloadProgress & { at: number }> = [];
    const t0 = Date.now();
    const r = await downloadFile(`${s.url}/disk.img`, destIn().dest, {
      onProgress: (p) => seen.push({ ...p, at: Date.now() }),
    });
    const elapsed = Date.now() - t0;
    assert.equal(r.sha256, BODY_SHA256);
    assert.ok(seen.length >= 3, `${seen.length} reports`);
    assert.ok(seen.length <= Math.ceil(elapsed / 100) + 2, `${seen.length} reports in ${elapsed} ms`);
    for (let i = 1; i < seen.length - 1; i++) assert.ok(seen[i]!.at - seen[i - 1]!.at >= 95, 'throttled');
    assert.ok(seen.every((p, i) => p.total === BODY.length && (i === 0 || p.bytes >= seen[i - 1]!.bytes)));
    const mid = seen[Math.floor(seen.length / 2)]!;
    assert.ok(mid.bytesPerSec > 0 && mid.etaSec !== null && mid.etaSec > 0, JSON.stringify(mid));
    const last = seen[seen.length - 1]!;
    assert.equal(last.bytes, BODY.length);
    assert.equal(last.etaSec, 0);
  });

  it('turns a refused connection into a network error naming the URL, after its attempts', async () => {
    const s = await startServer(() => {});
    await s.close();
    const { dir, dest } = destIn();
    const lines: string[] = [];
    const e = await rejectsWith(
      downloadFile(`${s.url}/disk.img`, dest, { retryDelayMs: 5, log: (l) => lines.push(l) }),
      'network',
      `${s.url}/disk.img`,
      'ECONNREFUSED',
      'after 5 attempts',
    );
    assertIncludes(e.hint ?? '', 'check the network');
    assert.equal(lines.filter((l) => l.includes('attempt')).length, 4, lines.join('\n'));
    assert.deepEqual(files(dir), []);
  });

  it('with no validator, starts each retry over, and after its attempts removes the part', async () => {
    const s = await server((_req, res) => dropAfter(res, 100_000, {}));
    const { dir, dest } = destIn();
    await rejectsWith(
      downloadFile(`${s.url}/disk.img`, dest, { retryDelayMs: 5 }),
      'network',
      `${s.url}/disk.img`,
      'after 5 attempts',
    );
    assert.equal(s.requests.length, 5);
    assert.ok(
      s.requests.every((q) => q.headers.range === undefined),
      'no Range without a validator',
    );
    assert.deepEqual(files(dir), []);
  });

  it('survives connections dropped mid-body: retries with backoff, resumes with Range/If-Range, right bytes and hash', async () => {
    const drops = [700_000, 900_000, 1_100_000]; // bytes sent by each of the first three answers
    const s = await server((req, res) => {
      const i = s.requests.length - 1;
      if (i >= drops.length) return serveBytes(res, req, BODY);
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      const headers = {
        'content-type': 'application/octet-stream',
        etag: '"v1"',
        'content-length': BODY.length - start,
      };
      res.writeHead(
        start ? 206 : 200,
        start ? { ...headers, 'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}` } : headers,
      );
      res.write(BODY.subarray(start, start + drops[i]!), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const { dir, dest } = destIn();
    const lines: string[] = [];
    const seen: DownloadProgress[] = [];
    const t0 = Date.now();
    const r = await downloadFile(`${s.url}/disk.img`, dest, {
      retryDelayMs: 40,
      log: (l) => lines.push(l),
      onProgress: (p) => seen.push(p),
      expected: { algo: 'sha256', hex: BODY_SHA256 },
    });
    // Each attempt got further, so the wait never grows past the first step.
    assert.ok(Date.now() - t0 >= 3 * 40, 'waits between attempts');
    assert.equal(r.sha256, BODY_SHA256);
    assert.equal(r.bytes, BODY.length);
    assert.equal(sha256(readFileSync(dest)), BODY_SHA256);
    assert.deepEqual(files(dir), ['disk.img']);
    assert.equal(s.requests.length, 4);
    let at = 0;
    for (const [i, q] of s.requests.entries()) {
      assert.equal(q.headers.range, i === 0 ? undefined : `bytes=${at}-`);
      assert.equal(q.headers['if-range'], i === 0 ? undefined : '"v1"');
      at += drops[i] ?? 0;
    }
    assert.equal(
      lines.filter((l) => /dropped.*resuming at byte \d+ in 0\.\d s \(attempt 2 of 5\)/.test(l)).length,
      3,
      lines.join('\n'),
    );
    assert.ok(
      seen.every((p, i) => i === 0 || p.bytes >= seen[i - 1]!.bytes),
      'progress never goes back',
    );
  });

  it('retries 503 (honouring Retry-After) and gives up on a persistent one naming the status', async () => {
    let healthy = false;
    const s = await server((req, res) =>
      healthy && s.requests.length > 2
        ? serveBytes(res, req, BODY)
        : res.writeHead(503, { 'retry-after': '0' }).end('busy'),
    );
    const { dest } = destIn();
    healthy = true;
    const r = await downloadFile(`${s.url}/disk.img`, dest, { retryDelayMs: 10_000 }); // Retry-After: 0 wins over the delay
    assert.equal(r.sha256, BODY_SHA256);
    assert.equal(s.requests.length, 3);
    healthy = false;
    await rejectsWith(
      downloadFile(`${s.url}/disk.img`, destIn().dest, { attempts: 3 }),
      'network',
      'HTTP 503',
      'after 3 attempts',
    );
  });

  it('gives up after its attempts with URL, bytes received and the next step; the next run resumes', async () => {
    const N = 600_000;
    let healthy = false;
    const s = await server((req, res) => {
      if (healthy) return serveBytes(res, req, BODY);
      if (s.requests.length === 1) return dropAfter(res, N);
      res.writeHead(206, {
        'content-type': 'application/octet-stream',
        'content-length': BODY.length - N,
        'content-range': `bytes ${N}-${BODY.length - 1}/${BODY.length}`,
        etag: '"v1"',
      });
      res.flushHeaders();
      setTimeout(() => res.socket?.destroy(), 10); // headers, then nothing
    });
    const { dir, dest } = destIn();
    const url = `${s.url}/disk.img`;
    const e = await rejectsWith(
      downloadFile(url, dest, { retryDelayMs: 5 }),
      'network',
      url,
      'after 5 attempts',
      `${N} of ${BODY.length} bytes received`,
    );
    assertIncludes(e.hint ?? '', `${N} bytes are kept in ${dest}.part`);
    assertIncludes(e.hint ?? '', 'run the same command again to resume');
    assert.equal(s.requests.length, 5);
    assert.deepEqual(
      s.requests.slice(1).map((q) => q.headers.range),
      Array(4).fill(`bytes=${N}-`),
    );
    assert.deepEqual(files(dir), ['disk.img.part', 'disk.img.part.json']);
    assert.equal(statSync(`${dest}.part`).size, N);

    healthy = true;
    const r = await downloadFile(url, dest);
    assert.equal(s.requests.at(-1)!.headers.range, `bytes=${N}-`);
    assert.equal(r.resumed, true);
    assert.equal(r.sha256, BODY_SHA256);
  });

  it('cancels while waiting to retry', async () => {
    const ac = new AbortController();
    const s = await server((_req, res) => res.writeHead(503).end());
    const { dest } = destIn();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    await rejectsWith(
      downloadFile(`${s.url}/disk.img`, dest, { signal: ac.signal, retryDelayMs: 20_000 }),
      'cancelled',
    );
    assert.ok(Date.now() - t0 < 2000, 'did not wait out the backoff');
    assert.equal(s.requests.length, 1);
  });

  it('takes a body from a Connection: close server that ends the socket at once, whole or cut short', async () => {
    // The bytes all arrive before the client reads them, then FIN: the case that
    // crashes undici 7 when its parser is paused (nodejs/undici#5360).
    const big = Buffer.concat([BODY, BODY, BODY]);
    let n = 0;
    const srv = createNetServer((sock) => {
      sock.once('data', () => {
        const cut = n++ === 0 ? 2 * 1024 * 1024 : big.length; // the first answer stops early
        sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\nETag: "c1"\r\nConnection: close\r\n\r\n`);
        sock.write(big.subarray(0, cut));
        sock.end();
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const { port } = srv.address() as AddressInfo;
      const r = await downloadFile(`http://127.0.0.1:${port}/big.img`, destIn().dest, { retryDelayMs: 5 });
      assert.equal(r.bytes, big.length);
      assert.equal(r.sha256, sha256(big));
      assert.equal(n, 2);
    } finally {
      srv.close();
    }
  });

  describe('through a proxy from the environment', () => {
    it('sends http:// through HTTP_PROXY (an absolute-URI request) and bypasses it for NO_PROXY', async () => {
      const proxy = await startForwardProxy();
      servers.push(proxy);
      const s = await server((req, res) => serveBytes(res, req, BODY));
      const url = `${s.url}/disk.img`;

      const r = await downloadFile(url, destIn().dest, { env: { HTTP_PROXY: proxy.url } });
      assert.equal(r.sha256, BODY_SHA256);
      assert.deepEqual(
        proxy.requests.map((q) => `${q.method} ${q.url}`),
        [`GET ${url}`],
      );
      assert.equal(s.requests.length, 1, 'the origin served it (through the proxy)');

      // Lower case wins over upper case, as curl reads them.
      await downloadFile(url, destIn().dest, { env: { http_proxy: proxy.url, HTTP_PROXY: 'http://127.0.0.1:9' } });
      assert.equal(proxy.requests.length, 2);

      for (const noProxy of ['127.0.0.1', `localhost,127.0.0.1:${new URL(s.url).port}`, '*']) {
        const direct = await downloadFile(url, destIn().dest, { env: { HTTP_PROXY: proxy.url, NO_PROXY: noProxy } });
        assert.equal(direct.sha256, BODY_SHA256);
        assert.equal(proxy.requests.length, 2, `NO_PROXY=${noProxy} bypasses the proxy`);
      }
      assert.equal(s.requests.length, 5);
    });

    it('names the URL when the proxy is down, and says to check the proxy', async () => {
      const gone = await startServer(() => {});
      await gone.close();
      const s = await server((req, res) => serveBytes(res, req, BODY));
      const e = await rejectsWith(
        downloadFile(`${s.url}/disk.img`, destIn().dest, {
          env: { http_proxy: gone.url },
          attempts: 2,
          retryDelayMs: 5,
        }),
        'network',
        `${s.url}/disk.img`,
      );
      assertIncludes(e.hint ?? '', 'proxy');
      assert.equal(s.requests.length, 0);
    });
  });
});

describe('looksLikeHtml', () => {
  it('spots HTML after whitespace, in any case, and waits for enough bytes', () => {
    assert.equal(looksLikeHtml(Buffer.from('  \n<!doctype HTML>')), true);
    assert.equal(looksLikeHtml(Buffer.from('<HTML>')), true);
    assert.equal(looksLikeHtml(Buffer.from('\ufeff<html>')), true);
    assert.equal(looksLikeHtml(Buffer.from(' <!DOC')), undefined);
    assert.equal(looksLikeHtml(Buffer.from('   ')), undefined);
    assert.equal(looksLikeHtml(Buffer.from('QFI\xfb\0\0\0\x03', 'latin1')), false);
    assert.equal(looksLikeHtml(Buffer.from('<?xml version="1.0"?>')), false);
  });
});
