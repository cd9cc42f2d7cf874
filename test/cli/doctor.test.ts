import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { after, describe, it } from 'node:test';
import { tempHome, vmlab } from '../helpers/cli.js';
import { writeSpecDir } from '../helpers/specDir.js';

/** `vmlab doctor`'s capacity section, read from this host. */
describe('vmlab doctor: capacity', () => {
  const home = tempHome();
  const env = { VMLAB_HOME: home, VMLAB_ACCEL: 'tcg' };
  after(() => rmSync(home, { recursive: true, force: true }));

  it('reports cores, memory, load and how many nodes of each size fit', async () => {
    const r = await vmlab(['doctor', '--json'], env, 60_000);
    const c = JSON.parse(r.stdout).capacity;
    assert.equal(c.cores, availableParallelism());
    assert.equal(c.max_parallel, availableParallelism()); // TCG: one booting node per core
    const avail = Number(/^MemAvailable:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024;
    assert.ok(Math.abs(c.mem_available_mb - avail) < avail * 0.2, `${c.mem_available_mb} vs ${avail}`);
    assert.equal(c.load.length, 3);
    assert.deepEqual(
      c.fits.map((f: { what: string }) => f.what),
      ['128 MiB', '512 MiB', '1024 MiB', '2048 MiB', '4096 MiB', '8192 MiB'],
    );
    for (const f of c.fits) assert.equal(f.nodes, Math.floor(c.mem_available_mb / f.per_node_mb));
    assert.ok(c.fits[0].per_node_mb > 128);
  });

  it('with -S, for each platform of the spec (vm_memory, else the 4096 MiB default), in words too', async () => {
    const dir = writeSpecDir({
      topology: { devices: { a: {} } },
      platforms: { platforms: { small: { vm_image: '/x.qcow2', vm_memory: 256 }, big: { vm_image: '/y.qcow2' } } },
    });
    const j = JSON.parse((await vmlab(['doctor', '-S', dir, '--json'], env, 60_000)).stdout).capacity;
    assert.deepEqual(
      j.fits.map((f: { what: string; memory_mb: number }) => [f.what, f.memory_mb]),
      [
        ['small', 256],
        ['big', 4096],
      ],
    );
    const text = (await vmlab(['doctor', '-S', dir], env, 60_000)).stdout;
    assert.match(
      text,
      new RegExp(
        `^capacity\\n  ${availableParallelism()} cores, \\d+ of \\d+ MiB memory available, load [\\d.]+ [\\d.]+ [\\d.]+; deploy boots \\d+ node\\(s\\) at a time$`,
        'm',
      ),
    );
    assert.match(text, / node\(s\) of small fit \(\d+ MiB each with QEMU\)/);
  });
});
