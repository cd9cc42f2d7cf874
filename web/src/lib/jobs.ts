/** Jobs are what every feature starts and follows: their queries are shared, here. */
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, enc } from './api.js';
import type { Job } from './types.js';

export const jobsQuery = queryOptions({
  queryKey: ['jobs'],
  queryFn: () => api<Job[]>('/jobs?limit=200'),
  refetchInterval: 3000,
});
export const useJobs = () => useQuery(jobsQuery);

export function useCancelJob() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<{ outcome: string }>(`/jobs/${enc(id)}/cancel`, { method: 'POST' }),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['jobs'] }),
  });
}
