import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Name, errors } from '../schemas.js';
import type { ConsoleTarget } from '../consoleHub.js';

/**
 * The serial console of a running node over a WebSocket: binary frames
 * both ways, raw bytes; any number of viewers share the node's one
 * connection (see ConsoleHub): the node's private unix socket, which the
 * server can open because it runs as the lab's owner.
 */
const consoleRoute: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/labs/:lab/nodes/:node/console',
    {
      websocket: true,
      schema: {
        operationId: 'nodeConsole',
        tags: ['labs'],
        summary:
          'WebSocket: the raw serial console of a running node, both ways (binary frames); several viewers at once',
        description:
          'Upgrade to a WebSocket. Frames from the server are what the guest printed; ' +
          'frames to it are typed into the guest. ' +
          'The server reaches the console through the node unix socket, ' +
          'which only the owner of the lab (the user the server runs as) can open; ' +
          'a lab with console_tcp listens on 127.0.0.1:<console_port> instead. Closed with 1011 when the node stops. ' +
          '409 (as an HTTP answer before the upgrade) when the node is not running. ' +
          'While the server holds a console, `vmlab console` refuses with a clear error naming the server ' +
          '(a marker file beside the QMP socket).',
        params: z.object({ lab: Name, node: Name }),
        response: { 101: z.null().describe('switching to the WebSocket protocol'), ...errors(404, 409) },
      },
      // Refuse before the upgrade, so a client sees 404/409 with the usual body.
      preValidation: async (req) => {
        const { lab, node } = req.params as { lab: string; node: string };
        const target = app.services.access.consoleAddress(app.services.labs.ref(lab), node);
        (req as unknown as { console: ConsoleTarget }).console = target;
      },
    },
    async (socket, req) => {
      const { lab, node } = req.params;
      const target = (req as unknown as { console: ConsoleTarget }).console;
      try {
        const hold = () => app.services.access.holdConsole(app.services.labs.ref(lab), node);
        await app.consoles.attach(`${lab}/${node}`, target, socket, hold);
      } catch (err) {
        req.log.warn({ err: (err as Error).message }, 'console not reachable');
        socket.close(1011, 'the console is not reachable (is the node running?)');
      }
    },
  );
};
export default consoleRoute;
