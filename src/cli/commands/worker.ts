import type { Command } from 'commander';
import { OptionError, wholeNumberOption } from '../options.js';
import { services } from '../services.js';

/** Job kinds a worker can take, and the service that runs each. */
const KINDS = ['build', 'download'];

export function register(program: Command): void {
  program
    .command('worker')
    .description(
      "take queued jobs and run them: from Redis with VMLAB_REDIS_URL (BullMQ), else from this library's store",
    )
    .option('--kinds <list>', `comma-separated job kinds (${KINDS.join(', ')})`, KINDS.join(','))
    .addOption(
      wholeNumberOption('--concurrency <n>', 'jobs of each kind at a time', {
        unit: 'jobs',
        min: 1,
        max: 64,
        default: 1,
      }),
    )
    .addHelpText(
      'after',
      "\nA worker shares the server's library (the same VMLAB_HOME: one machine, or a shared file system),\n" +
        'streams progress and logs back through the queue, and honours cancel. Stop it with Ctrl-C:\n' +
        'running jobs finish first.\n' +
        '\nExamples:\n' +
        '  VMLAB_REDIS_URL=redis://queue.lab:6379 vmlab worker --kinds build\n' +
        '  VMLAB_REDIS_URL=redis://127.0.0.1:6379 vmlab worker --kinds build,download --concurrency 2',
    )
    .action(async (opts: { kinds: string; concurrency: number }) => {
      const kinds = [
        ...new Set(
          opts.kinds
            .split(',')
            .map((k) => k.trim())
            .filter(Boolean),
        ),
      ];
      const unknown = kinds.filter((k) => !KINDS.includes(k));
      if (!kinds.length || unknown.length) {
        const message = `--kinds: expected some of ${KINDS.join(', ')}, got "${opts.kinds}"`;
        throw new OptionError('bad_option', message, { hint: `e.g. --kinds ${KINDS.join(',')}` });
      }
      const svc = services();
      const all = { ...svc.builds.handlers(), ...svc.images.handlers() };
      // A long-running worker says when Redis goes away (and reconnects by itself).
      const queue = svc.jobs.queue((m) => process.stderr.write(`worker: ${m}\n`));
      const worker = queue.work(Object.fromEntries(kinds.map((k) => [k, all[k]!])), { concurrency: opts.concurrency });
      const where =
        queue.backend === 'redis' ? `Redis ${svc.settings.redisUrl}` : 'the library store (no VMLAB_REDIS_URL)';
      process.stdout.write(`worker ${process.pid}: taking ${kinds.join(', ')} jobs from ${where}; Ctrl-C stops\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.removeListener('SIGINT', stop);
          process.removeListener('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      process.stdout.write('worker: stopping (running jobs finish first)\n');
      await worker.close();
      await svc.jobs.close();
    });
}
