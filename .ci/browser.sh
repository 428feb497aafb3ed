#!/usr/bin/env bash
# The web front in a real browser: Debian's chromium (with fonts-wqy-microhei for Chinese
# glyphs) driven by Playwright for Python from PyPI, against a demo server
# (`shenbian demo`), with axe-core from npm checking each page. Screenshots of every page at
# 375 and 1280 px go to the report directory. With FRESH_SERVER_PG set, on a fresh
# PostgreSQL database.
#
# Usage: .ci/browser.sh [path/to/shenbian]   (default: target/debug/shenbian)
set -euo pipefail

PLAYWRIGHT_VERSION=1.65.3
AXE_VERSION=4.14.1

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=.ci/fresh_server.sh
source "$repo_root/.ci/fresh_server.sh"
resolve_bin browser.sh "${1:-target/debug/shenbian}"
cd "$repo_root"

log() { printf '[browser.sh] %s\n' "$*" >&2; }

if [[ ! -x /usr/bin/chromium ]] || ! fc-list | grep -qi "WenQuanYi Micro Hei"; then
    log "installing chromium and fonts-wqy-microhei from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends chromium fonts-wqy-microhei >&2 ||
        { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends chromium fonts-wqy-microhei >&2; }
fi

venv=$repo_root/.venv-browser
if ! "$venv/bin/python" -c "import playwright" 2>/dev/null; then
    log "installing playwright $PLAYWRIGHT_VERSION into $venv"
    [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION"
fi

tools=${CARGO_TARGET_DIR:-$repo_root/target}/browser-tools
axe=$tools/package/axe.min.js
if [[ ! -f $axe ]]; then
    log "fetching axe-core $AXE_VERSION from npm"
    mkdir -p "$tools"
    (cd "$tools" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar xzf "axe-core-$AXE_VERSION.tgz")
fi

report_dir=${BROWSER_REPORT_DIR:-${CARGO_TARGET_DIR:-$repo_root/target}/browser-report}
FRESH_SERVER_SETUP=demo start_fresh_server browser

"$venv/bin/python" .ci/browser_test.py "$base" "$report_dir" "$axe" | tee "$report_dir/browser.out"
