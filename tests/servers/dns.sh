#!/usr/bin/env bash
# A private DNS server (Debian's dnsmasq) for epode's discovery tests,
# answering on 127.0.0.1 only from records the caller wrote, so that SRV
# lookups are tested against a real server without reaching the network.
#
#   dns.sh start DIR PORT   start dnsmasq on 127.0.0.1:PORT with DIR/records.conf
#   dns.sh stop DIR         stop exactly the server this DIR started
#
# DIR/records.conf holds dnsmasq lines (srv-host=, host-record=, …), written
# before start; it is dnsmasq's only configuration file (no /etc/dnsmasq.conf,
# no resolv.conf, no /etc/hosts, no upstream servers). Every name under
# .test that it does not list is NXDOMAIN. Queries are logged to
# DIR/dnsmasq.log. The system's dnsmasq service, if any, is never touched.
set -euo pipefail

SERVER=dnsmasq
PACKAGES=(dnsmasq-base)
# shellcheck source=tests/servers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# SIGTERM (dnsmasq exits at once), SIGKILL if it lingers past 5 s.
kill_server() { stop_pids 5 "$1"; }

stop_instance() {
    local dir=$1 pid
    pid=$(live_pid "$dir")
    rm -f "$dir/$SERVER.pid"
    if [ -z "$pid" ]; then
        say "not running in $dir"
        return 0
    fi
    kill_server "$pid"
    say "stopped (pid $pid)"
}

start_instance() {
    local dir=$1 port=$2 pid t0
    t0=$(now_us)
    [ -s "$dir/records.conf" ] || die "no $dir/records.conf: write the records first"
    if [ -n "$(live_pid "$dir")" ]; then
        say "already running in $dir"
        return 0
    fi
    install_packages
    rm -f "$dir/$SERVER.pid" "$dir/dnsmasq.log"
    # -k: in the foreground, so that $! is the server and stop kills exactly
    # it; --pid-file= (empty): dnsmasq writes none of its own in /run.
    # --user: stay the caller (as root dnsmasq would switch to nobody, who
    # may not write DIR/dnsmasq.log).
    setsid dnsmasq -k --pid-file= --user="$(id -un)" --conf-file="$dir/records.conf" \
        --no-resolv --no-hosts --no-poll --bind-interfaces \
        --listen-address=127.0.0.1 --port="$port" --local=/test/ --local=/localhost/ \
        --log-queries --log-facility="$dir/dnsmasq.log" \
        >"$dir/dnsmasq.out" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/$SERVER.pid"
    # From here on, a failure stops the server again: no half-made instance.
    # shellcheck disable=SC2064 # expanded now: pid and dir are locals
    trap "kill_server $pid; rm -f '$dir/$SERVER.pid'" EXIT

    # Ready when its TCP port accepts: dnsmasq binds UDP and TCP together,
    # before it reads its first query.
    local deadline=$(($(date +%s) + 10))
    until port_open "$port"; do
        if ! alive "$pid" || (($(date +%s) >= deadline)); then
            say "dnsmasq did not come up; $dir/dnsmasq.out and dnsmasq.log say:"
            tail -n 20 "$dir/dnsmasq.out" "$dir/dnsmasq.log" >&2 || true
            exit 1
        fi
        sleep 0.02
    done
    trap - EXIT
    say "started in $dir (pid $pid, 127.0.0.1:$port) in $(since "$t0") s"
}

main() {
    local cmd=${1:-} dir
    [ $# -ge 2 ] || {
        echo "usage: $0 start DIR PORT | stop DIR" >&2
        exit 2
    }
    dir=$(realpath -m -- "$2")
    case $cmd in
    start)
        local port=${3:-}
        if ! [[ $port =~ ^[0-9]+$ ]] || ((port <= 1024 || port >= 65536)); then
            die "bad PORT: $port"
        fi
        start_instance "$dir" "$port"
        ;;
    stop) stop_instance "$dir" ;;
    *) die "unknown command: $cmd (start, stop)" ;;
    esac
}

main "$@"
