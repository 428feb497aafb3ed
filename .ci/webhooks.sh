#!/usr/bin/env bash
# Webhook deliveries verified by an implementation other than the server's: the Python
# `standardwebhooks` package from PyPI. A demo server (`shenbian demo`) delivers a partner's
# events to a receiver in .ci/webhook_receiver.py, which verifies every request's
# signature with that package and fails unless each one verifies.
#
# Usage: .ci/webhooks.sh [path/to/shenbian]   (default: target/debug/shenbian)
set -euo pipefail

STANDARDWEBHOOKS_VERSION=1.0.1

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=.ci/fresh_server.sh
source "$repo_root/.ci/fresh_server.sh"
resolve_bin webhooks.sh "${1:-target/debug/shenbian}"
cd "$repo_root"

log() { printf '[webhooks.sh] %s\n' "$*" >&2; }

venv=$repo_root/.venv-webhooks
if ! "$venv/bin/python" -c "import standardwebhooks" 2>/dev/null; then
    log "installing standardwebhooks $STANDARDWEBHOOKS_VERSION into $venv"
    [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "standardwebhooks==$STANDARDWEBHOOKS_VERSION"
fi

report_dir=${WEBHOOKS_REPORT_DIR:-$repo_root/target/webhooks-report}
# The receiver listens on 127.0.0.1, which deliveries refuse unless told otherwise.
export SHENBIAN_WEBHOOK_ALLOW_PRIVATE_TARGETS=true
FRESH_SERVER_SETUP=demo start_fresh_server webhooks

"$venv/bin/python" .ci/webhook_receiver.py "$base/api/v1" | tee "$report_dir/webhooks.out"
