#!/bin/bash
# Record Dovecot 2.4's login services (IMAP, POP3, submission, ManageSieve) and its auth
# service as they log through syslog, under recordings/dovecot24/<run>/: the scenarios of
# record_dovecot.sh (recordings/drive_dovecot.py), run against the Dovecot 2.4.x of
# Debian 13 (trixie) on a Debian 12 machine, whose own Dovecot is 2.3.
#
#   bash recordings/record_dovecot24.sh
#
# Needs root on Debian 12 and, the first time, deb.debian.org:
#   - builds a trixie root in /var/tmp/mlw-trixie (kept and reused; delete it to start
#     afresh) with debootstrap --variant=minbase and installs dovecot-imapd,
#     dovecot-pop3d, dovecot-submissiond, dovecot-managesieved and rsyslog in it
#     (policy-rc.d keeps the packages from starting anything). On this machine it
#     installs what is missing of debootstrap and rsyslog;
#   - then, like record_dovecot.sh, re-executes itself in private UTS, mount and
#     network namespaces (in_private_host of recordings/lib.sh: hostname mx1, its own
#     /etc/hosts, loopback, /run and an overlay on /dev), binds that /dev, /run, a /proc
#     and /etc/hosts into the trixie root, and for each run (auth_verbose = yes, then
#     the default no) starts this machine's systemd-journald and rsyslogd (the same
#     logging as for every other recording, so that only Dovecot differs), the SMTP
#     sink, and `chroot /var/tmp/mlw-trixie dovecot -c /etc/dovecot/mlw-imap.conf`
#     (conf/dovecot24-imap/dovecot.conf); Dovecot logs to /dev/log like any daemon;
#   - drives the scenarios from this machine's python3 over the shared loopback, stops
#     everything, gzips the logs into recordings/dovecot24/<run>/ and writes
#     recordings/dovecot24/scenarios.json and config.txt (doveconf -n).
# The mounts live in the private mount namespace only and go with it (they are also
# unmounted on exit); the config and users files are removed from the root at the end.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STAGE=/var/tmp/mlw-dov24
# shellcheck source=recordings/lib.sh
source "$HERE/lib.sh"

ROOT=/var/tmp/mlw-trixie
MIRROR=http://deb.debian.org/debian
CONF=/etc/dovecot/mlw-imap.conf          # paths inside $ROOT
USERS_FILE=/etc/dovecot/mlw-imap-users
BASE_DIR=/run/dovecot-mlw-imap            # /run is shared with the root
MAIL_DIR=/run/mlw-imap-mail
RUNS=(run1-auth-verbose:yes run2-default:no)
ROOT_PACKAGES=(dovecot-imapd dovecot-pop3d dovecot-submissiond dovecot-managesieved rsyslog)

in_root() { chroot "$ROOT" "$@"; }

build_root() { # the trixie root, unless it is there with Dovecot in it
    [ -x "$ROOT/usr/sbin/dovecot" ] && return 0
    mkdir -p "$STAGE"
    installed debootstrap || apt_install debootstrap
    if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
        say "debootstrap --variant=minbase trixie $ROOT"
        debootstrap --variant=minbase trixie "$ROOT" "$MIRROR" > "$STAGE/debootstrap.out" 2>&1 \
            || { tail -n 30 "$STAGE/debootstrap.out"; die "debootstrap failed"; }
    fi
    printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
    chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
    printf 'deb %s trixie main\ndeb %s trixie-updates main\ndeb %s-security trixie-security main\n' \
        "$MIRROR" "$MIRROR" "$MIRROR" > "$ROOT/etc/apt/sources.list"
    say "installing ${ROOT_PACKAGES[*]} in $ROOT"
    # /proc and /dev for the maintainer scripts, in a mount namespace of their own
    unshare --mount --propagation private bash -c 'root=$0
        mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" &&
        chroot "$root" apt-get -y update &&
        chroot "$root" apt-get -y install --no-install-recommends "$@"' \
        "$ROOT" "${ROOT_PACKAGES[@]}" > "$STAGE/apt-root.out" 2>&1 \
        || { tail -n 30 "$STAGE/apt-root.out"; die "installing in $ROOT failed"; }
}

if [ -z "${MLW_DOV24_INNER:-}" ]; then
    [ "$(id -u)" = 0 ] || die "must run as root"
    build_root
fi
in_private_host MLW_DOV24_INNER mlw-dov24 rsyslog

unmount_root() {
    local m
    for m in etc/hosts proc run dev; do
        mountpoint -q "$ROOT/$m" && umount -R "$ROOT/$m"
    done
    return 0
}
stop_dovecot() {
    stop_pidfile dovecot "$BASE_DIR/master.pid"
    rm -f "$ROOT$CONF" "$ROOT$USERS_FILE"
    unmount_root
}
trap 'stop_all stop_dovecot' EXIT
trap 'exit 130' INT TERM

# the private host's /dev (so /dev/log is the recording's), /run and /etc/hosts
mount --rbind /dev "$ROOT/dev"
mount --rbind /run "$ROOT/run"
mount -t proc proc "$ROOT/proc"
[ -e "$ROOT/etc/hosts" ] || : > "$ROOT/etc/hosts"   # minbase has none
mount --bind "$STAGE/hosts" "$ROOT/etc/hosts"

configure() { # auth_verbose
    sed "s/@AUTH_VERBOSE@/$1/" "$HERE/conf/dovecot24-imap/dovecot.conf" > "$ROOT$CONF"
    printf 'alice:{PLAIN}alice-Secret1::::::\nbob:{PLAIN}bob-Secret2::::::\ncarol:{PLAIN}carol-Secret3::::::\n' \
        > "$ROOT$USERS_FILE"
    in_root chown root:dovecot "$USERS_FILE"
    chmod 0640 "$ROOT$USERS_FILE"
    in_root doveconf -c "$CONF" -n > /dev/null
}

do_run() { dovecot_run "$1" "$2" in_root dovecot; } # label auth_verbose

debian="$(cat "$ROOT/etc/debian_version") (a debootstrapped root on Debian $(cat /etc/debian_version))"
version="dovecot-core $(in_root dpkg-query -W -f='${Version}' dovecot-core) ($(in_root dovecot --version))"
info "$version, Debian $debian"
record_runs dovecot24
{
    echo "# $version, Debian $debian"
    echo "# doveconf -c $CONF -n of the last run; run1-auth-verbose had auth_verbose = yes"
    in_root doveconf -c "$CONF" -n
} > "$HERE/dovecot24/config.txt"
merge_truth dovecot24 drive_dovecot.py "$version" "$debian"
