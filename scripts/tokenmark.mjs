#!/usr/bin/env node
// `npm run tokenmark -- <command>`: npm runs package scripts from the repository root, but the paths on the
// command line are the caller's, so the CLI starts in the folder npm was called from (INIT_CWD, which npm
// and pnpm both set) — `npm run tokenmark -- detect --key ../provider.tmkey x.txt` means what it says.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD)
await import('../packages/cli/dist/main.js')
