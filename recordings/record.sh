#!/bin/bash
# Re-record the real MTA logs under recordings/<mta>/.
#
#   bash recordings/record.sh [postfix|exim|sendmail|all]   (default: all)
#
# Needs root on a Debian machine without a running MTA (Debian 12 here) and
# reachable Debian package mirrors. For each MTA it:
#   1. purges the other MTAs, installs this one (+ rsyslog, swaks, dovecot for
#      Postfix SASL, ...) with apt-get,
#   2. configures it for loopback only (hostname mx1 / mx1.example.com, local
#      domain example.com, "remote" domains relayed to recordings/sink.py on
#      127.0.0.1:2525),
#   3. starts systemd-journald (if it works without systemd as PID 1), rsyslogd
#      (three file formats at once), the sink and the MTA by hand,
#   4. drives the scenarios with recordings/drive.py (swaks from 127.0.0.N),
#      waits for the queue to settle, stops everything,
#   5. copies logs + what was really done into recordings/<mta>/run*/ and
#      recordings/scenarios.json, and purges the MTA again.
# Everything runs in private UTS + mount namespaces (hostname "mx1" and a
# private /etc/hosts bind mount), so the machine's own hostname and
# /etc/hosts are untouched. Per-MTA details: recordings/conf/<mta>/mta.sh.
#
# Environment: MLW_BURST (default 150) messages in the volume burst,
#              MLW_KEEP_MTA=1 to leave the last MTA installed (stopped).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STAGE=/var/tmp/mlw-rec
APT=(apt-get -o DPkg::Lock::Timeout=600 -y)
export DEBIAN_FRONTEND=noninteractive
PY=/usr/bin/python3
BURST="${MLW_BURST:-150}"
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(all)
[ "${TARGETS[0]}" = all ] && TARGETS=(postfix exim sendmail)
for t in "${TARGETS[@]}"; do
    case "$t" in postfix|exim|sendmail) ;; *) echo "usage: $0 [postfix|exim|sendmail|all]" >&2; exit 2;; esac
done

say() { printf '\n\033[1m[record %s] %s\033[0m\n' "$(date +%H:%M:%S)" "$*"; }
info() { printf '[record %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[record] FATAL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

# --- private hostname + /etc/hosts ----------------------------------------
if [ -z "${MLW_REC_INNER:-}" ]; then
    mkdir -p "$STAGE"
    say "re-executing inside private UTS+mount namespaces (hostname mx1)"
    exec env MLW_REC_INNER=1 unshare --uts --mount --propagation private bash "$0" "${TARGETS[@]}"
fi
hostname mx1
printf '127.0.0.1\tlocalhost\n127.0.1.1\tmx1.example.com mx1\n' > "$STAGE/hosts"
mount --bind "$STAGE/hosts" /etc/hosts
info "hostname: $(hostname), /etc/hosts (private): $(tr '\n' ' ' < /etc/hosts)"

mkdir -p "$STAGE/pids"

# --- generic process helpers ----------------------------------------------
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
stop_pidfile() { # name pidfile [signal]
    local name=$1 pf=$2 sig=${3:-TERM} pid i
    [ -s "$pf" ] || return 0
    pid=$(head -n1 "$pf" | tr -dc 0-9)
    if pid_alive "$pid"; then
        info "stopping $name (pid $pid)"
        kill -"$sig" "$pid" 2>/dev/null || true
        for i in $(seq 50); do pid_alive "$pid" || break; sleep 0.2; done
        pid_alive "$pid" && { info "$name still alive, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
    fi
    rm -f "$pf"
}
wait_port() { # port [timeout]: wait for a listening TCP socket (without connecting to it,
    local i     # which would add a "lost connection after CONNECT" line to the logs)
    for i in $(seq $(( ${2:-30} * 5 ))); do
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
        sleep 0.2
    done
    die "nothing listens on port $1"
}

# --- logging: journald (if possible) + rsyslogd ---------------------------
JOURNALD=0
JOURNAL_SINCE=
DEVLOG_SAVED=0
save_devlog() {
    if [ -e /dev/log ] || [ -L /dev/log ]; then
        if [ ! -e /dev/log.mlw-rec-saved ] && [ ! -L /dev/log.mlw-rec-saved ]; then
            info "saving existing /dev/log as /dev/log.mlw-rec-saved"
            mv /dev/log /dev/log.mlw-rec-saved
            DEVLOG_SAVED=1
        else
            rm -f /dev/log
        fi
    fi
}
restore_devlog() {
    rm -f /dev/log
    if [ -e /dev/log.mlw-rec-saved ] || [ -L /dev/log.mlw-rec-saved ]; then
        mv /dev/log.mlw-rec-saved /dev/log
    fi
}

start_logging() { # outdir
    local out=$1 sock
    rm -rf "$out"; mkdir -p "$out" "$STAGE/rsyslog-work"
    save_devlog
    # Without systemd as PID 1, systemd-sysctl never set net.unix.max_dgram_qlen
    # to systemd's 512 (kernel default: 10); with 10, journald's non-blocking
    # forward to rsyslog drops lines during bursts. Raise it like a real boot does.
    QLEN_SAVED=$(sysctl -n net.unix.max_dgram_qlen 2>/dev/null || echo)
    if [ -n "$QLEN_SAVED" ] && [ "$QLEN_SAVED" -lt 512 ]; then
        sysctl -q -w net.unix.max_dgram_qlen=512 && info "net.unix.max_dgram_qlen: $QLEN_SAVED -> 512 (restored afterwards)"
    else
        QLEN_SAVED=
    fi
    JOURNALD=0
    if [ -x /lib/systemd/systemd-journald ]; then
        mkdir -p /etc/systemd/journald.conf.d
        cp "$HERE/conf/journald/mlw-rec.conf" /etc/systemd/journald.conf.d/mlw-rec.conf
        JOURNAL_SINCE=$(date -u '+%Y-%m-%d %H:%M:%S')
        sleep 1
        setsid /lib/systemd/systemd-journald > "$STAGE/journald.out" 2>&1 < /dev/null &
        echo $! > "$STAGE/pids/journald.pid"
        local i
        for i in $(seq 25); do [ -S /run/systemd/journal/dev-log ] && break; sleep 0.2; done
        if pid_alive "$(cat "$STAGE/pids/journald.pid")" && [ -S /run/systemd/journal/dev-log ]; then
            ln -sf /run/systemd/journal/dev-log /dev/log
            JOURNALD=1
            info "systemd-journald started by hand (pid $(cat "$STAGE/pids/journald.pid")), /dev/log -> /run/systemd/journal/dev-log"
        else
            info "systemd-journald could not be started: $(cat "$STAGE/journald.out")"
            stop_pidfile journald "$STAGE/pids/journald.pid"
        fi
    fi
    if [ "$JOURNALD" = 1 ]; then sock=/run/systemd/journal/syslog; else sock=/dev/log; fi
    sed -e "s#@OUT@#$out#g" -e "s#@SOCK@#$sock#g" -e "s#@WORK@#$STAGE/rsyslog-work#g" \
        "$HERE/conf/rsyslog/rsyslog.conf" > "$STAGE/rsyslog.conf"
    rsyslogd -N1 -f "$STAGE/rsyslog.conf" >/dev/null 2>&1 || { rsyslogd -N1 -f "$STAGE/rsyslog.conf"; die "bad rsyslog config"; }
    rsyslogd -f "$STAGE/rsyslog.conf" -i "$STAGE/pids/rsyslogd.pid"
    local i; for i in $(seq 25); do [ -S "$sock" ] && break; sleep 0.2; done
    [ -S "$sock" ] || die "rsyslogd did not create $sock"
    info "rsyslogd started (pid $(cat "$STAGE/pids/rsyslogd.pid")), reading $sock, writing $out/syslog-*.log"
    logger -p mail.info -t mlw-rec "recording started" 2>/dev/null || true
}

stop_logging() { # outdir (journal export goes there)
    local out=$1
    sleep 2
    if [ "$JOURNALD" = 1 ] && pid_alive "$(cat "$STAGE/pids/journald.pid" 2>/dev/null)"; then
        journalctl --sync 2>/dev/null || true
        # mail facility only (Postfix, Dovecot, Exim, Sendmail all log as "mail")
        journalctl --no-pager -o json --since "$JOURNAL_SINCE" SYSLOG_FACILITY=2 \
            | grep -v '"SYSLOG_IDENTIFIER":"mlw-rec"' > "$out/journal.json" || true
        info "exported $(wc -l < "$out/journal.json") journal entries to $out/journal.json"
    fi
    stop_pidfile rsyslogd "$STAGE/pids/rsyslogd.pid"
    stop_pidfile journald "$STAGE/pids/journald.pid"
    rm -f /etc/systemd/journald.conf.d/mlw-rec.conf
    rmdir /etc/systemd/journald.conf.d 2>/dev/null || true
    rm -f /run/systemd/journal/syslog
    restore_devlog
    restore_qlen
    # drop our marker line
    local f; for f in "$out"/syslog-*.log; do [ -f "$f" ] && sed -i '/mlw-rec/d' "$f"; done
    if [ -f "$out/journal.json" ]; then
        local nj ns
        nj=$(wc -l < "$out/journal.json"); ns=$(wc -l < "$out/syslog-traditional.log")
        if [ "$nj" != "$ns" ]; then
            info "WARNING: journal has $nj mail lines but rsyslog wrote $ns (journald -> rsyslog forwarding lost lines?)"
        else
            info "journal and rsyslog agree: $nj mail lines"
        fi
    fi
    return 0
}
QLEN_SAVED=
restore_qlen() {
    if [ -n "$QLEN_SAVED" ]; then sysctl -q -w net.unix.max_dgram_qlen="$QLEN_SAVED"; QLEN_SAVED=; fi
}

# --- sink -------------------------------------------------------------------
start_sink() { # logfile
    "$PY" "$HERE/sink.py" --listen 127.0.0.1 --port 2525 --log "$1" --pidfile "$STAGE/pids/sink.pid" \
        > "$STAGE/sink.out" 2>&1 < /dev/null &
    wait_port 2525 10
    info "SMTP sink listening on 127.0.0.1:2525 (log $1)"
}
stop_sink() { stop_pidfile sink "$STAGE/pids/sink.pid"; }

# --- packages / users -------------------------------------------------------
APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" = 0 ] && [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -720 2>/dev/null | head -n1)" ]; then
        info "apt-get update"; "${APT[@]}" update >/dev/null
    fi
    APT_UPDATED=1
    info "apt-get install $*"
    "${APT[@]}" install --no-install-recommends "$@" > "$STAGE/apt.out" 2>&1 || { tail -n 30 "$STAGE/apt.out"; die "apt-get install $* failed"; }
}
installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed'; }
apt_purge() {
    local p pk=()
    for p in "$@"; do installed "$p" && pk+=("$p"); done
    [ ${#pk[@]} -eq 0 ] && return 0
    info "apt-get purge ${pk[*]}"
    "${APT[@]}" -s purge "${pk[@]}" | sed -n 's/^Purg /  will purge: /p'
    "${APT[@]}" purge "${pk[@]}" > "$STAGE/apt.out" 2>&1 || { tail -n 30 "$STAGE/apt.out"; die "apt-get purge failed"; }
}

USERS=(alice bob carol)
create_users() {
    local u
    for u in "${USERS[@]}"; do
        if ! id "$u" >/dev/null 2>&1; then
            useradd -M -d /nonexistent -s /usr/sbin/nologin -c "mlw-rec test user" "$u"
            echo "$u" >> "$STAGE/created-users"
            info "created system user $u"
        fi
    done
}
remove_users() {
    local u
    [ -f "$STAGE/created-users" ] || return 0
    for u in $(sort -u "$STAGE/created-users"); do
        if id "$u" >/dev/null 2>&1 && getent passwd "$u" | grep -q 'mlw-rec test user'; then
            userdel "$u" 2>/dev/null && info "removed system user $u"
        fi
    done
    rm -f "$STAGE/created-users"
}

ensure_snakeoil() {
    if [ ! -s /etc/ssl/certs/ssl-cert-snakeoil.pem ] || [ ! -s /etc/ssl/private/ssl-cert-snakeoil.key ]; then
        info "generating Debian snakeoil certificate (make-ssl-cert)"
        make-ssl-cert generate-default-snakeoil --force-overwrite
    fi
}

# --- queue handling ---------------------------------------------------------
settle_queue() { # expected number of messages left (deferred)
    local want=$1 i n last=-1 stable=0
    for i in $(seq 240); do
        n=$(mta_queue_busy)
        if [ "$n" -le "$want" ]; then
            [ "$n" = "$last" ] && stable=$((stable + 1)) || stable=0
            [ $stable -ge 3 ] && { info "queue settled ($n busy/deferred message(s) left)"; return 0; }
        fi
        last=$n
        sleep 1
    done
    info "WARNING: queue did not settle (still $n messages):"; mta_queue_list || true
}

# --- cleanup on exit --------------------------------------------------------
CURRENT_MTA=
cleanup() {
    local rc=$?
    set +e
    [ $rc -ne 0 ] && info "aborting (exit $rc): stopping everything we started"
    if [ -n "$CURRENT_MTA" ] && declare -f mta_stop >/dev/null; then mta_stop; fi
    stop_sink
    stop_pidfile rsyslogd "$STAGE/pids/rsyslogd.pid"
    stop_pidfile journald "$STAGE/pids/journald.pid"
    rm -f /etc/systemd/journald.conf.d/mlw-rec.conf
    restore_devlog
    restore_qlen
    if [ -n "$CURRENT_MTA" ] && [ -z "${MLW_KEEP_MTA:-}" ] && declare -f mta_purge >/dev/null; then mta_purge; fi
    [ -z "${MLW_KEEP_MTA:-}" ] && remove_users
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- one run: logging + sink + MTA + scenarios ------------------------------
# mta_* functions come from conf/<mta>/mta.sh. A run is identified by its
# label; mta_run_prepare <label> adjusts the MTA's logging configuration.
do_run() { # label outdir
    local label=$1 out=$2 json
    say "$CURRENT_MTA run '$label' -> $out"
    rm -rf "$out"; mkdir -p "$out"
    json="$out/.scenarios.json"
    mta_run_prepare "$label"
    start_logging "$STAGE/log-$label"
    start_sink "$out/sink.jsonl"
    mta_start
    DRIVE=("$PY" "$HERE/drive.py" --mta "$CURRENT_MTA" --run "$label" --out "$json" --burst "$BURST"
           --smtp-port 25 --sub-port "$SUB_PORT" --sub-tls "$SUB_TLS")
    "${DRIVE[@]}" --phase main
    say "open relay phase: relaying for 127.0.0.66 enabled"
    mta_open_relay on
    "${DRIVE[@]}" --phase openrelay
    mta_open_relay off
    info "open relay disabled again"
    say "waiting for the queue to settle"
    settle_queue 2
    info "one queue run (retries the 2 deferred messages)"
    mta_flush
    sleep 5
    settle_queue 2
    mta_queue_list | sed 's/^/  queue: /' || true
    sleep 2
    mta_stop
    stop_sink
    stop_logging "$STAGE/log-$label"
    mta_collect "$label" "$out"
    local f
    for f in "$out"/* ; do info "  $(basename "$f"): $(wc -l < "$f") lines, $(stat -c %s "$f") bytes"; done
    mta_reset_spool
}

record_mta() { # mta
    local mta=$1
    say "===== $mta ====="
    # shellcheck source=/dev/null
    source "$HERE/conf/$mta/mta.sh"
    CURRENT_MTA=$mta
    # the three MTAs conflict: purge the others (and leftovers of this one)
    apt_purge postfix postfix-pcre dovecot-core exim4 exim4-base exim4-config exim4-daemon-light exim4-daemon-heavy \
        sendmail sendmail-bin sendmail-cf sendmail-base sensible-mda
    mta_purge_files
    apt_install rsyslog swaks libnet-ssleay-perl libio-socket-ssl-perl ssl-cert
    ensure_snakeoil
    create_users
    mta_install
    mta_configure
    local version; version=$(mta_version)
    info "$mta version: $version"
    local dest="$HERE/$mta" label
    rm -rf "$STAGE/$mta"; mkdir -p "$STAGE/$mta"
    for label in $(mta_runs); do
        do_run "$label" "$STAGE/$mta/$label"
    done
    say "copying recordings to $dest"
    rm -rf "$dest"; mkdir -p "$dest"
    local runjsons=()
    # every recorded file is stored gzip'ed (gzip -9n: reproducible, no name/time
    # in the header) to keep the repository small; read them with zcat / gzip.open
    local f
    for label in $(mta_runs); do
        mkdir -p "$dest/$label"
        for f in "$STAGE/$mta/$label"/*; do
            gzip -9n < "$f" > "$dest/$label/$(basename "$f").gz"
        done
        runjsons+=("$STAGE/$mta/$label/.scenarios.json")
    done
    mta_config_dump > "$dest/config.txt" 2>&1 || true
    "$PY" "$HERE/merge_scenarios.py" --into "$HERE/scenarios.json" --mta "$mta" --version "$version" \
        --debian "$(cat /etc/debian_version)" --recordings "$HERE" "${runjsons[@]}"
    if [ -z "${MLW_KEEP_MTA:-}" ]; then
        mta_purge
    fi
    CURRENT_MTA=
    unset -f mta_install mta_configure mta_version mta_runs mta_run_prepare mta_start mta_stop mta_flush \
        mta_open_relay mta_queue_busy mta_queue_list mta_collect mta_reset_spool mta_purge mta_purge_files mta_config_dump
}

for t in "${TARGETS[@]}"; do
    record_mta "$t"
done
for t in "${TARGETS[@]}"; do
    say "checking the $t recordings against scenarios.json (verify.py)"
    "$PY" "$HERE/verify.py" --mta "$t" || info "WARNING: verify.py found mismatches for $t (see above)"
done
say "done: $(cd "$HERE" && find . -type f -newer "$STAGE/hosts" | sort | tr '\n' ' ')"
