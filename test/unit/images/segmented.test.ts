import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadFile, type DownloadOptions } from '../../../src/images/download/index.js';
import { ImageError } from '../../../src/images/imageError.js';
import { planSegments } from '../../../src/images/download/segmented.js';
import type { PartMeta } from '../../../src/images/download/types.js';
import { serveDir, type FileServer, type FileServerOptions } from '../../helpers/fileServer.js';

const MiB = 1 << 20;
// 8 MiB in 4 segments of 2 MiB (the real minimum segment is 16 MiB; tests lower it).
const BODY = randomBytes(8 * MiB);
const SMALL = randomBytes(MiB + 4321);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
// probeMs 0: split at once (a loopback stream is fast, and would stay whole).
const SEG: DownloadOptions = { connections: 4, minSegmentBytes: MiB, retryDelayMs: 20, probeMs: 0 };
const SEGMENTS = planSegments(BODY.length, 4);

let root: string;
let www: string;
let n = 0;
const servers: FileServer[] = [];
const serve = async (opts: FileServerOptions = {}) => {
  const s = await serveDir(www, opts); // a free port: a fixed one may be held by a client socket
  servers.push(s);
  return s;
};
const destIn = () => {
  const dir = join(root, `t${++n}`);
  mkdirSync(dir);
  return { dir, dest: join(dir, 'disk.img') };
};
/** The Range header of each request for a path, in order (undefined: a plain GET). */
const ranges = (s: FileServer, path = '/disk.img') =>
  s.requests.filter((q) => q.url === path).map((q) => q.headers.range);

before(() => {
  root = mkdtempSync(join(tmpdir(), 'vmlab-segmented-'));
  www = join(root, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'disk.img'), BODY);
  writeFileSync(join(www, 'small.img'), SMALL);
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(root, { recursive: true, force: true });
});

describe('segmented downloads', () => {
  it('fetch a file from a server that takes ranges in 4 segments at once, checksum verified, nothing left but the file', async () => {
    const s = await serve();
    const { dir, dest } = destIn();
    const got = await downloadFile(`${s.url}/disk.img`, dest, {
      ...SEG,
      expected: { algo: 'sha256', hex: sha256(BODY) },
    });
    assert.equal(got.sha256, sha256(BODY));
    assert.equal(got.bytes, BODY.length);
    assert.ok(readFileSync(dest).equals(BODY));
    assert.deepEqual(
      SEGMENTS.map((x) => [x.start, x.end]),
      [0, 2, 4, 6].map((m) => [m * MiB, (m + 2) * MiB]),
    );
    // The first plain GET says the server takes ranges; then one request per segment.
    assert.deepEqual(ranges(s), [undefined, ...SEGMENTS.map((x) => `bytes=${x.start}-${x.end - 1}`)]);
    assert.ok(
      s.requests.slice(1).every((q) => q.headers['if-range'] !== undefined),
      'every segment asks with If-Range',
    );
    assert.deepEqual(readdirSync(dir), ['disk.img']);
  });

  it('a segment cut mid-way is resumed alone, where it stopped; the checksum matches', async () => {
    const cut = SEGMENTS[2]!;
    const s = await serve({ cutRange: { '/disk.img': { start: cut.start, after: 700_000 } } });
    const { dest } = destIn();
    const got = await downloadFile(`${s.url}/disk.img`, dest, {
      ...SEG,
      expected: { algo: 'sha256', hex: sha256(BODY) },
    });
    assert.equal(got.sha256, sha256(BODY));
    const asked = ranges(s).slice(1);
    for (const x of SEGMENTS.filter((x) => x !== cut))
      assert.equal(
        asked.filter((r) => r === `bytes=${x.start}-${x.end - 1}`).length,
        1,
        `segment ${x.start} asked once`,
      );
    const again = asked.filter((r) => r?.endsWith(`-${cut.end - 1}`) && r !== `bytes=${cut.start}-${cut.end - 1}`);
    assert.equal(again.length, 1, `one resume of the cut segment: ${asked.join(', ')}`);
    const from = Number(/^bytes=(\d+)-/.exec(again[0]!)![1]);
    assert.ok(
      from > cut.start && from <= cut.start + 700_000,
      `resumed at ${from}, after what it had (cut at ${cut.start + 700_000})`,
    );
    assert.equal(asked.length, SEGMENTS.length + 1);
  });

  it('a run that gives up keeps each segment’s progress; the next run asks only for what is missing', async () => {
    const cut = SEGMENTS[1]!;
    const s = await serve({ cutRange: { '/disk.img': { start: cut.start, after: 300_000 } } });
    const { dest } = destIn();
    const err = await downloadFile(`${s.url}/disk.img`, dest, { ...SEG, attempts: 1 }).then(
      () => assert.fail('expected the first run to give up'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ImageError && err.code === 'network', String(err));
    assert.match(err.message, /1 of 4 segments unfinished/);
    const meta = JSON.parse(readFileSync(`${dest}.part.json`, 'utf8')) as PartMeta;
    assert.deepEqual(
      meta.segments!.map((x) => x.done === x.end - x.start),
      SEGMENTS.map((x) => x !== cut),
      'the other segments finished',
    );
    const kept = meta.segments![1]!.done;
    assert.ok(kept > 0 && kept <= 300_000, `kept ${kept} bytes of the cut segment`);

    const before = s.requests.length;
    const got = await downloadFile(`${s.url}/disk.img`, dest, {
      ...SEG,
      expected: { algo: 'sha256', hex: sha256(BODY) },
    });
    assert.equal(got.sha256, sha256(BODY));
    assert.equal(got.resumed, true);
    assert.deepEqual(
      ranges(s).slice(before),
      [`bytes=${cut.start + kept}-${cut.end - 1}`],
      'only the rest of the cut segment',
    );
    assert.ok(!existsSync(`${dest}.part.json`));
  });

  it('after a kill -9 mid-way, the next run asks each unfinished segment only for what its saved state lacks', async () => {
    // 512 KiB/s per connection: the killed run needs 4 s, and its state is saved after 1 s (on a loaded host the child's
    // start alone can take seconds).
    const s = await serve({ bytesPerSec: { '/disk.img': MiB / 2 } });
    const { dest } = destIn();
    const downloader = new URL('../../../src/images/download/index.js', import.meta.url).href;
    const script = `import(${JSON.stringify(downloader)}).then((m) => m.downloadFile(${JSON.stringify(`${s.url}/disk.img`)}, ${JSON.stringify(dest)}, { connections: 4, minSegmentBytes: ${MiB}, probeMs: 0 }))`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    // Killed once its saved state shows progress (it is written at most once a second).
    let saved: PartMeta | undefined;
    for (let i = 0; i < 600 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 25));
      saved = existsSync(`${dest}.part.json`)
        ? (JSON.parse(readFileSync(`${dest}.part.json`, 'utf8')) as PartMeta)
        : undefined;
      if (saved?.segments?.some((x) => x.done > 0)) break;
    }
    assert.equal(child.exitCode, null, `the download ended before it was killed (exit ${child.exitCode}): ${stderr}`);
    assert.ok(child.kill('SIGKILL'), 'killed while under way');
    await exited;
    saved = JSON.parse(readFileSync(`${dest}.part.json`, 'utf8')) as PartMeta;
    assert.ok(
      saved.segments!.some((x) => x.done > 0),
      'the killed run saved progress',
    );
    assert.ok(existsSync(`${dest}.part.lock`), 'the dead process left its lock');

    const before = s.requests.length;
    const got = await downloadFile(`${s.url}/disk.img`, dest, {
      ...SEG,
      expected: { algo: 'sha256', hex: sha256(BODY) },
    });
    assert.equal(got.sha256, sha256(BODY));
    assert.equal(got.resumed, true);
    const want = saved
      .segments!.filter((x) => x.done < x.end - x.start)
      .map((x) => `bytes=${x.start + x.done}-${x.end - 1}`);
    assert.deepEqual(ranges(s).slice(before).sort(), want.sort());
  });

  it('a first stream that runs fast stays whole; a slow one is split after its probe, and its bytes are kept', async () => {
    const s = await serve({ bytesPerSec: { '/disk.img': 4 * MiB } });
    const adaptive = { ...SEG, probeMs: 200, expected: { algo: 'sha256' as const, hex: sha256(BODY) } };
    // 4 MiB/s counts as fast here: one stream to the end.
    const whole = await downloadFile(`${s.url}/disk.img`, destIn().dest, {
      ...adaptive,
      fastStreamBytesPerSec: 2 * MiB,
    });
    assert.equal(whole.sha256, sha256(BODY));
    assert.deepEqual(ranges(s), [undefined]);
    // 4 MiB/s counts as slow: after 200 ms the rest comes in segments, from where the stream stopped.
    const lines: string[] = [];
    const split = await downloadFile(`${s.url}/disk.img`, destIn().dest, {
      ...adaptive,
      fastStreamBytesPerSec: 64 * MiB,
      log: (l) => lines.push(l),
    });
    assert.equal(split.sha256, sha256(BODY));
    assert.equal(split.resumed, false, 'nothing came from an earlier run');
    const asked = ranges(s).slice(1);
    assert.equal(asked[0], undefined, 'the split download also starts with one plain GET');
    const spans = asked.slice(1).map(
      (r) =>
        /^bytes=(\d+)-(\d+)$/
          .exec(r ?? '')!
          .slice(1)
          .map(Number) as [number, number],
    );
    assert.ok(spans.length >= 2, `segments after the first stream: ${asked.join(', ')}`);
    const kept = Math.min(...spans.map(([a]) => a));
    assert.ok(kept > 0 && kept < BODY.length / 2, `the first stream's ${kept} bytes are not asked for again`);
    // The segments cover the rest exactly once.
    for (const [i, [a]] of spans.sort((x, y) => x[0] - y[0]).entries())
      assert.equal(a, i === 0 ? kept : spans[i - 1]![1] + 1);
    assert.equal(spans.at(-1)![1], BODY.length - 1);
    assert.ok(
      lines.some((l) => /one stream runs at [\d.]+ MiB\/s: the rest \(from byte \d+\) comes in segments/.test(l)),
      lines.join('\n'),
    );
  });

  it('a server without Range support gets one plain stream', async () => {
    const s = await serve({ ranges: false });
    const { dest } = destIn();
    const got = await downloadFile(`${s.url}/disk.img`, dest, {
      ...SEG,
      expected: { algo: 'sha256', hex: sha256(BODY) },
    });
    assert.equal(got.sha256, sha256(BODY));
    assert.deepEqual(ranges(s), [undefined]);
  });

  it('a file too small for two segments, or --connections 1, is one stream too', async () => {
    const s = await serve();
    const small = await downloadFile(`${s.url}/small.img`, destIn().dest, SEG);
    assert.equal(small.sha256, sha256(SMALL));
    assert.deepEqual(ranges(s, '/small.img'), [undefined]);
    const one = await downloadFile(`${s.url}/disk.img`, destIn().dest, { ...SEG, connections: 1 });
    assert.equal(one.sha256, sha256(BODY));
    assert.deepEqual(ranges(s), [undefined]);
  });

  it('a wrong checksum fails and leaves nothing behind', async () => {
    const s = await serve();
    const { dir, dest } = destIn();
    const err = await downloadFile(`${s.url}/disk.img`, dest, {
      ...SEG,
      expected: { algo: 'sha256', hex: '0'.repeat(64) },
    }).catch((e: unknown) => e);
    assert.ok(err instanceof ImageError && err.code === 'checksum_mismatch', String(err));
    assert.deepEqual(readdirSync(dir), []);
  });

  it('cancel stops every segment at once and keeps the part for a resume', async () => {
    const s = await serve({ bytesPerSec: { '/disk.img': 1 * MiB } });
    const { dest } = destIn();
    const abort = new AbortController();
    const p = downloadFile(`${s.url}/disk.img`, dest, { ...SEG, signal: abort.signal });
    // Wait until every segment is sending, then cancel.
    for (let i = 0; i < 100 && !(ranges(s).length === SEGMENTS.length + 1 && s.active() === SEGMENTS.length); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.active(), SEGMENTS.length, 'four segments under way');
    abort.abort();
    const err = await p.catch((e: unknown) => e);
    assert.ok(err instanceof ImageError && err.code === 'cancelled', String(err));
    for (let i = 0; i < 50 && s.active() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.active(), 0, 'no segment still sending');
    const meta = JSON.parse(readFileSync(`${dest}.part.json`, 'utf8')) as PartMeta;
    assert.equal(meta.segments!.length, 4);
    assert.ok(!existsSync(`${dest}.part.lock`));
  });
});
