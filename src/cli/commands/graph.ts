import { Option, type Command } from 'commander';
import { services } from '../services.js';
import { globals } from '../globals.js';
import { GRAPH_FORMATS, type GraphFormat } from '../../plan/graph.js';

export function register(program: Command): void {
  program
    .command('graph')
    .argument('[lab]', 'lab name (default: the only deployed lab)')
    .description('print the topology with interface names, as Mermaid or Graphviz DOT')
    .option('-S, --specs <dir>', 'draw this spec directory (it need not be deployed)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(GRAPH_FORMATS).default('mermaid'))
    .addHelpText(
      'after',
      `
Examples:
  vmlab graph -S specs/                       Mermaid (paste into Markdown in a \`\`\`mermaid block)
  vmlab graph --format dot | dot -Tsvg > lab.svg`,
    )
    .action((lab: string | undefined, opts: { specs?: string; format: GraphFormat }) => {
      const svc = services().labs;
      const named = lab ?? globals.lab;
      const from = opts.specs && !named ? { specDir: opts.specs } : { ref: svc.select({ lab: named }) };
      process.stdout.write(svc.graph(from, opts.format));
    });
}
