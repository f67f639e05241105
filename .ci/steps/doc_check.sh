#!/usr/bin/env bash
# Every JSDoc example type-checks (deno check --doc), and the public surface is documented
# (deno doc --lint on each export path).
set -euo pipefail
deno() { npx -y deno@2.9.6 "$@"; }
deno check --doc --frozen mod.ts cli.ts $(git ls-files 'lib/*.ts' 'lib/**/*.ts')
deno doc --lint mod.ts cli.ts
