import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { cloudInitFiles } from '../../cloudinit/cloudConfig.js';
import { writeSeedIso } from '../../cloudinit/seedImage.js';
import type { LabPlan, NodePlan } from '../../plan/labPlan.js';

/** The user's own public keys (~/.ssh/*.pub), for nodes whose profile asks for them. */
function userPublicKeys(): string[] {
  const dir = join(homedir(), '.ssh');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.pub'))
    .map((f) => readFileSync(join(dir, f), 'utf8').trim())
    .filter(Boolean);
}

/** Write a node's NoCloud seed: hostname, default user with sudo and the lab key, its host key. */
export async function writeNodeSeed(plan: LabPlan, node: NodePlan, created: string): Promise<void> {
  if (!node.seed) return;
  mkdirSync(dirname(node.seed.path), { recursive: true });
  const extra = node.seed.extra ?? {};
  const files = cloudInitFiles({
    hostname: node.name,
    user: node.seed.user,
    authorizedKeys: [
      readFileSync(plan.files.labKeyPub, 'utf8').trim(),
      ...(extra.ssh_import_user_keys ? userPublicKeys() : []),
    ],
    hostKey: {
      private: readFileSync(node.files.hostKey, 'utf8'),
      public: readFileSync(`${node.files.hostKey}.pub`, 'utf8').trim(),
    },
    instanceId: `vmlab-${plan.name}-${node.name}-${created.replace(/[^0-9]/g, '')}`,
    mgmtMac: node.nics[0]!.mac,
    ...(node.deviceType === 'host' ? { host: true } : {}),
    ...(extra.packages ? { packages: extra.packages } : {}),
    ...(extra.runcmd ? { runcmd: extra.runcmd } : {}),
  });
  await writeSeedIso(files, node.seed.path);
}
