#!/usr/bin/env bash
# One-shot set-up on a machine with Node 20 and npm: installs the pinned pnpm and every workspace
# dependency from the lockfile, then builds. better-sqlite3 compiles from source against Node's
# own headers, which Debian's nodejs ships under /usr/include/node.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${npm_config_nodedir:-}" ] && [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi
npx --yes pnpm@12.4.2 install --frozen-lockfile
node_modules/.bin/pnpm build
