// The ceiling: bare Fastify routes answering fixed bytes, nothing else. BARE_ROUTES names
// a JSON file of [{path, contentType, body}] — the very bytes SmarTalk answered on its
// routes — so each comparison is same bytes, same framework, no work.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/bare', async () => ({ status: 'ok' }));
if (process.env.BARE_ROUTES) {
  for (const route of JSON.parse(readFileSync(process.env.BARE_ROUTES, 'utf8'))) {
    app.get(route.path, (_request, reply) => {
      reply.type(route.contentType).send(route.body);
    });
  }
}
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
console.log(address);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
