import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findQemusUnder } from '../../src/lab/processes.js';
import { tempHome, vmlab, vmlabBin } from '../helpers/cli.js';
import { baseSpec, writeSpecDir } from '../helpers/specDir.js';

/** A deploy that fails midway (a disk that never boots) stops what it started. */
describe('a failed deploy', () => {
  it('leaves no process, restores the profiles, shows why, and can be destroyed', async () => {
    const home = tempHome();
    const env = { VMLAB_HOME: home };
    const blank = join(home, 'blank.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '64M']);
    const spec = baseSpec(blank);
    for (const p of Object.values((spec.platforms as any).platforms)) (p as any).vm_boot_timeout = 4;
    (spec.topology as any).vmlab.link_port_base = 25000;
    (spec.topology as any).vmlab.console_port_base = 25100;
    (spec.topology as any).vmlab.ssh_port_base = 25200;
    const dir = writeSpecDir(spec);
    const before = readFileSync(join(dir, 'profiles', 'r1.json'), 'utf8');

    const r = await vmlab(['deploy', '-S', dir], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('3 node(s) did not come up');
    expect(r.stderr).toContain('r1: no SSH banner within vm_boot_timeout (4 s)');
    expect(r.stderr).toMatch(/next: logs are in .*\/labs\/sparse\/logs/);
    expect(findQemusUnder(join(home, 'labs', 'sparse'))).toEqual([]);
    expect(readFileSync(join(dir, 'profiles', 'r1.json'), 'utf8')).toBe(before);

    const status = JSON.parse((await vmlab(['status', '--json', 'sparse'], env)).stdout);
    expect(status.status).toBe('failed');
    // A failed lab may be deployed again right away (it fails the same way here) or destroyed.
    expect((await vmlab(['deploy', '-S', dir], env)).code).toBe(1);
    expect((await vmlab(['destroy', 'sparse'], env)).code).toBe(0);
    expect((await vmlab(['status', '--json'], env)).stdout.trim()).toBe('[]');
  }, 120_000);

  it('interrupted with Ctrl-C (SIGINT) stops what it started and exits 130', async () => {
    const home = tempHome();
    const blank = join(home, 'blank.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '64M']);
    const spec = baseSpec(blank);
    Object.assign((spec.topology as any).vmlab, { link_port_base: 25300, console_port_base: 25400, ssh_port_base: 25500 });
    const dir = writeSpecDir(spec);
    const before = readFileSync(join(dir, 'profiles', 'r1.json'), 'utf8');
    const child = spawn(vmlabBin, ['deploy', '-S', dir], { env: { ...process.env, VMLAB_HOME: home }, stdio: 'ignore' });
    const labDir = join(home, 'labs', 'sparse');
    // Wait until the VMs run, then interrupt.
    for (let i = 0; i < 100 && findQemusUnder(labDir).length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    expect(findQemusUnder(labDir)).toHaveLength(3);
    child.kill('SIGINT');
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(130);
    expect(findQemusUnder(labDir)).toEqual([]);
    expect(existsSync(join(labDir, 'lock'))).toBe(false);
    expect(readFileSync(join(dir, 'profiles', 'r1.json'), 'utf8')).toBe(before);
  }, 60_000);
});
