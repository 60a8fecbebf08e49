// A real npm registry (Verdaccio) on 127.0.0.1, on a free port, for the registry consumer test. It keeps its packages
// in <dir>/storage and has no uplinks: it serves only what is published to it and never reaches another registry.
// Anyone may publish (the npm client still wants a token; any token will do). Prints {"url": ...} once listening.
//   node registry-server.mjs <dir>
import { join } from 'node:path';
import { runServer } from 'verdaccio';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node registry-server.mjs <storage dir>');
const app = await runServer({
  self_path: join(dir, 'config.yaml'),
  storage: join(dir, 'storage'),
  auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: -1 } },
  uplinks: {},
  packages: { '**': { access: '$all', publish: '$all', unpublish: '$all' } },
  web: { enable: false },
  log: { type: 'stdout', format: 'pretty', level: 'error' },
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}/` })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'])
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // npm keeps its connections alive
  });
