import type { FastifyError, FastifyInstance, FastifySchemaCompiler } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodType, core } from 'zod';
import { HTTP_STATUS, VmlabError, type ErrorBody } from '../../errors/vmlabError.js';
import { HttpError } from '../httpError.js';
import { jsonPath } from '../../spec/specError.js';

/** One problem with a request, where it is: `{ in: "body", path: "topology.devices.r1", message }`. */
export interface RequestIssue {
  in: string;
  path: string;
  message: string;
}

/** Each problem with its JSON path; an unknown key is named in the path, not only in the message. */
export function issuesAt(where: string, issues: readonly core.$ZodIssue[]): RequestIssue[] {
  return issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ in: where, path: jsonPath([...i.path, k]), message: 'unknown field' }))
      : [{ in: where, path: jsonPath(i.path), message: i.message }],
  );
}

/** A request that failed its schema: carries every zod issue (the validator compiler below makes these). */
class RequestInvalid extends Error {
  validationContext?: string;
  constructor(readonly issues: core.$ZodIssue[]) {
    super('the request does not match its schema');
  }
}

/**
 * Validate with zod ourselves (not through the type provider's compiler)
 * so a 422 names each problem by JSON path, the way spec errors do.
 */
export const zodValidatorCompiler: FastifySchemaCompiler<ZodType> =
  ({ schema }) =>
  (data) => {
    const r = schema.safeParse(data);
    return r.success ? { value: r.data } : { error: new RequestInvalid(r.error.issues) };
  };

const FASTIFY_CODES: Record<number, string> = {
  400: 'malformed_request',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  413: 'too_large',
  415: 'unsupported_media_type',
};

/** The status and body for any error a route throws; `internal` is true for those we must not describe. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof HttpError) return { status: err.status, body: err.toBody(), internal: false };
  if (err instanceof VmlabError) return { status: HTTP_STATUS[err.kind], body: err.toBody(), internal: false };
  const e = err as FastifyError & { validationContext?: string };
  if (e instanceof RequestInvalid) {
    const where = e.validationContext ?? 'body';
    const details = issuesAt(where, e.issues);
    const message = `invalid ${where}: ${details
      .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
      .join('; ')}`;
    return {
      status: 422,
      body: { code: 'invalid_request', message, hint: 'see the route in /api/v1/openapi.json', details },
      internal: false,
    };
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500)
    return { status, body: { code: FASTIFY_CODES[status] ?? 'bad_request', message: e.message }, internal: false };
  return {
    status: 500,
    body: {
      code: 'internal',
      message: 'internal error: the server log has the details',
      hint: 'report it with the server log',
    },
    internal: true,
  };
}

/**
 * Errors are data: a VmlabError's kind decides the status (input 422,
 * not_found 404, conflict 409, failure 500); a schema failure is 422 with
 * every problem and its JSON path; Fastify's own 4xx (bad JSON, too large)
 * keep their status; anything else is a generic 500, logged with its stack.
 */
export default fp(async function errors(app: FastifyInstance) {
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setErrorHandler((err, req, reply) => {
    const { status, body, internal } = errorResponse(err);
    if (internal) req.log.error({ err }, 'unexpected error');
    else if (status >= 500) req.log.warn({ code: body.code, msg: body.message }, 'request failed');
    return reply.code(status).type('application/json').send({ error: body });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: {
        code: 'route_not_found',
        message: `no route ${req.method} ${req.url.split('?')[0]}`,
        hint: 'see /api/v1/openapi.json',
      },
    }),
  );
});
