#!/usr/bin/env bash
# API fuzzing: schemathesis (PyPI) against /api/openapi.json of a running `ykien demo` (SQLite, demo data, an API
# token). Every operation of the document is called with generated valid and invalid inputs; the run fails on a 5xx,
# on an answer whose status, content type, headers or body the document does not describe, and on input the document
# forbids that is accepted. Not checked: that every input the schema allows is accepted (positive_data_acceptance),
# because a schema cannot say which communes, categories, waves and questionnaires exist; such input is answered
# 422 with a problem per field, as documented.
#
#   bench/api-fuzz/run.sh [ykien binary] [extra schemathesis options]
#
# Installs schemathesis into a virtualenv under target/ the first time (needs python3-venv and PyPI). Seeded, so a
# run is repeatable: SCHEMATHESIS_SEED=… for another one. Findings and runs are recorded in docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/release/ykien}
shift || true
[ -x "$bin" ] || { echo "no ykien binary at $bin: cargo build --release -p ykien, or pass its path" >&2; exit 2; }
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis>=4.3,<5'
fi
work=$(mktemp -d)
token=api-fuzz-token-0123456789abcdefghijklmnop
YKIEN_DATABASE_URL="sqlite://$work/ykien.db" YKIEN_BIND=127.0.0.1:0 YKIEN_API_TOKEN=$token YKIEN_LOG=warn \
  YKIEN_RATE_LIMITS=false \
  YKIEN_SECRET=api-fuzz-secret-0123456789abcdefghijklmnop "$bin" demo >"$work/out" 2>"$work/err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
  # The demo announces its links; the API's gives the base address.
  base=$(sed -n 's|.*API: *\(http://[^ ]*\)/api/v1/units.*|\1|p' "$work/out" | head -n 1)
  [ -n "$base" ] && break
  kill -0 $pid 2>/dev/null || { cat "$work/err" >&2; exit 1; }
  sleep 0.2
done
[ -n "${base:-}" ] || { echo "ykien demo did not start" >&2; exit 1; }
echo "ykien demo at $base"
set +e
"$venv/bin/schemathesis" run "$base/api/openapi.json" \
  --url "$base" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --seed "${SCHEMATHESIS_SEED:-20261202}" \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-100}" \
  --workers 2 \
  --no-color \
  "$@"
status=$?
set -e
if grep -qiE 'panicked|thread .* panicked' "$work/err"; then
  echo "the service panicked during the run:" >&2
  grep -iE 'panicked' "$work/err" >&2
  exit 1
fi
exit $status
