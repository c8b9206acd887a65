/**
 * Debian's headless Chromium driven by playwright-core, for every test that looks at a page: a fresh profile
 * per launch, and the flags that keep it off the (closed) network (see the library's env notes).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

export interface Chromium {
  browser: BrowserContext
  /** Closes the browser and removes its profile. */
  close(): Promise<void>
}

export async function launchChromium(viewport?: { width: number; height: number }): Promise<Chromium> {
  if (!existsSync(CHROMIUM)) throw new Error('Debian chromium is missing: apt-get install -y chromium (.ci/run installs it)')
  const profile = mkdtempSync(join(tmpdir(), 'tm-chromium-'))
  // A fresh profile directory per run (playwright passes it to chromium as --user-data-dir).
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, ...(viewport ? { viewport } : {}), args: FLAGS })
  return {
    browser,
    close: async () => {
      await browser.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}
