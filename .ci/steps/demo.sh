#!/usr/bin/env bash
# The README's first command: the main job, offline, on the embedded default sandbox.
set -euo pipefail
out=$(npx -y deno@2.9.6 task demo 2>&1)
printf '%s\n' "$out" | tail -n 25
grep -q 'AllowlistVerified=True/Verified' <<<"$out"
grep -q '^# kars egress allowlist — digest=sha256:[0-9a-f]\{64\} signer=key:[0-9a-f]\{16\}$' <<<"$out"
