import { Option, type Command } from 'commander';
import { services } from '../services.js';
import { globals } from '../globals.js';
import { INVENTORY_FORMATS, type InventoryFormat } from '../../plan/inventory.js';

export function register(program: Command): void {
  program
    .command('inventory')
    .argument('[lab]', 'lab name (default: the only deployed lab)')
    .description(
      'print a deployed lab for other tools: Ansible inventory, containerlab topology-data.json, or ssh_config',
    )
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .addOption(new Option('-f, --format <format>', 'what to print').choices(INVENTORY_FORMATS).default('ansible'))
    .addHelpText(
      'after',
      `
Deploy writes the same files into the lab dir: inventory.yml, topology-data.json, ssh_config.

Examples:
  vmlab inventory > hosts.yml && ansible -i hosts.yml all -m ping
  vmlab inventory spine-leaf --format json | jq '.nodes | keys'
  vmlab inventory --format ssh-config >> ~/.ssh/config.d/lab`,
    )
    .action((lab: string | undefined, opts: { specs?: string; format: InventoryFormat }) => {
      const svc = services().labs;
      process.stdout.write(svc.inventory(svc.select({ lab: lab ?? globals.lab, specDir: opts.specs }), opts.format));
    });
}
