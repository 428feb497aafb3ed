#!/usr/bin/env bash
# Contract-test the running service against its own OpenAPI document with schemathesis.
#
# Usage: .ci/schemathesis.sh [path/to/shenbian]   (default: target/debug/shenbian)
#
# Starts the binary on a free port with a fresh SQLite data directory, creates an admin,
# signs in, and runs schemathesis with the admin's bearer token. Exits non-zero when
# schemathesis finds a failure. Knobs (environment):
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation (default 50)
#   SCHEMATHESIS_SEED          fix the random seed to reproduce a run
#   SCHEMATHESIS_REPORT_DIR    where the JUnit report and server log go
#                              (default target/schemathesis-report)
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
ADMIN_PHONE=13900000001
ADMIN_PASSWORD='Ci-Admin-Passw0rd!'

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=.ci/fresh_server.sh
source "$repo_root/.ci/fresh_server.sh"
resolve_bin schemathesis.sh "${1:-target/debug/shenbian}"
cd "$repo_root"

log() { printf '[schemathesis.sh] %s\n' "$*" >&2; }

# --- schemathesis in its own virtualenv --------------------------------------------------
venv=$repo_root/.venv-ci
if [[ ! -x $venv/bin/schemathesis ]] \
    || [[ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != *"$SCHEMATHESIS_VERSION"* ]]; then
    log "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION"
fi
PY=$venv/bin/python

# --- a fresh server --------------------------------------------------------------------
report_dir=${SCHEMATHESIS_REPORT_DIR:-$repo_root/target/schemathesis-report}
# schemathesis signs in with random credentials over and over; do not lock anything out
# or slow anything down.
export SHENBIAN_LOGIN_MAX_FAILURES_PER_ADDRESS=1000000
export SHENBIAN_LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS=1000000
export SHENBIAN_LOGIN_SLOW_DOWN_AFTER_FAILURES=1000000
# The admin's token must outlive the whole run.
export SHENBIAN_ACCESS_TOKEN_TTL_SECS=7200
start_fresh_server schemathesis

login_body=$(printf '{"phone":"%s","password":"%s"}' "$ADMIN_PHONE" "$ADMIN_PASSWORD")
login_answer=$(curl -sS --fail-with-body -H 'Content-Type: application/json' -d "$login_body" \
    "$base/api/v1/auth/login") || { log "sign-in failed: $login_answer"; exit 1; }
token=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' <<<"$login_answer")
[[ -n $token ]] || { log "no access_token in: $login_answer"; exit 1; }

# --- schemathesis ----------------------------------------------------------------------
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
args=(
    run "$base/openapi.json"
    --header "Authorization: Bearer $token"
    --checks "$checks"
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}"
    # Signing out would end the session the rest of the run uses. (Separate --exclude-path
    # and --exclude-method options would be OR-ed and drop every POST.)
    --exclude-name 'POST /api/v1/auth/logout'
    # A live stream answers for as long as the session lasts; tests/tests/stream.rs checks it.
    --exclude-name 'GET /api/v1/events/stream'
    --generation-database none
    --request-timeout 30
    --report junit
    --report-dir "$report_dir"
    --no-color
)
[[ -n ${SCHEMATHESIS_SEED:-} ]] && args+=(--seed "$SCHEMATHESIS_SEED")

log "schemathesis ${args[*]/$token/<token>}"
started=$SECONDS
set +e
"$venv/bin/schemathesis" "${args[@]}"
st_rc=$?
set -e
log "schemathesis finished in $((SECONDS - started)) s with exit code $st_rc (report: $report_dir)"

# A token that no longer works means the run lost its session part way (coverage gap).
me_status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base/api/v1/me" || true)
[[ $me_status == 200 ]] || log "warning: the admin token no longer works after the run (GET /api/v1/me -> $me_status)"

exit "$st_rc"
