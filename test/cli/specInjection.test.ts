import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeSpecDir } from '../helpers/specDir.js';
import { tempHome, vmlab } from '../helpers/cli.js';
import { tinyGuest } from '../helpers/tinyGuest.js';
import { assertIncludes } from '../helpers/assertions.js';

const USER_RULE = 'a user name: a letter or "_", then letters, digits, "_", "." or "-", at most 32 characters';

/**
 * The attack of issue 20 through the real CLI: a spec dir from someone
 * else whose user names carry a second ssh_config line (`ProxyCommand`
 * runs a command as whoever deploys) or an ssh option. The image is the
 * real tiny guest, so without the check the lab would boot and vmlab's
 * ssh would run the command. Now: exit 2 naming the file and field,
 * nothing booted, no lab dir, and the command never ran.
 */
describe('vmlab deploy with a spec that injects into ssh_config', () => {
  const attack = async (user: { profile?: string; platform?: string }) => {
    const image = await tinyGuest();
    const home = tempHome();
    const marker = join(mkdtempSync('/tmp/vmlab-pwn-'), 'marker');
    const inject = (u: string | undefined) => u?.replace('<marker>', marker);
    const dir = writeSpecDir({
      topology: { devices: { r1: {} }, vmlab: { name: 'pwn', ssh_port_base: 28750, console_port_base: 28760 } },
      platforms: {
        platforms: {
          tiny: {
            vm_image: image,
            vm_memory: 256,
            vm_cpus: 1,
            vm_boot_timeout: 120,
            vm_credentials: { user: inject(user.platform) ?? 'root' },
          },
        },
      },
      profiles: { r1: { platform: 'tiny', ...(user.profile ? { ssh_user: inject(user.profile) } : {}) } },
    });
    const r = await vmlab(['deploy', '-S', dir], { VMLAB_HOME: home }, 240_000);
    const marked = existsSync(marker);
    if (r.code === 0) await vmlab(['destroy', '-S', dir], { VMLAB_HOME: home });
    return { r, home, marker, marked };
  };

  // Before the check (HEAD 7ccecfd) this deploy booted r1 and the marker was made.
  it('a profile ssh_user "admin\\nProxyCommand touch <marker>": exit 2 naming file and field, never run', async () => {
    const { r, home, marker, marked } = await attack({ profile: 'admin\nProxyCommand touch <marker>' });
    assert.equal(marked, false, 'the ProxyCommand ran');
    assert.equal(r.code, 2, r.stderr);
    const given = `got "admin\\nProxyCommand touch ${marker}"`;
    assertIncludes(r.stderr, `profiles/r1.json: ssh_user: expected ${USER_RULE}, ${given}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
    assert.deepEqual(readdirSync(home), []); // no lab dir: nothing was started
  });

  it('a platform vm_credentials.user that is an ssh option: exit 2, nothing runs', async () => {
    const { r, home, marked } = await attack({ platform: '-oProxyCommand=touch <marker>' });
    assert.equal(marked, false, 'the ProxyCommand ran');
    assert.equal(r.code, 2, r.stderr);
    const field = 'platforms.json: platforms.tiny.vm_credentials.user';
    assertIncludes(r.stderr, `${field}: expected ${USER_RULE}, got "-oProxyCommand=touch`);
    assert.deepEqual(readdirSync(home), []);
  });
});
