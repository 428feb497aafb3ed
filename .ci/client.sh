#!/usr/bin/env bash
# Generate a Python client from the running service's /openapi.json and drive a life cycle
# with it: proof that the document makes a working client, not only a valid document.
#
# Usage: .ci/client.sh [path/to/shenbian]   (default: target/debug/shenbian)
#
# Starts the binary on a free port with a fresh SQLite data directory, creates an admin,
# generates the client with openapi-python-client (any error or warning fails the step),
# installs it and runs .ci/client_life_cycle.py against the server. Knobs (environment):
#   CLIENT_REPORT_DIR   where the document, the generator's output and the server log go
#                       (default target/client-report)
set -euo pipefail

OPENAPI_PYTHON_CLIENT_VERSION=0.29.1
ADMIN_PHONE=13900000001
ADMIN_PASSWORD='Ci-Admin-Passw0rd!'

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=.ci/fresh_server.sh
source "$repo_root/.ci/fresh_server.sh"
resolve_bin client.sh "${1:-target/debug/shenbian}"
cd "$repo_root"

log() { printf '[client.sh] %s\n' "$*" >&2; }

# --- openapi-python-client in its own virtualenv -----------------------------------------
# The generator runs ruff on what it writes; ruff comes with it and must be on PATH.
venv=$repo_root/.venv-client
if [[ ! -x $venv/bin/openapi-python-client ]] \
    || [[ "$("$venv/bin/openapi-python-client" --version 2>/dev/null)" != *"$OPENAPI_PYTHON_CLIENT_VERSION"* ]]; then
    log "installing openapi-python-client $OPENAPI_PYTHON_CLIENT_VERSION into $venv"
    [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "openapi-python-client==$OPENAPI_PYTHON_CLIENT_VERSION"
fi
export PATH=$venv/bin:$PATH

# --- a fresh server --------------------------------------------------------------------
report_dir=${CLIENT_REPORT_DIR:-$repo_root/target/client-report}
start_fresh_server client

# --- generate the client ---------------------------------------------------------------
curl -sS --fail-with-body -o "$tmp/openapi.json" "$base/openapi.json"
cp "$tmp/openapi.json" "$report_dir/openapi.json"

log "openapi-python-client generate"
set +e
(cd "$tmp" && openapi-python-client generate --path openapi.json --output-path client --overwrite) \
    >"$tmp/generate.out" 2>&1
gen_rc=$?
set -e
cp "$tmp/generate.out" "$report_dir/generate.out"
cat "$tmp/generate.out" >&2
# A clean run says only "Generating <dir>"; anything else is a warning or an error.
noise=$(grep -v -e '^Generating ' -e '^[[:space:]]*$' "$tmp/generate.out" || true)
if ((gen_rc != 0)) || [[ -n $noise ]] || [[ ! -f $tmp/client/pyproject.toml ]]; then
    log "the client generator reported errors or warnings (exit code $gen_rc); see above"
    exit 1
fi
log "client generated with no error and no warning"

# --- install it and drive a life cycle -------------------------------------------------
"$venv/bin/python" -m pip uninstall --quiet --yes shenbian-api-client >/dev/null 2>&1 || true
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$tmp/client"

log "driving a life cycle through the generated client"
SHENBIAN_BASE_URL=$base SHENBIAN_ADMIN_PHONE=$ADMIN_PHONE SHENBIAN_ADMIN_PASSWORD=$ADMIN_PASSWORD \
    "$venv/bin/python" "$repo_root/.ci/client_life_cycle.py"
log "the generated client drove the life cycle"
