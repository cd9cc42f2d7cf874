import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, enc } from '../../../lib/api.js';
import type { CatalogEntry } from '../../../lib/types.js';

export const catalogQuery = queryOptions({
  queryKey: ['catalog'],
  queryFn: () => api<CatalogEntry[]>('/catalog'),
  staleTime: 5 * 60_000,
});
export const useCatalog = () => useQuery(catalogQuery);

export function usePull() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<{ job_id: string }>(`/catalog/${enc(id)}/pull`, { method: 'POST' }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['jobs'] });
      void qc.invalidateQueries({ queryKey: ['images'] });
    },
  });
}
