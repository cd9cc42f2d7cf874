import { run } from '../host/subprocess.js';
import { whichBinary } from '../host/which.js';
import { BuildError } from './buildError.js';

/**
 * Docker as users have it: the `docker` CLI on PATH, talking to whatever
 * DOCKER_HOST (or its context) names. vmlab never opens the socket itself.
 */
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Rejects only when docker cannot be started (as spawn would); a timeout is a SIGTERM, as spawn's `timeout` was. */
async function docker(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<Run> {
  const r = await run(['docker', ...args], { env, timeoutMs, kill: { signal: 'SIGTERM' } });
  if (r.spawnError) throw r.spawnError;
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

const where = (env: NodeJS.ProcessEnv) =>
  env.DOCKER_HOST ? `DOCKER_HOST=${env.DOCKER_HOST}` : 'the default Docker socket (DOCKER_HOST is not set)';

/** The daemon's version; a clear error when the CLI is missing or the daemon does not answer. */
export async function dockerServerVersion(env: NodeJS.ProcessEnv): Promise<string> {
  if (!whichBinary('docker', env))
    throw new BuildError('docker_missing', 'the docker CLI is not on PATH: vrnetlab builds run docker', {
      hint: 'install Docker (Debian: apt-get install docker.io) or put the docker CLI on PATH',
    });
  const r = await docker(['version', '--format', '{{.Server.Version}}'], env, 15_000);
  const version = r.stdout.trim();
  if (r.code !== 0 || !version) {
    const why = r.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${r.code}`;
    throw new BuildError('docker_unreachable', `the Docker daemon at ${where(env)} does not answer: ${why}`, {
      hint: 'start dockerd (or point DOCKER_HOST at a running one) and check with: docker version',
    });
  }
  return version;
}

export interface DockerImageFacts {
  id: string;
  size: number;
}

/** `docker image inspect`: undefined when there is no such image. */
export async function inspectDockerImage(ref: string, env: NodeJS.ProcessEnv): Promise<DockerImageFacts | undefined> {
  const r = await docker(['image', 'inspect', '--format', '{{.Id}} {{.Size}}', ref], env);
  if (r.code !== 0) {
    if (/no such image/i.test(r.stderr)) return undefined;
    throw new BuildError(
      'docker_unreachable',
      `docker image inspect ${ref} failed: ${r.stderr.trim() || `exit ${r.code}`}`,
      { hint: 'check the daemon: docker version' },
    );
  }
  const [id, size] = r.stdout.trim().split(' ');
  return { id: id!, size: Number(size) };
}

/** Remove a Docker image; one already gone is fine. */
export async function removeDockerImage(ref: string, env: NodeJS.ProcessEnv): Promise<'removed' | 'absent'> {
  const r = await docker(['image', 'rm', ref], env);
  if (r.code === 0) return 'removed';
  if (/no such image/i.test(r.stderr)) return 'absent';
  throw new BuildError('docker_rm_failed', `docker image rm ${ref} failed: ${r.stderr.trim() || `exit ${r.code}`}`, {
    hint: 'a container may still use it: docker ps -a --filter ancestor=' + ref,
  });
}

/** `docker rm -f`, best effort (a container an install phase left behind after a cancel). */
export async function removeContainer(id: string, env: NodeJS.ProcessEnv): Promise<void> {
  await docker(['rm', '-f', id], env).catch(() => undefined);
}
