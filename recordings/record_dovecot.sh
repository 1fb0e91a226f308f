#!/bin/bash
# Record Dovecot's login services (IMAP, POP3, submission, ManageSieve) and its auth
# service as they log through syslog, under recordings/dovecot/<run>/.
#
#   bash recordings/record_dovecot.sh
#
# Needs root on Debian (12 here). Installs what is missing of dovecot-imapd,
# dovecot-pop3d, dovecot-submissiond, dovecot-managesieved and rsyslog (no MTA: this
# Dovecot is not Postfix's SASL server; recordings/record.sh records that one). Then,
# in private UTS, mount and network namespaces, so that nothing of the machine's own
# is touched or heard:
#   - hostname mx1 and a private /etc/hosts, as record.sh has them;
#   - a loopback of its own: the ports (10143, 10110, 10587, 14190) and the client
#     addresses 127.0.0.N are the recorder's alone, and so is net.unix.max_dgram_qlen;
#   - a private /run (journald's sockets and drop-in, Dovecot's base_dir) and an
#     overlay on /dev, so that /dev/log exists for this recording only;
# for each run (auth_verbose = yes, then Dovecot's default no):
#   1. starts systemd-journald and rsyslogd writing the three file formats
#      (recordings/lib.sh, as for the MTAs), the SMTP sink that Dovecot's submission
#      service relays to (recordings/sink.py; no message is sent), and
#      `dovecot -c /etc/dovecot/mlw-imap.conf` (conf/dovecot-imap/dovecot.conf),
#   2. drives the scenarios with recordings/drive_dovecot.py,
#   3. stops everything and gzips the logs into recordings/dovecot/<run>/;
# then writes what was done to recordings/dovecot/scenarios.json and the settings
# (doveconf -n) to recordings/dovecot/config.txt. The config and users files are
# removed again at the end; the packages stay installed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STAGE=/var/tmp/mlw-dov
# shellcheck source=recordings/lib.sh
source "$HERE/lib.sh"

CONF=/etc/dovecot/mlw-imap.conf
USERS_FILE=/etc/dovecot/mlw-imap-users
BASE_DIR=/run/dovecot-mlw-imap
MAIL_DIR=/run/mlw-imap-mail
RUNS=(run1-auth-verbose:yes run2-default:no)
PACKAGES=(dovecot-imapd dovecot-pop3d dovecot-submissiond dovecot-managesieved rsyslog)

in_private_host MLW_DOV_INNER mlw-dov "${PACKAGES[@]}"

stop_dovecot() {
    stop_pidfile dovecot "$BASE_DIR/master.pid"
    rm -f "$CONF" "$USERS_FILE"
}
trap 'stop_all stop_dovecot' EXIT
trap 'exit 130' INT TERM

configure() { # auth_verbose
    sed "s/@AUTH_VERBOSE@/$1/" "$HERE/conf/dovecot-imap/dovecot.conf" > "$CONF"
    printf 'alice:{PLAIN}alice-Secret1::::::\nbob:{PLAIN}bob-Secret2::::::\ncarol:{PLAIN}carol-Secret3::::::\n' \
        > "$USERS_FILE"
    chown root:dovecot "$USERS_FILE"
    chmod 0640 "$USERS_FILE"
    doveconf -c "$CONF" -n > /dev/null
}

do_run() { dovecot_run "$1" "$2" dovecot; } # label auth_verbose

version="dovecot-core $(dpkg-query -W -f='${Version}' dovecot-core) ($(dovecot --version))"
info "$version"
record_runs dovecot
{
    echo "# $version, Debian $(cat /etc/debian_version)"
    echo "# doveconf -c $CONF -n of the last run; run1-auth-verbose had auth_verbose = yes"
    doveconf -c "$CONF" -n
} > "$HERE/dovecot/config.txt"
merge_truth dovecot drive_dovecot.py "$version"
