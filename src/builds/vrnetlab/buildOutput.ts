/**
 * Reading `make docker-image` output: the tag docker built (BuildKit:
 * `naming to docker.io/<ref> done`; classic: `Successfully tagged <ref>`)
 * and the step the build is at, for the job's detail.
 */

const BUILDKIT = /naming to (?:docker\.io\/)?(\S+?)(?:\s+done)?\s*$/;
const CLASSIC = /Successfully tagged (\S+)\s*$/;

/** The tag in one line of build output, if it names one. */
export function tagInLine(line: string): string | undefined {
  const clean = line.replace(/\x1b\[[0-9;]*m/g, '');
  const m = BUILDKIT.exec(clean) ?? CLASSIC.exec(clean);
  if (!m) return undefined;
  // BuildKit prints "naming to docker.io/library/x" for unqualified names; classic does not.
  return m[1]!.replace(/^library\//, '');
}

/** The last tag named in the output (an install phase re-tags the same name). */
export function parseBuiltTag(output: string): string | undefined {
  let tag: string | undefined;
  for (const line of output.split('\n')) tag = tagInLine(line) ?? tag;
  return tag;
}

export type BuildStep = 'make' | 'copy' | 'docker build' | 'install (VM boots under KVM)' | 'commit' | 'clean';

export interface StepUpdate {
  step: BuildStep;
  /** Within docker build: step n of m (classic `Step 3/7`, BuildKit `[3/7]`). */
  n?: number;
  of?: number;
}

/** The step a line of `make docker-image` output announces, if any. */
export function stepOf(line: string): StepUpdate | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^Step (\d+)\/(\d+) :/.exec(line))) return { step: 'docker build', n: Number(m[1]), of: Number(m[2]) };
  if ((m = /^#\d+ \[(?:[\w-]+ )?(\d+)\/(\d+)\]/.exec(line)))
    return { step: 'docker build', n: Number(m[1]), of: Number(m[2]) };
  if (
    /^Building docker image using /.test(line) ||
    /^\(cd docker; docker build /.test(line) ||
    /docker build .* -t /.test(line)
  )
    return { step: 'docker build' };
  if (/^cp .* docker\/?$/.test(line)) return { step: 'copy' };
  if (/--install\b/.test(line) && /docker run/.test(line)) return { step: 'install (VM boots under KVM)' };
  if (/^docker commit /.test(line)) return { step: 'commit' };
  if (/^--> Cleaning docker build context/.test(line)) return { step: 'clean' };
  if (/^Making /.test(line)) return { step: 'make' };
  return undefined;
}
