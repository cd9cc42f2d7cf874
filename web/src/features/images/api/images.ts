import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, enc } from '../../../lib/api.js';
import type { Image, ImageDetail } from '../../../lib/types.js';

export const imagesQuery = queryOptions({
  queryKey: ['images'],
  queryFn: () => api<Image[]>('/images'),
  refetchInterval: 5000,
});
export const useImages = () => useQuery(imagesQuery);

/** The labs an image is used by (only the detail route knows). */
export const useImageDetail = (ref: string) =>
  useQuery({ queryKey: ['images', ref], queryFn: () => api<ImageDetail>(`/images/${enc(ref)}`), staleTime: 10_000 });

function useInvalidating<A, R>(fn: (a: A) => Promise<R>) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: ['images'] });
      void qc.invalidateQueries({ queryKey: ['jobs'] });
    },
  });
}

export const useDeleteImage = () =>
  useInvalidating((ref: string) => api<Image>(`/images/${enc(ref)}`, { method: 'DELETE' }));
export const useVerifyImage = () =>
  useInvalidating((ref: string) => api<{ sha256: string }>(`/images/${enc(ref)}/verify`, { method: 'POST' }));
export const useImportImage = () =>
  useInvalidating((b: { url: string; name?: string; checksum?: string }) =>
    api<{ job_id: string }>('/images/import', { method: 'POST', body: b }),
  );
/** Build the vrnetlab Docker image of a network-device disk: 202 with the build job, or the server's refusal. */
export const useBuildDocker = () =>
  useInvalidating((ref: string) => api<{ job_id: string }>(`/images/${enc(ref)}/build-docker`, { method: 'POST' }));
