#!/usr/bin/env bash
# Runs the README's walk-through ("An order from start to finish") as it stands: the fenced
# block after the `<!-- walkthrough -->` marker, against a fresh server filled by
# `shenbian demo`. Proof that a newcomer can take and finish an order with the README alone.
#
# Usage: .ci/walkthrough.sh [path/to/shenbian]   (default: target/debug/shenbian)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=.ci/fresh_server.sh
source "$repo_root/.ci/fresh_server.sh"
resolve_bin walkthrough.sh "${1:-target/debug/shenbian}"
cd "$repo_root"

log() { printf '[walkthrough.sh] %s\n' "$*" >&2; }

report_dir=${WALKTHROUGH_REPORT_DIR:-$repo_root/target/walkthrough-report}
FRESH_SERVER_SETUP=demo start_fresh_server walkthrough

awk '/^<!-- walkthrough -->$/ { marked = 1; next }
     marked && /^```sh$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' README.md >"$tmp/walkthrough.sh"
[[ -s $tmp/walkthrough.sh ]] || { log "no walk-through block in README.md"; exit 1; }

log "running the README's walk-through against $base"
API=$base/api/v1 bash -euo pipefail "$tmp/walkthrough.sh" | tee "$report_dir/walkthrough.out"
grep -q '^closed$' "$report_dir/walkthrough.out" || { log "the order did not end closed"; exit 1; }
log "the walk-through took an order from start to finish"
