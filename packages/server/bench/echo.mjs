// The baseline of the server benchmark: a bare fastify that echoes a JSON body (same fastify, same
// body size, same loopback), printing {"listening": url} like dist/bin.js.
import Fastify from 'fastify'

const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 })
app.post('/echo', async (req) => req.body)
await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(JSON.stringify({ listening: `http://127.0.0.1:${app.server.address().port}` }) + '\n')
process.once('SIGTERM', () => app.close().then(() => process.exit(0)))
