import { resolve } from 'node:path';

interface ReporterEvent {
  type: string;
  data: {
    name?: string;
    file?: string;
    nesting?: number;
    message?: string;
    details?: { duration_ms?: number; passed?: boolean };
  };
}

/**
 * A node:test reporter for the runner (beside spec on stdout): one JSON line
 * per test file with its wall time (node:test reports each file as a
 * top-level test named for its path, relative on Node ≥ 22, absolute on 20),
 * and the run's counts from its closing diagnostics.
 */
export default async function* timings(source: AsyncIterable<ReporterEvent>): AsyncGenerator<string> {
  for await (const { type, data } of source) {
    if (type === 'test:complete' && data.nesting === 0 && data.file && data.name && resolve(data.name) === data.file) {
      const { duration_ms: ms = 0, passed } = data.details ?? {};
      yield JSON.stringify({ file: data.file, ms, passed: passed !== false }) + '\n';
    } else if (type === 'test:diagnostic' && data.nesting === 0 && !data.file) {
      const m = /^(tests|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(data.message ?? '');
      if (m) yield JSON.stringify({ count: m[1], n: Number(m[2]) }) + '\n';
    }
  }
}
