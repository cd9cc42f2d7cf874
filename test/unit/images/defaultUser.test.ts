import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { imageFactsResolver } from '../../../src/service/imageFacts.js';
import { storeHandle } from '../../../src/store/database.js';
import { openStore, storePath } from '../../../src/store/database.js';
import { ImageStore } from '../../../src/store/imageStore.js';
import { LIBRARY_PREFIX } from '../../../src/plan/resolveNode.js';

/**
 * A library record's default_user becomes the cloud-init user and the
 * ssh_config User of every node on the image. The API refuses a bad one
 * (test/api/images); a store edited behind vmlab's back is refused here.
 */
const root = mkdtempSync(join(tmpdir(), 'vmlab-defuser-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe("a library image's default_user", () => {
  it('reaches the planner only when it is a plain user name', async () => {
    const file = join(root, 'disk.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '16M']);
    const store = new ImageStore(openStore(storePath(root)));
    const add = (name: string, user: string) =>
      store.add({
        name,
        source_type: 'file',
        source: file,
        path: file,
        format: 'qcow2',
        status: 'ready',
        cloud_init: 1,
        default_user: user,
      });
    add('good', 'debian');
    add('evil', 'debian\nProxyCommand touch /tmp/pwned');
    const facts = await imageFactsResolver(storeHandle(root))([`${LIBRARY_PREFIX}good`, `${LIBRARY_PREFIX}evil`]);
    assert.deepEqual(facts[`${LIBRARY_PREFIX}good`]!.cloudInit, { user: 'debian' });
    const evil = facts[`${LIBRARY_PREFIX}evil`]!;
    assert.equal(evil.cloudInit, undefined);
    assert.match(
      evil.problem ?? '',
      /library image "evil" has default_user "debian\\nProxyCommand touch \/tmp\/pwned", not a user name/,
    );
  });
});
