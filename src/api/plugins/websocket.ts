import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** WebSocket routes (the serial consoles); frames up to 1 MiB. */
export default fp(async function ws(app: FastifyInstance) {
  await app.register(websocket, { options: { maxPayload: 1 << 20 } });
});
