import { VmlabError } from '../errors/vmlabError.js';

/** One problem found in a spec: where it is and what to do about it. */
export interface SpecIssue {
  /** File the problem is in, as the user would name it (relative to the spec dir when possible). */
  file: string;
  /** JSON path inside the file, e.g. `links[2].z`; empty for the whole file. */
  path: string;
  message: string;
  /** What the user should do next. */
  hint?: string;
}

export function formatIssue(issue: SpecIssue): string {
  const where = issue.path ? `${issue.file}: ${issue.path}` : issue.file;
  return `${where}: ${issue.message}${issue.hint ? `\n    fix: ${issue.hint}` : ''}`;
}

/**
 * Bad input: every problem found, reported at once. The CLI prints the
 * message and exits 2; nothing has been started when this is thrown.
 */
export class SpecError extends VmlabError {
  readonly issues: SpecIssue[];

  constructor(issues: SpecIssue[]) {
    super(
      'spec_invalid',
      issues.length === 1
        ? formatIssue(issues[0]!)
        : `${issues.length} problems in the spec:\n` + issues.map((i) => '  ' + formatIssue(i)).join('\n'),
      { kind: 'input', details: issues },
    );
    this.issues = issues;
  }
}

/** Collects issues while a loader or planner walks its input. */
export class IssueList {
  readonly items: SpecIssue[] = [];
  add(file: string, path: string, message: string, hint?: string): void {
    this.items.push(hint === undefined ? { file, path, message } : { file, path, message, hint });
  }
  get empty(): boolean {
    return this.items.length === 0;
  }
  throwIfAny(): void {
    if (this.items.length > 0) throw new SpecError(this.items);
  }
}

/** `a.b[2].c` from a path array. */
export function jsonPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_$][\w$-]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}
