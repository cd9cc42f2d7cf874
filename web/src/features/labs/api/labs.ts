import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, enc } from '../../../lib/api.js';
import type { CatalogEntry, Image, Lab } from '../../../lib/types.js';
import type { InlineSpec } from '../../../lib/wizardSpec.js';

export const labsQuery = queryOptions({
  queryKey: ['labs'],
  queryFn: () => api<Lab[]>('/labs'),
  refetchInterval: 5000,
});
export const useLabs = () => useQuery(labsQuery);

export const labQuery = (name: string) =>
  queryOptions({ queryKey: ['labs', name], queryFn: () => api<Lab>(`/labs/${enc(name)}`), refetchInterval: 3000 });
export const useLab = (name: string) => useQuery(labQuery(name));

function useLabMutation<A, R>(fn: (a: A) => Promise<R>) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: ['labs'] });
      void qc.invalidateQueries({ queryKey: ['jobs'] });
    },
  });
}

export const useDeploy = () =>
  useLabMutation((body: { spec_dir: string } | InlineSpec) =>
    api<{ job_id: string; lab: string }>('/labs', { method: 'POST', body }),
  );
export const useDestroy = () =>
  useLabMutation((lab: string) => api<{ stopped: string[] }>(`/labs/${enc(lab)}`, { method: 'DELETE' }));
export const useNodeAction = () =>
  useLabMutation(({ lab, node, action }: { lab: string; node: string; action: 'stop' | 'start' }) =>
    api<{ node: string }>(`/labs/${enc(lab)}/nodes/${enc(node)}/${action}`, {
      method: 'POST',
      ...(action === 'stop' ? { body: { timeout_sec: 10 } } : {}),
    }),
  );

/** The library's ready images, for the wizard (same cache entry as the images feature's list). */
export const useReadyImages = () =>
  useQuery({
    queryKey: ['images'],
    queryFn: () => api<Image[]>('/images'),
    select: (l) => l.filter((i) => i.status === 'ready'),
  });

/** The catalog, for the wizard's "download first" choices (same cache entry as the images feature's). */
export const useCatalogEntries = () =>
  useQuery({ queryKey: ['catalog'], queryFn: () => api<CatalogEntry[]>('/catalog'), staleTime: 5 * 60_000 });

export const usePullMany = () =>
  useMutation({
    mutationFn: (ids: string[]) =>
      Promise.all(
        ids.map((id) =>
          api<{ job_id: string }>(`/catalog/${enc(id)}/pull`, { method: 'POST' }).then((r) => ({
            id,
            jobId: r.job_id,
          })),
        ),
      ),
  });
