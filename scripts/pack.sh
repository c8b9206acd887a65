#!/usr/bin/env bash
# `npm run pack`: builds, then packs every package into packs/<scope>-<name>-<version>.tgz with pnpm pack,
# which turns workspace:* dependencies into the packages' versions. The tarballs install outside the
# workspace together (`npm install path/to/packs/*.tgz`); core alone needs only its own tarball.
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/pnpm build
rm -rf packs && mkdir packs
for p in core lab evidence server cli; do
  (cd "packages/$p" && ../../node_modules/.bin/pnpm pack --pack-destination ../../packs >/dev/null)
done
ls packs/*.tgz
