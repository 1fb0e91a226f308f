#!/bin/bash
# Record amavisd-new's verdict lines (with SpamAssassin and ClamAV's clamscan) as they
# log through syslog, under recordings/amavis/<run>/.
#
#   bash recordings/record_amavis.sh
#
# Needs root on Debian (12 here). Installs what is missing of amavisd-new, spamassassin,
# clamav and rsyslog (no MTA: recordings/drive_amavis.py hands the messages to amavis as
# Postfix's content-filter client does, XFORWARD included, and recordings/sink.py plays
# Postfix's re-injection listener). Then, in private UTS, mount and network namespaces,
# so that nothing of the machine's own is touched or heard:
#   - hostname mx1 and a private /etc/hosts, as record.sh has them;
#   - a loopback of its own (ports 10024, 10026, 2525 and the client addresses);
#   - a private /run and an overlay on /dev, so that /dev/log exists for this recording
#     only; conf/amavis/50-user bind-mounted over Debian's empty
#     /etc/amavis/conf.d/50-user (amavis's home, temp, database and quarantine go to
#     $STAGE, not to /var/lib/amavis);
# for each run ($log_level 0, Debian's default, then 2, which adds per-message lines):
#   1. starts systemd-journald and rsyslogd writing the three file formats
#      (recordings/lib.sh, as for the MTAs), the sink, and amavisd (foreground mode,
#      backgrounded here: no init system in the namespace),
#   2. drives the scenarios with recordings/drive_amavis.py,
#   3. stops everything and gzips the logs into recordings/amavis/<run>/;
# then writes what was done to recordings/amavis/scenarios.json and the configuration
# used to recordings/amavis/config.txt. The packages stay installed, and amavis is not
# started outside the recorder (Debian's policy-rc.d keeps the init script from it).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STAGE=/var/tmp/mlw-amavis
# shellcheck source=recordings/lib.sh
source "$HERE/lib.sh"

RUNS=(run1-loglevel0:0 run2-loglevel2:2)
PACKAGES=(amavisd-new spamassassin clamav rsyslog)

in_private_host MLW_AMAVIS_INNER mlw-amavis "${PACKAGES[@]}"

stop_amavis() { stop_pidfile amavisd "$STAGE/pids/amavisd.pid"; }
trap 'stop_all stop_amavis' EXIT
trap 'exit 130' INT TERM

configure() { # log_level
    rm -rf "$STAGE/home" "$STAGE/run"
    mkdir -p "$STAGE/home/tmp" "$STAGE/home/db" "$STAGE/home/var" "$STAGE/home/virusmails" \
        "$STAGE/run"
    chown -R amavis:amavis "$STAGE/home" "$STAGE/run"
    cp "$HERE/conf/amavis/eicar.hdb" "$STAGE/eicar.hdb"
    chmod 0644 "$STAGE/eicar.hdb"
    sed -e "s#@STAGE@#$STAGE#g" -e "s/^\$log_level = 0;/\$log_level = $1;/" \
        "$HERE/conf/amavis/50-user" > "$STAGE/50-user"
    mountpoint -q /etc/amavis/conf.d/50-user || mount --bind "$STAGE/50-user" /etc/amavis/conf.d/50-user
}

do_run() { # label log_level
    local label=$1 level=$2 out="$STAGE/$1"
    say "run $label (\$log_level = $level)"
    rm -rf "$out"; mkdir -p "$out"
    configure "$level"
    start_logging "$STAGE/log-$label"
    start_sink "$STAGE/sink-$label.jsonl"
    info "starting amavisd foreground"
    setsid amavisd foreground > "$STAGE/amavisd-$label.out" 2>&1 < /dev/null &
    echo $! > "$STAGE/pids/amavisd.pid"
    wait_port 10024 120; wait_port 10026 10
    "$PY" "$HERE/drive_amavis.py" drive --run "$label" --log-level "$level" \
        --out "$out/.scenarios.json"
    sleep 3
    stop_pidfile amavisd "$STAGE/pids/amavisd.pid"
    keep_logs "$label" "$out"
    gzip -9n < "$STAGE/sink-$label.jsonl" > "$out/sink.jsonl.gz"
}

version="amavisd-new $(dpkg-query -W -f='${Version}' amavisd-new), spamassassin $(dpkg-query -W -f='${Version}' spamassassin), clamav $(dpkg-query -W -f='${Version}' clamav)"
info "$version"
record_runs amavis
{
    echo "# $version, Debian $(cat /etc/debian_version)"
    echo "# Debian's /etc/amavis/conf.d/* with conf/amavis/50-user (@STAGE@ = $STAGE) as 50-user;"
    echo "# run2-loglevel2 had \$log_level = 2; the 50-user of the last run, comments left out:"
    grep -v '^\s*#' "$STAGE/50-user" | sed '/^\s*$/d'
} > "$HERE/amavis/config.txt"
merge_truth amavis drive_amavis.py "$version"
