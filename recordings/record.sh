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
# The logging, process and package functions are recordings/lib.sh, shared with
# recordings/record_dovecot.sh.
#
# Environment: MLW_BURST (default 150) messages in the volume burst,
#              MLW_KEEP_MTA=1 to leave the last MTA installed (stopped).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STAGE=/var/tmp/mlw-rec
BURST="${MLW_BURST:-150}"
# shellcheck source=recordings/lib.sh
source "$HERE/lib.sh"

# --- users ------------------------------------------------------------------
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
    rm -f "$JOURNALD_DROPINS/mlw-rec.conf"
    restore_devlog
    restore_qlen
    if [ -n "$CURRENT_MTA" ] && [ -z "${MLW_KEEP_MTA:-}" ] && declare -f mta_purge >/dev/null; then mta_purge; fi
    [ -z "${MLW_KEEP_MTA:-}" ] && remove_users
    exit $rc
}
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

# The two halves of record_mta that recordings/record_debian13.sh (which sources this
# file for its functions) reuses with the mta_* functions running in a Debian 13 root.
install_mta() { # the packages every MTA needs, the users, the MTA, its configuration
    apt_install rsyslog swaks libnet-ssleay-perl libio-socket-ssl-perl ssl-cert
    ensure_snakeoil
    create_users
    mta_install
    mta_configure
}

record_runs_of_mta() { # mta version dest scenarios.json debian: every run, gzipped into dest
    local mta=$1 version=$2 dest=$3 into=$4 debian=$5 label
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
    "$PY" "$HERE/merge_scenarios.py" --into "$into" --mta "$mta" --version "$version" \
        --debian "$debian" --recordings "$(dirname "$dest")" "${runjsons[@]}"
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
    install_mta
    local version; version=$(mta_version)
    info "$mta version: $version"
    record_runs_of_mta "$mta" "$version" "$HERE/$mta" "$HERE/scenarios.json" "$(cat /etc/debian_version)"
    if [ -z "${MLW_KEEP_MTA:-}" ]; then
        mta_purge
    fi
    CURRENT_MTA=
    unset -f mta_install mta_configure mta_version mta_runs mta_run_prepare mta_start mta_stop mta_flush \
        mta_open_relay mta_queue_busy mta_queue_list mta_collect mta_reset_spool mta_purge mta_purge_files mta_config_dump
}

mta_targets() { # argument...: the MTAs to record (TARGETS): those named, or all three
    TARGETS=("$@")
    [ ${#TARGETS[@]} -eq 0 ] && TARGETS=(all)
    [ "${TARGETS[0]}" = all ] && TARGETS=(postfix exim sendmail)
    for t in "${TARGETS[@]}"; do
        case "$t" in postfix|exim|sendmail) ;; *) echo "usage: $0 [postfix|exim|sendmail|all]" >&2; exit 2;; esac
    done
}

# recordings/record_debian13.sh sources this file for its functions only
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

mta_targets "$@"

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

trap cleanup EXIT
trap 'exit 130' INT TERM

for t in "${TARGETS[@]}"; do
    record_mta "$t"
done
for t in "${TARGETS[@]}"; do
    say "checking the $t recordings against scenarios.json (verify.py)"
    "$PY" "$HERE/verify.py" --mta "$t" || info "WARNING: verify.py found mismatches for $t (see above)"
done
say "done: $(cd "$HERE" && find . -type f -newer "$STAGE/hosts" | sort | tr '\n' ' ')"
