/** Attribution reports from a bundle, in HTML, Markdown or JSON (the same model in each). */
import type { KeySchedule, WatermarkKey } from '@tokenmark/core'
import { openBundle } from '../bundle.js'
import { sha256Hex } from '../hash.js'
import { verify, type VerifyResult } from '../verify.js'
import { renderHtml } from './html.js'
import { renderMarkdown } from './markdown.js'
import { reportModel, type ReportModel, type ReproduceSources } from './model.js'

export type ReportFormat = 'html' | 'md' | 'json'
export const REPORT_FORMATS: readonly ReportFormat[] = ['html', 'md', 'json']
export const REPORT_MEDIA_TYPES: Record<ReportFormat, string> = { html: 'text/html; charset=utf-8', md: 'text/markdown; charset=utf-8', json: 'application/json' }

export interface ReportOptions {
  format?: ReportFormat
  /** When given, the bundle is verified first and the report shows the result in its chain of custody. */
  publicKey?: Uint8Array
  watermarkKey?: WatermarkKey
  /** The key schedule of a bundle with a schedule analysis: verification reruns that analysis too. */
  schedule?: KeySchedule
  /** File name shown in the chain of custody and the reproduce commands (a placeholder when absent, never a guess). */
  bundleName?: string
  /** The corpus, prompts and filter files the report was made from, for its reproduce commands. */
  sources?: ReproduceSources
}

/** The report's content model (also the JSON rendering). Opens the bundle; verifies it when publicKey is given. */
export function buildReport(bundle: Uint8Array, opts: Omit<ReportOptions, 'format'> = {}): ReportModel {
  let verification: VerifyResult | undefined
  if (opts.publicKey) verification = verify(bundle, { publicKey: opts.publicKey, watermarkKey: opts.watermarkKey, schedule: opts.schedule })
  const { body } = openBundle(bundle)
  return reportModel(body, { bundleSha256: sha256Hex(bundle), verification, bundleName: opts.bundleName, sources: opts.sources })
}

export function renderReport(bundle: Uint8Array, opts: ReportOptions = {}): string {
  const model = buildReport(bundle, opts)
  const format = opts.format ?? 'html'
  if (format === 'html') return renderHtml(model)
  if (format === 'md') return renderMarkdown(model)
  if (format === 'json') return JSON.stringify(model, null, 2) + '\n'
  throw new Error(`unknown report format ${String(format)}`)
}

export { renderHtml, renderMarkdown, reportModel, type ReportModel, type ReproduceSources }
