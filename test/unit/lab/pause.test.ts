import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { NodePlan } from '../../../src/plan/labPlan.js';
import type { Reporter } from '../../../src/host/reporter.js';
import { LabError } from '../../../src/lab/labError.js';
import type { LabState } from '../../../src/lab/state/labState.js';
import { withPaused } from '../../../src/lab/snapshot/pause.js';
import { qmpSocket, type QmpSocket } from '../../helpers/qmpSocket.js';

const dir = mkdtempSync(join(tmpdir(), 'vmlab-pause-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const node = (name: string) => ({ name, files: { qmp: join(dir, `${name}.qmp`) } }) as unknown as NodePlan;
const labState = (nodes: NodePlan[]) =>
  ({ name: 'lab', plan: { nodes, files: { state: join(dir, 'state.json') } }, nodes: {} }) as unknown as LabState;
const stateOnDisk = () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { paused_by?: number };

function reporter(): Reporter & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info: () => undefined, verbose: () => undefined, warn: (m: string) => void warnings.push(m) };
}

async function sockets(names: string[], refuseStop: string[] = []): Promise<QmpSocket[]> {
  return Promise.all(
    names.map((n) =>
      qmpSocket(join(dir, `${n}.qmp`), (c) => {
        const refuse = c === 'stop' && refuseStop.includes(n);
        return refuse ? { error: { class: 'GenericError', desc: 'cannot stop' } } : { return: {} };
      }),
    ),
  );
}

describe('withPaused', () => {
  it('pauses every node, records who paused, runs the work and resumes all', async () => {
    const socks = await sockets(['p1', 'p2']);
    const nodes = [node('p1'), node('p2')];
    const state = labState(nodes);
    try {
      const got = await withPaused(
        state,
        nodes,
        reporter(),
        { hint: 'h', code: 'snapshot_failed' as const },
        async () => {
          assert.equal(stateOnDisk().paused_by, process.pid);
          return 42;
        },
      );
      assert.equal(got, 42);
      for (const s of socks) assert.deepEqual(s.seen, ['stop', 'cont']);
      assert.equal(stateOnDisk().paused_by, undefined);
    } finally {
      await Promise.all(socks.map((s) => s.close()));
    }
  });

  it('resumes what it paused when a node does not pause, and says why with the code given', async () => {
    const socks = await sockets(['q1', 'q2'], ['q2']);
    const nodes = [node('q1'), node('q2')];
    let ran = false;
    try {
      const onFail = { hint: 'nothing was saved; try again', code: 'snapshot_failed' as const };
      const err = await withPaused(labState(nodes), nodes, reporter(), onFail, async () => {
        ran = true;
      }).then(
        () => assert.fail('no error'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof LabError);
      assert.equal(err.code, 'snapshot_failed');
      assert.equal(err.message, 'could not pause q2 (QMP GenericError: cannot stop)');
      assert.equal(err.hint, 'nothing was saved; try again');
      assert.equal(ran, false);
      assert.deepEqual(socks[0]!.seen, ['stop', 'cont']);
      assert.deepEqual(socks[1]!.seen, ['stop']);
    } finally {
      await Promise.all(socks.map((s) => s.close()));
    }
  });

  it('resumes the nodes the work added and warns of one that does not resume', async () => {
    const socks = await sockets(['r1', 'r2']);
    const nodes = [node('r1'), node('r2'), node('gone')];
    const rep = reporter();
    try {
      await assert.rejects(
        withPaused(labState(nodes), [nodes[0]!], rep, { hint: 'h', code: 'snapshot_failed' as const }, async (lab) => {
          lab.add(nodes[1]!);
          lab.add(nodes[2]!);
          throw new Error('work failed');
        }),
        /work failed/,
      );
      assert.deepEqual(socks[0]!.seen, ['stop', 'cont']);
      assert.deepEqual(socks[1]!.seen, ['cont']);
      assert.equal(rep.warnings.length, 1);
      const warning = /^gone: could not resume its VM \(.*\); resume it with: vmlab resume lab, or restart it$/;
      assert.match(rep.warnings[0]!, warning);
    } finally {
      await Promise.all(socks.map((s) => s.close()));
    }
  });
});
