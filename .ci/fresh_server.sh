# Sourced by the CI steps that need a server of their own (schemathesis, the generated
# client, the README's walk-through): a fresh SQLite data directory — or, with
# FRESH_SERVER_PG set to a PostgreSQL URL, a fresh database made on that server and dropped
# afterwards — an admin (or, with FRESH_SERVER_SETUP=demo, the demo district), the binary
# serving on a free port, and a
# trap that stops it and keeps its log. The caller sets repo_root, BIN (resolve_bin),
# ADMIN_PHONE, ADMIN_PASSWORD, report_dir and log(), and exports any extra SHENBIAN_*
# settings first; afterwards `tmp` is a scratch directory removed on exit and `base` the
# server's URL.

# Sets BIN to the absolute path of the shenbian binary named by $2: a relative path is
# taken from the caller's directory, else from the repository's root.
resolve_bin() {
    if [[ -x $2 ]]; then
        BIN=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
    elif [[ -x $repo_root/$2 ]]; then
        BIN=$repo_root/$2
    else
        echo "$1: no executable shenbian binary at '$2'" >&2
        exit 2
    fi
}

start_fresh_server() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/shenbian-$1.XXXXXX")
    server_pid=
    mkdir -p "$report_dir"
    trap stop_fresh_server EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    export SHENBIAN_DATA_DIR=$tmp/data
    export SHENBIAN_BIND=127.0.0.1:0
    export SHENBIAN_LOG_FORMAT=pretty
    unset SHENBIAN_DATABASE_URL SHENBIAN_CONFIG
    mkdir -p "$SHENBIAN_DATA_DIR"
    pg_database=
    if [[ -n ${FRESH_SERVER_PG:-} ]]; then
        pg_database=shenbian_ci_$1_$$
        log "making the PostgreSQL database $pg_database"
        psql -q -v ON_ERROR_STOP=1 "$FRESH_SERVER_PG" -c "CREATE DATABASE $pg_database" >&2
        export SHENBIAN_DATABASE_URL=${FRESH_SERVER_PG%/*}/$pg_database
    fi

    if [[ ${FRESH_SERVER_SETUP:-admin} == demo ]]; then
        log "filling the database with the demo district (migrates it)"
        "$BIN" demo >&2
    else
        log "creating the admin account (migrates the database)"
        SHENBIAN_ADMIN_PASSWORD=$ADMIN_PASSWORD "$BIN" admin create --phone "$ADMIN_PHONE" --name Admin >&2
    fi

    log "starting $BIN serve"
    # The files exist before the server does: the loop below reads them at once, and the
    # background shell may not have opened them yet on a loaded machine.
    : >"$tmp/server.out"
    : >"$tmp/server.log"
    "$BIN" serve >"$tmp/server.out" 2>"$tmp/server.log" &
    server_pid=$!

    local port=
    local deadline=$((SECONDS + 60))
    while [[ -z $port ]]; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            log "the server exited before listening:"
            cat "$tmp/server.out" "$tmp/server.log" >&2
            exit 1
        fi
        port=$(sed -n 's#^shenbian listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*#\1#p' "$tmp/server.out" | head -n1)
        if [[ -z $port ]]; then
            ((SECONDS < deadline)) || { log "no 'listening' line within 60 s"; cat "$tmp/server.log" >&2; exit 1; }
            sleep 0.1
        fi
    done
    base=http://127.0.0.1:$port

    until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz" || true)" == 200 ]]; do
        kill -0 "$server_pid" 2>/dev/null || { log "the server died:"; cat "$tmp/server.log" >&2; exit 1; }
        ((SECONDS < deadline)) || { log "/readyz did not answer 200 within 60 s"; cat "$tmp/server.log" >&2; exit 1; }
        sleep 0.2
    done
    log "server ready at $base"
}

# The EXIT trap: SIGTERM with a grace period for in-flight requests, then force; the
# server's log goes to the report directory; the scratch directory goes.
stop_fresh_server() {
    local rc=$?
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    [[ -f $tmp/server.log ]] && cp "$tmp/server.log" "$report_dir/server.log" 2>/dev/null || true
    if [[ -n ${pg_database:-} ]]; then
        psql -q "$FRESH_SERVER_PG" -c "DROP DATABASE IF EXISTS $pg_database WITH (FORCE)" >&2 || true
    fi
    rm -rf "$tmp"
    exit "$rc"
}
