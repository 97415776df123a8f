#!/usr/bin/env bash
# Builds the C examples (as C and as C++, under AddressSanitizer) and runs
# them against the private servers named by $EPODE_TEST_PROSODY and
# $EPODE_TEST_EJABBERD, checking their output and exit codes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
: "${EPODE_TEST_PROSODY:?start the servers first (tests/run-all.sh)}"
: "${EPODE_TEST_EJABBERD:?start the servers first (tests/run-all.sh)}"

cargo build --quiet --lib --example echo_bot
san="-fsanitize=address,undefined -fno-omit-frame-pointer"
bin="$root/target/examples-c-san" # not the default BUILD: that is for builds with the default flags
make -s -C examples-c all cxx SAN="$san" BUILD="$bin"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1

passed=0 failed=0
# expect NAME EXIT_CODE PATTERN -- COMMAND...: runs it, checks the exit code
# and that every line of PATTERN (a newline-separated list) is in the output.
expect() {
    local name=$1 code=$2 pattern=$3; shift 4
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    local ok=1
    [ "$rc" -eq "$code" ] || ok=0
    while IFS= read -r line; do
        [ -z "$line" ] || grep -qxF -- "$line" <<<"$out" || ok=0
    done <<<"$pattern"
    if [ $ok -eq 1 ]; then
        passed=$((passed + 1)); echo "ok   $name"
    else
        failed=$((failed + 1)); echo "FAIL $name (exit $rc, wanted $code)"; echo "$out" | sed 's/^/     | /'
    fi
}

# The echo bots run in the background: start_bot LOG COMMAND... starts one
# and waits for its "READY" line; bot_done waits (20 s at most) and prints
# its output with resources cut off (ECHO alice@localhost body), exiting
# with the bot's code, for `expect`.
start_bot() {
    bot_log=$1; shift
    "$@" >"$bot_log" 2>&1 &
    bot_pid=$!
    for _ in $(seq 400); do
        grep -q '^READY ' "$bot_log" && return 0
        kill -0 "$bot_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "the bot did not come online:"; cat "$bot_log"; return 1
}
stop_bot() {
    for _ in $(seq 400); do kill -0 "$bot_pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$bot_pid" 2>/dev/null && kill -KILL "$bot_pid"
    bot_rc=0; wait "$bot_pid" || bot_rc=$?
}
bot_output() { sed -E 's#^(ECHO [^/ ]+)/[^ ]+#\1#' "$bot_log"; return "$bot_rc"; }

login_ok=$'CONNECTING\nAUTHENTICATING\nCONNECTED\nIQ result\nDISCONNECTING status example done\nDISCONNECTED'
for dir in "$EPODE_TEST_PROSODY" "$EPODE_TEST_EJABBERD"; do
    # shellcheck disable=SC1091
    (
        . "$dir/env"
        for exe in status status-cpp; do
            expect "$XMPP_SERVER $exe ws" 0 "$login_ok" -- \
                "$bin/$exe" "$XMPP_WS_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD"
        done
        expect "$XMPP_SERVER status wss + ca_file" 0 "$login_ok" -- \
            "$bin/status" "$XMPP_WSS_URL" "$XMPP_BOB_JID" "$XMPP_BOB_PASSWORD" "ca_file=$XMPP_CA_FILE"
        expect "$XMPP_SERVER status sync + PLAIN" 0 "$login_ok" -- \
            "$bin/status" "$XMPP_WS_URL" "$XMPP_CAROL_JID" "$XMPP_CAROL_PASSWORD" sync=true mechanisms=PLAIN
        expect "$XMPP_SERVER status anonymous" 0 "$login_ok" -- \
            "$bin/status" "$XMPP_WS_URL" "$XMPP_ANON_DOMAIN" -
        expect "$XMPP_SERVER status wrong password" 1 $'AUTHFAIL not-authorized\nDISCONNECTED' -- \
            "$bin/status" "$XMPP_WS_URL" "$XMPP_ALICE_JID" wrong-password
        expect "$XMPP_SERVER status bosh" 0 "$login_ok" -- \
            "$bin/status" "$XMPP_BOSH_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD"
        expect "$XMPP_SERVER status-cpp bosh https + ca_file + sync" 0 "$login_ok" -- \
            "$bin/status-cpp" "$XMPP_BOSH_HTTPS_URL" "$XMPP_BOB_JID" "$XMPP_BOB_PASSWORD" "ca_file=$XMPP_CA_FILE" sync=true
        expect "$XMPP_SERVER status tcp, STARTTLS + ca_file" 0 "$login_ok" -- \
            "$bin/status" "tcp://127.0.0.1:$XMPP_C2S_PORT" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "ca_file=$XMPP_CA_FILE"
        expect "$XMPP_SERVER status-cpp tls (XEP-0368) + ca_file + sync" 0 "$login_ok" -- \
            "$bin/status-cpp" "tls://127.0.0.1:$XMPP_C2S_TLS_PORT" "$XMPP_BOB_JID" "$XMPP_BOB_PASSWORD" "ca_file=$XMPP_CA_FILE" sync=true
        expect "$XMPP_SERVER status tcp, a certificate nobody vouches for → 1" 1 "" -- \
            "$bin/status" "tcp://127.0.0.1:$XMPP_C2S_PORT" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD"
        expect "$XMPP_SERVER status host-meta (XEP-0156) + ca_file" 0 "FOUND wss://${XMPP_HOST_META_ORIGIN#https://}${XMPP_WSS_URL#wss://127.0.0.1:"$XMPP_HTTPS_PORT"}"$'\n'"$login_ok" -- \
            "$bin/status" "host-meta:$XMPP_HOST_META_ORIGIN" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "ca_file=$XMPP_CA_FILE"
        expect "$XMPP_SERVER status host-meta, a certificate nobody vouches for → 1" 1 "" -- \
            "$bin/status" "host-meta:$XMPP_HOST_META_ORIGIN" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD"
        expect "$XMPP_SERVER status bosh headers, cookie, content type" 0 "$login_ok" -- \
            "$bin/status" "$XMPP_BOSH_URL" "$XMPP_CAROL_JID" "$XMPP_CAROL_PASSWORD" \
            "customHeaders=X-App-Version: 2.1.0" "cookies=app=1; Path=/" "contentType=text/plain; charset=utf-8" wait=30 hold=1
        expect "$XMPP_SERVER status bosh bad header" 2 "" -- \
            "$bin/status" "$XMPP_BOSH_URL" "$XMPP_ALICE_JID" x "customHeaders=no colon here"
        # keepalive + restore across two processes (the first exits without terminating).
        ka="$bin/ka-$XMPP_SERVER/session"
        rm -rf "$(dirname "$ka")"
        expect "$XMPP_SERVER keepalive restore without a session" 3 "" -- \
            "$bin/keepalive" restore "$XMPP_BOSH_URL" "$XMPP_CAROL_JID" "$ka"
        expect "$XMPP_SERVER keepalive login, then exit" 0 "CONNECTED" -- \
            "$bin/keepalive" login "$XMPP_BOSH_URL" "$XMPP_CAROL_JID" "$XMPP_CAROL_PASSWORD" "$ka"
        expect "$XMPP_SERVER keepalive restore as somebody else" 3 "" -- \
            "$bin/keepalive" restore "$XMPP_BOSH_URL" "$XMPP_BOB_JID" "$ka"
        expect "$XMPP_SERVER keepalive restore in a new process" 0 $'ATTACHED\nMESSAGE back\nDISCONNECTED' -- \
            "$bin/keepalive-cpp" restore "$XMPP_BOSH_URL" "$XMPP_CAROL_JID" "$ka"
        echo "garbage" > "$ka.corrupt"
        expect "$XMPP_SERVER keepalive corrupt file" 3 "" -- \
            "$bin/keepalive" restore "$XMPP_BOSH_URL" "$XMPP_CAROL_JID" "$ka.corrupt"
        expect "$XMPP_SERVER status unknown option" 2 "" -- \
            "$bin/status" "$XMPP_WS_URL" "$XMPP_ALICE_JID" x no_such_option=1
        # One login shared by two processes (worker=/path), and a worker
        # name inside one process: the status example by hand, scripted.
        share="$bin/share-$XMPP_SERVER"
        rm -rf "$share" && mkdir -p "$share" && mkfifo "$share/stdin"
        "$bin/status" "$XMPP_WS_URL" "$XMPP_DAVE_JID" "$XMPP_DAVE_PASSWORD" --stay \
            "worker=$share/w.sock" <"$share/stdin" >"$share/first.out" 2>&1 &
        first=$!
        exec 8>"$share/stdin"
        for _ in $(seq 100); do grep -qs "IQ result" "$share/first.out" && break; sleep 0.1; done
        expect "$XMPP_SERVER status worker=/path, second process attaches" 0 \
            $'CONNECTING\nATTACHED\nIQ result\nDISCONNECTING status example done\nDISCONNECTED' -- \
            "$bin/status-cpp" "$XMPP_WS_URL" "$XMPP_DAVE_JID" "$XMPP_DAVE_PASSWORD" "worker=$share/w.sock"
        exec 8>&-
        rc=0 && wait "$first" || rc=$?
        expect "$XMPP_SERVER status worker=/path, first process hears the end" 0 \
            $'CONNECTED\nIQ result\nDISCONNECTED the shared session was ended by another handle' -- \
            sh -c "cat '$share/first.out'; exit $rc"
        for exe in shared shared-cpp; do
            expect "$XMPP_SERVER $exe (two handles, worker name)" 0 \
                $'  A: CONNECTED\n  B: CONNECTING\n  B: ATTACHED\n  A: message "one socket"\n  B: message "one socket"\n  B: DISCONNECTED the shared session was ended by another handle\nshared connection: ok' -- \
                "$bin/$exe" "$XMPP_WS_URL" "$XMPP_DAVE_JID" "$XMPP_DAVE_PASSWORD"
        done
        expect "$XMPP_SERVER shared (two handles, worker path)" 0 "shared connection: ok" -- \
            "$bin/shared" "$XMPP_WS_URL" "$XMPP_DAVE_JID" "$XMPP_DAVE_PASSWORD" "$share/w2.sock"
        expect "$XMPP_SERVER status worker=NAME" 0 "$login_ok" -- \
            "$bin/status" "$XMPP_WS_URL" "$XMPP_DAVE_JID" "$XMPP_DAVE_PASSWORD" worker=tab
        expect "$XMPP_SERVER status worker with a BOSH service" 1 "" -- \
            "$bin/status" "$XMPP_BOSH_URL" "$XMPP_DAVE_JID" "$XMPP_DAVE_PASSWORD" worker=tab

        # echo_bot (as bob) and send_once: each message makes a real round
        # trip through the server, and the reply proves it arrived.
        bot_log="$bin/bot-$XMPP_SERVER.log"
        start_bot "$bot_log" "$bin/echo_bot" "$XMPP_WS_URL" "$XMPP_BOB_JID" "$XMPP_BOB_PASSWORD"
        expect "$XMPP_SERVER send_once ws → echo_bot, reply" 0 "REPLY hello from C" -- \
            "$bin/send_once" "$XMPP_WS_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "$XMPP_BOB_JID" "hello from C" --expect-reply 10
        expect "$XMPP_SERVER send_once-cpp bosh → echo_bot, reply" 0 "REPLY hello from C++" -- \
            "$bin/send_once-cpp" "$XMPP_BOSH_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "$XMPP_BOB_JID" "hello from C++" --expect-reply 10
        expect "$XMPP_SERVER send_once wss + ca_file, no waiting" 0 "" -- \
            "$bin/send_once" "$XMPP_WSS_URL" "$XMPP_CAROL_JID" "$XMPP_CAROL_PASSWORD" "$XMPP_BOB_JID" "fire and forget" \
            --option "ca_file=$XMPP_CA_FILE" --option mechanisms=PLAIN
        expect "$XMPP_SERVER send_once wrong password → 3" 3 "" -- \
            "$bin/send_once" "$XMPP_WS_URL" "$XMPP_ALICE_JID" wrong-password "$XMPP_BOB_JID" "never sent"
        expect "$XMPP_SERVER send_once no server → 3" 3 "" -- \
            "$bin/send_once" "ws://127.0.0.1:9/xmpp-websocket" "$XMPP_ALICE_JID" x "$XMPP_BOB_JID" "never sent"
        expect "$XMPP_SERVER send_once no reply from nobody → 5" 5 "" -- \
            "$bin/send_once" "$XMPP_WS_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "nobody@$XMPP_DOMAIN" "anyone?" --expect-reply 2
        expect "$XMPP_SERVER send_once usage → 2" 2 "" -- "$bin/send_once" "$XMPP_WS_URL" "$XMPP_ALICE_JID"
        expect "$XMPP_SERVER send_once bad option → 2" 2 "" -- \
            "$bin/send_once" "$XMPP_WS_URL" "$XMPP_ALICE_JID" x "$XMPP_BOB_JID" y --option wait=soon
        expect "$XMPP_SERVER send_once quit → echo_bot" 0 "REPLY quit" -- \
            "$bin/send_once" "$XMPP_WS_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "$XMPP_BOB_JID" quit --expect-reply 10
        stop_bot
        expect "$XMPP_SERVER echo_bot echoed everything, quit cleanly" 0 \
            "ECHO alice@$XMPP_DOMAIN hello from C"$'\n'"ECHO alice@$XMPP_DOMAIN hello from C++"$'\n'"ECHO carol@$XMPP_DOMAIN fire and forget"$'\n'"ECHO alice@$XMPP_DOMAIN quit"$'\n'"DISCONNECTING asked to quit"$'\n'"DISCONNECTED" -- bot_output
        # The C++ bot over BOSH, stopped by SIGTERM.
        start_bot "$bot_log" "$bin/echo_bot-cpp" "$XMPP_BOSH_URL" "$XMPP_BOB_JID" "$XMPP_BOB_PASSWORD" wait=10
        expect "$XMPP_SERVER send_once → echo_bot-cpp over BOSH" 0 "REPLY ping" -- \
            "$bin/send_once" "$XMPP_WS_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "$XMPP_BOB_JID" ping --expect-reply 10
        kill -TERM "$bot_pid"
        stop_bot
        expect "$XMPP_SERVER echo_bot-cpp SIGTERM → clean disconnect" 0 \
            "ECHO alice@$XMPP_DOMAIN ping"$'\n'"DISCONNECTING signal"$'\n'"DISCONNECTED" -- bot_output
        # A bare JID: the server found by SRV, from a private dnsmasq.
        dns="$bin/dns-$XMPP_SERVER"
        mkdir -p "$dns"
        printf 'srv-host=_xmpp-client._tcp.localhost,xmpp.test,%s,0,0\nhost-record=xmpp.test,127.0.0.1\n' \
            "$XMPP_C2S_PORT" >"$dns/records.conf"
        dns_port=$((XMPP_C2S_PORT + 40))
        tests/servers/dns.sh start "$dns" "$dns_port" >/dev/null
        expect "$XMPP_SERVER status with a bare JID, the server found by SRV" 0 "$login_ok" -- \
            "$bin/status" "" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "ca_file=$XMPP_CA_FILE" "dns_server=127.0.0.1:$dns_port"
        expect "$XMPP_SERVER status-cpp with the domain as service (SRV)" 0 "$login_ok" -- \
            "$bin/status-cpp" "$XMPP_DOMAIN" "$XMPP_BOB_JID" "$XMPP_BOB_PASSWORD" "ca_file=$XMPP_CA_FILE" "dns_server=127.0.0.1:$dns_port"
        tests/servers/dns.sh stop "$dns"

        # The C bot with a bare JID (found by SRV), messages over tcp:// and
        # from a bare JID too.
        tests/servers/dns.sh start "$dns" "$dns_port" >/dev/null
        start_bot "$bot_log" "$bin/echo_bot" "" "$XMPP_BOB_JID" "$XMPP_BOB_PASSWORD" \
            "ca_file=$XMPP_CA_FILE" "dns_server=127.0.0.1:$dns_port"
        expect "$XMPP_SERVER send_once tcp → echo_bot found by SRV, reply" 0 "REPLY over TCP" -- \
            "$bin/send_once" "tcp://127.0.0.1:$XMPP_C2S_PORT" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "$XMPP_BOB_JID" "over TCP" \
            --option "ca_file=$XMPP_CA_FILE" --expect-reply 10
        expect "$XMPP_SERVER send_once with a bare JID (SRV) → echo_bot, reply" 0 "REPLY found by SRV" -- \
            "$bin/send_once" "" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "$XMPP_BOB_JID" "found by SRV" \
            --option "ca_file=$XMPP_CA_FILE" --option "dns_server=127.0.0.1:$dns_port" --expect-reply 10
        expect "$XMPP_SERVER send_once quit → echo_bot found by SRV" 0 "REPLY quit" -- \
            "$bin/send_once" "$XMPP_WS_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "$XMPP_BOB_JID" quit --expect-reply 10
        stop_bot
        tests/servers/dns.sh stop "$dns"
        expect "$XMPP_SERVER echo_bot found by SRV quit cleanly" 0 \
            "ECHO alice@$XMPP_DOMAIN over TCP"$'\n'"ECHO alice@$XMPP_DOMAIN found by SRV"$'\n'"ECHO alice@$XMPP_DOMAIN quit"$'\n'"DISCONNECTING asked to quit"$'\n'"DISCONNECTED" -- bot_output
        # The blocking Rust example: the same round trip.
        start_bot "$bot_log" "$root/target/debug/examples/echo_bot" "$XMPP_WS_URL" "$XMPP_BOB_JID" "$XMPP_BOB_PASSWORD"
        expect "$XMPP_SERVER send_once → Rust echo_bot" 0 "REPLY hello Rust" -- \
            "$bin/send_once-cpp" "$XMPP_BOSH_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "$XMPP_BOB_JID" "hello Rust" --expect-reply 10
        expect "$XMPP_SERVER send_once quit → Rust echo_bot" 0 "REPLY quit" -- \
            "$bin/send_once" "$XMPP_WS_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD" "$XMPP_BOB_JID" quit --expect-reply 10
        stop_bot
        expect "$XMPP_SERVER Rust echo_bot quit cleanly" 0 \
            "ECHO alice@$XMPP_DOMAIN hello Rust"$'\n'"ECHO alice@$XMPP_DOMAIN quit"$'\n'"DISCONNECTING asked to quit"$'\n'"DISCONNECTED" -- bot_output
        # Pollable mode: one thread, one poll() loop, many sessions of
        # every transport; and its failures.
        expect "$XMPP_SERVER many: 20 sessions over WebSocket from one poll()" 0 "20 logged in, 20 echoed, 20 ended" -- \
            "$bin/many" "$XMPP_WS_URL" "$XMPP_CAROL_JID" "$XMPP_CAROL_PASSWORD" 20
        expect "$XMPP_SERVER many-cpp: 10 sessions over BOSH" 0 "10 logged in, 10 echoed, 10 ended" -- \
            "$bin/many-cpp" "$XMPP_BOSH_URL" "$XMPP_CAROL_JID" "$XMPP_CAROL_PASSWORD" 10
        expect "$XMPP_SERVER many: 10 sessions over TCP with STARTTLS" 0 "10 logged in, 10 echoed, 10 ended" -- \
            "$bin/many" "tcp://127.0.0.1:$XMPP_C2S_PORT" "$XMPP_CAROL_JID" "$XMPP_CAROL_PASSWORD" 10 --option "ca_file=$XMPP_CA_FILE"
        expect "$XMPP_SERVER many: wrong password → 3" 3 "many: AUTHFAIL not-authorized"$'\n'"0 logged in, 0 echoed, 3 ended" -- \
            "$bin/many" "$XMPP_WS_URL" "$XMPP_CAROL_JID" wrong-password 3
        expect "$XMPP_SERVER many: usage → 2" 2 "" -- "$bin/many" "$XMPP_WS_URL" "$XMPP_CAROL_JID" x 0
        echo "$passed $failed" > "$bin/.counts.$XMPP_SERVER"
    )
done
# include/install.sh: into a temporary prefix, then the status example
# built with nothing but pkg-config's flags (shared, and static as C++),
# and into a DESTDIR staging root.
command -v pkg-config >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config >/dev/null
}
(
    . "$EPODE_TEST_PROSODY/env"
    passed=0 failed=0
    inst=$(mktemp -d /tmp/epode-install.XXXXXX)
    version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
    trap 'rm -rf "$inst"' EXIT
    include/install.sh "$inst/prefix" >/dev/null 2>"$inst/log" || { cat "$inst/log"; exit 1; }
    export PKG_CONFIG_PATH="$inst/prefix/lib/pkgconfig"
    files() { (cd "$1" && find . -type f | sort | tr '\n' ' '); }
    expect "install.sh puts library, header and .pc under PREFIX" 0 \
        "./include/epode.h ./lib/debug/libepode.so.$version.debug ./lib/libepode.a ./lib/libepode.so.$version ./lib/pkgconfig/epode.pc " -- files "$inst/prefix"
    expect "the libraries are links to the versioned file, named by its SONAME" 0 \
        $'libepode.so.0\nlibepode.so.'"$version"$'\nLibrary soname: [libepode.so.0]' -- sh -c \
        "readlink '$inst/prefix/lib/libepode.so'; readlink '$inst/prefix/lib/libepode.so.0'; readelf -d '$inst/prefix/lib/libepode.so' | grep -o 'Library soname: .*'"
    expect "the installed libraries carry no debug information" 1 "" -- sh -c \
        "readelf -S '$inst/prefix/lib/libepode.so.$version' '$inst/prefix/lib/libepode.a' | grep -q '\.debug_info'"
    expect "the .pc of a prefix outside the loader's paths adds an rpath" 0 "-Wl,-rpath,$inst/prefix/lib" -- \
        sh -c "pkg-config --libs epode | tr ' ' '\n'"
    expect "pkg-config finds epode with the crate's version" 0 \
        "$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)" -- pkg-config --modversion epode
    # shellcheck disable=SC2046
    gcc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror $san examples-c/status.c -o "$inst/status" \
        $(pkg-config --cflags --libs epode)
    expect "status built with pkg-config (shared) logs in" 0 "$login_ok" -- \
        "$inst/status" "$XMPP_WS_URL" "$XMPP_ALICE_JID" "$XMPP_ALICE_PASSWORD"
    # shellcheck disable=SC2046
    g++ -x c++ -std=c++17 -Wall -Wextra -Werror $san examples-c/status.c -o "$inst/status-static" \
        $(pkg-config --cflags epode) -x none "$(pkg-config --variable=libdir epode)/libepode.a" -Wl,--as-needed $(pkg-config --static --libs epode)
    expect "status built with libepode.a needs no libepode.so" 1 "" -- \
        sh -c "ldd '$inst/status-static' | grep -q libepode"
    expect "status built with libepode.a (as C++) logs in over BOSH" 0 "$login_ok" -- \
        "$inst/status-static" "$XMPP_BOSH_URL" "$XMPP_BOB_JID" "$XMPP_BOB_PASSWORD"
    DESTDIR="$inst/stage" include/install.sh /opt/epode >/dev/null 2>"$inst/log" || { cat "$inst/log"; exit 1; }
    expect "DESTDIR stages the files; the .pc keeps the real prefix" 0 "prefix=/opt/epode" -- \
        cat "$inst/stage/opt/epode/lib/pkgconfig/epode.pc"
    echo "$passed $failed" > "$bin/.counts.install"
)
total_passed=0 total_failed=0
for f in "$bin"/.counts.*; do
    read -r p f2 <"$f"; total_passed=$((total_passed + p)); total_failed=$((total_failed + f2)); rm -f "$f"
done
echo "examples: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
