#!/usr/bin/env bash
# Every JSDoc example type-checks (deno check --doc), and the public surface is documented
# (deno doc --lint over every export path in deno.json "exports", linted together as JSR
# documents the package: a type a signature names may be exported by any of the paths).
set -euo pipefail
deno() { npx -y deno@2.9.6 "$@"; }
# shellcheck disable=SC2207
exports=($(deno eval 'console.log(Object.values(JSON.parse(Deno.readTextFileSync("deno.json")).exports).join("\n"))'))
[ "${#exports[@]}" -gt 1 ] || { echo "no exports read from deno.json" >&2; exit 1; }
deno check --doc --frozen "${exports[@]}" $(git ls-files 'lib/*.ts' 'lib/**/*.ts')
deno doc --lint "${exports[@]}"
