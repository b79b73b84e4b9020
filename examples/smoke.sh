#!/usr/bin/env bash
# Smoke test: pipe JSON-RPC lines into the sidecar and print what comes back.
# Run from the repository root after `npm install` (which builds dist/):
#   bash examples/smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
sidecar=(node bin/acp-sessions.js) # or: npx acp-sessions

echo "# 1. One pipe, closed at the end: every line is answered in order, then the sidecar exits 0."
printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}' \
  '{"jsonrpc":"2.0","id":2,"method":"session/new","params":{"cwd":"/tmp/smoke","title":"smoke test"}}' \
  '{"jsonrpc":"2.0","id":3,"method":"session/list","params":{"cwd":"/tmp/smoke"}}' \
  'this line is not JSON' \
  '{"jsonrpc":"2.0","id":4,"method":"session/get","params":{"sessionId":"no-such-session"}}' |
  "${sidecar[@]}"

echo
echo "# 2. A conversation: the session id from session/new is used by the requests after it."
coproc SIDECAR { "${sidecar[@]}"; }
send() { printf '%s\n' "$1" >&"${SIDECAR[1]}"; }
# Prints every line up to and including the response with the given id (notifications come first).
receive() {
  local line
  while IFS= read -r line <&"${SIDECAR[0]}"; do
    printf '%s\n' "$line"
    [[ $line == *"\"id\":$1,"* ]] && return 0
  done
  return 1
}

send '{"jsonrpc":"2.0","id":1,"method":"session/new","params":{"cwd":"/tmp/smoke"}}'
created=$(receive 1)
printf '%s\n' "$created"
session_id=$(sed -n 's/.*"sessionId":"\([^"]*\)".*/\1/p' <<<"$created")

send '{"jsonrpc":"2.0","id":2,"method":"session/update","params":{"sessionId":"'"$session_id"'","messages":[{"messageId":"q1","role":"user","content":"hello"},{"messageId":"a1","role":"assistant","content":"hi there"}]}}'
receive 2
send '{"jsonrpc":"2.0","id":3,"method":"session/get","params":{"sessionId":"'"$session_id"'","limit":1}}'
receive 3
send '{"jsonrpc":"2.0","id":4,"method":"session/load","params":{"sessionId":"'"$session_id"'","cwd":"/tmp/smoke","mcpServers":[]}}'
receive 4
send '{"jsonrpc":"2.0","id":5,"method":"session/delete","params":{"sessionId":"'"$session_id"'"}}'
receive 5

exec {SIDECAR[1]}>&- # close the sidecar's stdin: it finishes and exits 0
wait "$SIDECAR_PID"
echo "# sidecar exited with status $?"
