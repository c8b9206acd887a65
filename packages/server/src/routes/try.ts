/**
 * /docs/try: a small page on the server's own origin where a signed-in user (an API token with the `detect`
 * and `detail` scopes) pastes a text, picks one of the tenant's keys and sees the token view — the same
 * view, numbers and legend as `tokenmark detect --html`, rendered by the one implementation in
 * @tokenmark/evidence (tokenView, renderTokenViewFragment) behind POST /v1/view. The page and its script are
 * static, served from here (helmet's CSP allows 'self' only: no inline script, no external asset); the
 * token stays in the tab's sessionStorage and goes out only as this origin's Authorization header.
 */
import type { DetectionResult } from '@tokenmark/core'
import { renderTokenViewFragment, tokenView } from '@tokenmark/evidence'
import type { FastifyInstance } from 'fastify'
import { ServerError } from '../errors.js'
import { AUTH_ERRORS, BODY_ERRORS, errors, keyIdSchema } from '../schemas.js'

const PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tokenmark: try a text</title><link rel="icon" href="data:,">
<style>
*{box-sizing:border-box}body{font:15px/1.5 sans-serif;color:#1b1b1b;max-width:920px;margin:0 auto;padding:24px 28px}
h1{font-size:22px;margin:0 0 6px}label{display:block;margin:10px 0 4px;font-weight:bold;font-size:13px}
input,select,textarea,button{font:inherit}input,select{width:100%;padding:5px}textarea{width:100%;height:170px;padding:6px;font-family:'DejaVu Sans Mono',Menlo,monospace;font-size:13px}
button{margin-top:10px;padding:6px 16px}.row{display:flex;gap:12px}.row>div{flex:1}
#status{color:#8a1c1c;min-height:1.5em;margin:8px 0}#view{margin-top:14px}
</style></head>
<body>
<h1>Try a text</h1>
<p>Paste a text, pick one of your keys, and see which tokens matched it. Needs an API token with the <code>detect</code> and <code>detail</code> scopes; it is kept in this tab only. The API itself is described at <a href="/docs">/docs</a>.</p>
<form id="try">
<div class="row"><div><label for="token">API token</label><input id="token" type="password" autocomplete="off" placeholder="tmt_…"></div>
<div><label for="key">Key</label><select id="key"><option value="">sign in to list your keys</option></select></div></div>
<label for="text">Text</label><textarea id="text" placeholder="Paste the text to test"></textarea>
<button id="show" type="submit">Show the watermark</button>
</form>
<p id="status" role="status"></p>
<div id="view"></div>
<script src="/docs/try.js"></script>
</body></html>
`

// Plain browser JS (no build step): fills the key list, posts the text, inserts the server-rendered view.
const SCRIPT = `'use strict'
const $ = (id) => document.getElementById(id)
const status = (s) => { $('status').textContent = s }
$('token').value = sessionStorage.getItem('tokenmark-token') || ''
async function api(path, body) {
  const r = await fetch(path, { method: body ? 'POST' : 'GET', headers: Object.assign({ authorization: 'Bearer ' + $('token').value.trim() }, body ? { 'content-type': 'application/json' } : {}), body: body ? JSON.stringify(body) : undefined })
  const j = await r.json()
  if (!r.ok) throw new Error((j.error && j.error.message) || ('HTTP ' + r.status))
  return j
}
async function loadKeys() {
  const token = $('token').value.trim()
  if (!token) return
  sessionStorage.setItem('tokenmark-token', token)
  try {
    const { keys } = await api('/v1/keys')
    const sel = $('key')
    sel.textContent = ''
    for (const k of keys) {
      const o = document.createElement('option')
      o.value = k.keyId
      o.textContent = k.keyId + ' (' + k.scheme + (k.name ? ', ' + k.name : '') + ')'
      sel.appendChild(o)
    }
    status(keys.length ? '' : 'this tenant has no keys yet')
  } catch (e) { status(e.message) }
}
$('token').addEventListener('change', loadKeys)
$('try').addEventListener('submit', async (ev) => {
  ev.preventDefault()
  status('')
  try {
    const r = await api('/v1/view', { text: $('text').value, keyId: $('key').value })
    $('view').innerHTML = r.html
  } catch (e) { status(e.message) }
})
loadKeys()
`

export default async function tryRoutes(app: FastifyInstance): Promise<void> {
  const hide = { hide: true }
  app.get('/docs/try', { schema: hide }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE))
  app.get('/docs/try.js', { schema: hide }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(SCRIPT))

  app.post<{ Body: { text: string; keyId: string } }>(
    '/v1/view',
    {
      onRequest: app.requireScope('detect'),
      schema: {
        tags: ['detect'],
        operationId: 'view',
        summary: 'The token view of one text against one key: an HTML fragment (as on /docs/try and in `tokenmark detect --html`)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['text', 'keyId'],
          properties: { text: { type: 'string' }, keyId: keyIdSchema },
        },
        response: {
          200: {
            type: 'object',
            required: ['html', 'detected', 'log10P', 'tokensScored'],
            properties: { html: { type: 'string' }, detected: { type: 'boolean' }, log10P: { type: 'number' }, tokensScored: { type: 'integer' } },
          },
          ...errors(...AUTH_ERRORS, 404, ...BODY_ERRORS),
        },
      },
    },
    async (req) => {
      const auth = req.auth!
      // Per-token marks are what /v1/detect guards with the detail scope (an oracle for scrubbing): same rule.
      if (!auth.scopes.has('detail')) throw new ServerError('E_FORBIDDEN', 'the token view shows per-token marks, which need the "detail" scope')
      const key = app.keyStore.require(auth.tenantId, req.body.keyId)
      const body = await app.detector.run([{ ref: `${auth.tenantId}\0${key.keyId}`, key }], [req.body.text], { marks: true }, false)
      const result = JSON.parse(body) as DetectionResult
      return { html: renderTokenViewFragment(tokenView(req.body.text, result)), detected: result.detected, log10P: result.log10P, tokensScored: result.tokensScored }
    },
  )
}
