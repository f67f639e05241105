#!/bin/sh
# Test exec credential plugin: counts its invocations, records its environment,
# prints an ExecCredential whose token comes from a file (never from argv).
n=$(cat "$COUNT_FILE" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$COUNT_FILE"
printf '%s\n' "$KUBERNETES_EXEC_INFO" > "$COUNT_FILE.info"
printf '%s\n' "$*" > "$COUNT_FILE.args"
api=$(printf '%s' "$KUBERNETES_EXEC_INFO" | sed -n 's/.*"apiVersion":"\([^"]*\)".*/\1/p')
token=$(cat "$(dirname "$0")/../secrets/token")
if [ -n "$EXPIRES" ]; then
  exp=",\"expirationTimestamp\":\"$EXPIRES\""
else
  exp=""
fi
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s"%s}}\n' "$api" "$token" "$exp"
