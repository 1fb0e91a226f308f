#!/bin/bash
# Record Debian 13 (trixie)'s MTAs the way recordings/record.sh records Debian 12's:
# the same scenarios (recordings/drive.py), the same configuration (conf/<mta>/, with
# Postfix's Dovecot SASL in 2.4's syntax: conf/dovecot24/dovecot.conf), the same
# logging (this machine's journald + rsyslogd, three formats + the journal export),
# written to recordings/debian13/<mta>/<run>/ and recordings/debian13/scenarios.json.
#
#   bash recordings/record_debian13.sh [postfix|exim|sendmail|all]   (default: all)
#
# Needs root on Debian 12 and deb.debian.org (trixie). The trixie root
# /var/tmp/mlw-trixie of record_dovecot24.sh (run that first) is not changed: each MTA
# gets an overlay of it (lower: the root; upper: /var/tmp/mlw-d13-roots/<mta>/upper,
# kept and reused; delete it to reinstall), because the three MTAs conflict as packages
# and an overlay per MTA needs no purge between them.
#   1. Packages (network): in private UTS + mount namespaces (hostname mx1, private
#      /etc/hosts), the MTA's overlay is mounted and record.sh's install_mta runs inside
#      it (chroot): the same packages (+ python3, iproute2, ca-certificates), users, snakeoil
#      certificate and configuration as record.sh installs on Debian 12.
#   2. Recording: in private UTS and mount namespaces (lib.sh's in_private_host, as
#      record_dovecot24.sh, but with this machine's network, as record.sh), the overlay
#      is mounted with the private /dev, /run, a /proc, /etc/hosts and this directory
#      bound into it, and record.sh's do_run runs
#      every run of conf/<mta>/mta.sh. do_run and the logging run here (this machine's
#      journald and rsyslogd, so that only the MTA differs from Debian 12's
#      recordings); every mta_* function, the sink and the driver (swaks,
#      /usr/sbin/sendmail) run inside the root: the mta_* functions below call this
#      script again there (MLW_D13_CALL), which sources record.sh and conf/<mta>/mta.sh
#      and runs the one function.
# The mounts exist in the private mount namespaces only and are unmounted on exit.
# Environment: MLW_BURST as for record.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=recordings/record.sh
source "$HERE/record.sh"            # lib.sh and record.sh's functions (do_run, install_mta, ...)
STAGE=/var/tmp/mlw-d13
BASE=/var/tmp/mlw-trixie            # record_dovecot24.sh's root, the overlays' lower layer
OVL=/var/tmp/mlw-d13-roots          # <mta>/{upper,work,root}
DEST="$HERE/debian13"
export MLW_DOVECOT_SRC="$HERE/conf/dovecot24/dovecot.conf"
MTA_FUNCS=(mta_install mta_configure mta_version mta_runs mta_run_prepare mta_start mta_stop mta_flush
           mta_open_relay mta_queue_busy mta_queue_list mta_collect mta_reset_spool mta_purge
           mta_purge_files mta_config_dump)
ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# --- inside a root: one function of record.sh / lib.sh / conf/<mta>/mta.sh --------------
if [ -n "${MLW_D13_CALL:-}" ]; then
    # shellcheck source=/dev/null
    source "$HERE/conf/$MLW_D13_MTA/mta.sh"
    CURRENT_MTA=$MLW_D13_MTA
    "$@"
    exit
fi

ROOT=
in_root() { # command...: in the current MTA's root, with a clean environment
    chroot "$ROOT" env -i PATH="$ROOT_PATH" HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
root_call() { # function args...: a function of record.sh/lib.sh/mta.sh inside the root
    in_root MLW_D13_CALL=1 MLW_D13_MTA="$CURRENT_MTA" MLW_BURST="$BURST" MLW_DOVECOT_SRC="$MLW_DOVECOT_SRC" \
        bash "$HERE/record_debian13.sh" "$@"
}

mount_root() { # mta run-mount: the MTA's overlay of $BASE with /dev, /proc, /etc/hosts,
    # $HERE and $STAGE; /run is a tmpfs for the packages' scripts (phase 1) or the
    # private host's /run (phase 2, journald's sockets)
    local d="$OVL/$1"
    mkdir -p "$d/upper" "$d/work" "$d/root"
    mount -t overlay "mlw-d13-$1" -o "lowerdir=$BASE,upperdir=$d/upper,workdir=$d/work" "$d/root"
    ROOT="$d/root"
    mount --rbind /dev "$ROOT/dev"
    if [ "$2" = tmpfs ]; then mount -t tmpfs -o mode=0755 mlw-d13-run "$ROOT/run"; else mount --rbind /run "$ROOT/run"; fi
    mount -t proc proc "$ROOT/proc"
    [ -e "$ROOT/etc/hosts" ] || : > "$ROOT/etc/hosts"
    mount --bind "$STAGE/hosts" "$ROOT/etc/hosts"
    mkdir -p "$ROOT$HERE" "$ROOT$STAGE"
    mount --bind "$HERE" "$ROOT$HERE"
    mount --bind "$STAGE" "$ROOT$STAGE"
}
unmount_root() {
    [ -n "$ROOT" ] && mountpoint -q "$ROOT" && umount -R "$ROOT"
    ROOT=
    return 0
}

use_root_functions() { # mta: conf/<mta>/mta.sh's variables here, its functions in the root
    # shellcheck source=/dev/null
    source "$HERE/conf/$1/mta.sh"
    CURRENT_MTA=$1
    local f
    for f in "${MTA_FUNCS[@]}"; do eval "$f() { root_call $f \"\$@\"; }"; done
}

# --- phase 1: packages, users and configuration in the MTA's overlay --------------------
if [ -n "${MLW_D13_PREP:-}" ]; then
    hostname mx1
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tmx1.example.com mx1\n' > "$STAGE/hosts"
    trap unmount_root EXIT
    mount_root "$MLW_D13_PREP" tmpfs
    use_root_functions "$MLW_D13_PREP"
    say "===== $MLW_D13_PREP: installing in $ROOT (overlay of $BASE) ====="
    # python3 for the driver, ss for lib.sh's wait_port; ca-certificates as on the
    # Debian 12 machine (Debian 13's main.cf names smtp_tls_CAfile = .../ca-certificates.crt)
    root_call apt_install python3 iproute2 ca-certificates
    root_call install_mta
    touch "$OVL/$MLW_D13_PREP/.installed"
    exit 0
fi

if [ -z "${MLW_D13_INNER:-}" ]; then
    mta_targets "$@"
    [ "$(id -u)" = 0 ] || die "must run as root"
    [ -x "$BASE/usr/sbin/dovecot" ] || die "no trixie root in $BASE: run recordings/record_dovecot24.sh first (it builds it)"
    mkdir -p "$STAGE" "$OVL"
    for t in "${TARGETS[@]}"; do
        [ -e "$OVL/$t/.installed" ] && continue
        MLW_D13_PREP=$t unshare --uts --mount --propagation private bash "$0"
    done
    export MLW_D13_TARGETS="${TARGETS[*]}"
fi

# --- phase 2: the recordings -------------------------------------------------------------
# In this machine's network namespace, as record.sh (MLW_HOST_NET): in a network namespace
# of its own no resolver answers, a PTR lookup fails temporarily instead of for good, and
# Sendmail then refuses relaying with 450 "Relaying temporarily denied. Cannot resolve PTR
# record for 127.0.0.51" and queues every message (stat=queued) instead of delivering it.
export MLW_HOST_NET=1
in_private_host MLW_D13_INNER mlw-d13 rsyslog
read -r -a TARGETS <<< "$MLW_D13_TARGETS"

stop_mine() { # the MTA, then whatever uses the root's mounts, then the mounts
    if [ -n "$CURRENT_MTA" ] && [ -n "$ROOT" ]; then mta_stop; fi
    stop_sink
    stop_pidfile rsyslogd "$STAGE/pids/rsyslogd.pid"
    stop_pidfile journald "$STAGE/pids/journald.pid"
    restore_qlen                        # this machine's network: put its sysctl back
    unmount_root
}
trap 'stop_all stop_mine' EXIT
trap 'exit 130' INT TERM

record_in_root() { # mta
    local mta=$1 version debian
    say "===== $mta (Debian 13 root) ====="
    mount_root "$mta" run
    use_root_functions "$mta"
    printf '#!/bin/sh\nexec chroot %s env -i PATH=%s HOME=/root LANG=C.UTF-8 python3 "$@"\n' "$ROOT" "$ROOT_PATH" \
        > "$STAGE/root-python"
    chmod 0755 "$STAGE/root-python"
    PY="$STAGE/root-python"             # drive.py, sink.py and merge_scenarios.py run in the root
    version=$(mta_version)
    debian="$(cat "$ROOT/etc/debian_version") (a debootstrapped root on Debian $(cat /etc/debian_version))"
    info "$mta version: $version; Debian $debian"
    mta_reset_spool                     # nothing left over from an interrupted run
    mkdir -p "$DEST"
    record_runs_of_mta "$mta" "$version" "$DEST/$mta" "$DEST/scenarios.json" "$debian"
    mta_stop
    CURRENT_MTA=
    unmount_root
    PY=/usr/bin/python3
}

for t in "${TARGETS[@]}"; do
    record_in_root "$t"
done
say "done: $(cd "$HERE" && find debian13 -type f -newer "$STAGE/hosts" | sort | tr '\n' ' ')"
