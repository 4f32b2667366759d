# Sourced by the binding suites' scripts: a relay on 127.0.0.1 for their sync tests.
#
#   start_test_relay TARGET_DIR   builds cairn-server, starts it on a free port with a fresh data
#                                 directory, and exports CAIRN_TEST_RELAY=http://127.0.0.1:PORT
#   stop_test_relay               stops it and removes its data
#
# The relay's log is kept in $RELAY_WORK/log while it runs and printed if it fails to start.

start_test_relay() {
    local target="$1"
    cargo build -q -p cairn-server || return 1
    RELAY_WORK="$(mktemp -d "${TMPDIR:-/tmp}/cairn-test-relay.XXXXXX")"
    "$target/debug/cairn-server" --listen 127.0.0.1:0 --data-dir "$RELAY_WORK/data" \
        --address-file "$RELAY_WORK/address" >"$RELAY_WORK/log" 2>&1 &
    RELAY_PID=$!
    for _ in $(seq 1 200); do
        [[ -s "$RELAY_WORK/address" ]] && break
        kill -0 "$RELAY_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [[ ! -s "$RELAY_WORK/address" ]]; then
        printf 'error: the test relay did not start:\n' >&2
        cat "$RELAY_WORK/log" >&2
        return 1
    fi
    CAIRN_TEST_RELAY="$(head -n 1 "$RELAY_WORK/address")"
    export CAIRN_TEST_RELAY
    printf '==> test relay at %s\n' "$CAIRN_TEST_RELAY" >&2
}

stop_test_relay() {
    if [[ -n "${RELAY_PID:-}" ]]; then
        kill "$RELAY_PID" 2>/dev/null || true
        wait "$RELAY_PID" 2>/dev/null || true
        RELAY_PID=""
    fi
    [[ -n "${RELAY_WORK:-}" ]] && rm -rf -- "$RELAY_WORK"
    RELAY_WORK=""
}
