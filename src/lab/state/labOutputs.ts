import { writeFileAtomic } from '../../host/atomicWrite.js';
import { ansibleInventory, topologyDataText } from '../../plan/inventory.js';
import { inventoryFile, topologyDataFile } from '../../plan/labFiles.js';
import type { LabPlan } from '../../plan/labPlan.js';
import { graphOfSpec, type TopologyGraph } from '../../plan/graph.js';
import { loadSpec } from '../../spec/loadSpec.js';

/** The lab's inventory.yml and topology-data.json (beside its ssh_config), 0600 like the rest of the lab dir. */
export function writeInventoryFiles(plan: LabPlan): void {
  writeFileAtomic(inventoryFile(plan.files.dir), ansibleInventory(plan), 0o600);
  writeFileAtomic(topologyDataFile(plan.files.dir), topologyDataText(plan), 0o600);
}

/** The graph of a spec dir, deployed or not: its images need not exist. */
export const graphOfSpecDir = (specDir: string): TopologyGraph => graphOfSpec(loadSpec(specDir));
