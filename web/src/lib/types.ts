import type { z } from 'zod';
import type {
  CatalogEntry as CatalogEntrySchema,
  ImageDetail as ImageDetailSchema,
  ImageRecord,
  JobRecord,
  LabReport,
  NodeRow,
} from '../../../src/api/schemas.js';

/*
 * What the API answers, as the UI reads it: inferred from the server's own
 * schemas (src/api/schemas.ts), so the two cannot drift apart. Type-only
 * imports: nothing of the server (or of zod) reaches the bundle.
 */

export type Job = z.infer<typeof JobRecord>;
export type Image = z.infer<typeof ImageRecord>;
export type ImageDetail = z.infer<typeof ImageDetailSchema>;
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;
export type LabNode = z.infer<typeof NodeRow>;
export type Lab = z.infer<typeof LabReport>;
