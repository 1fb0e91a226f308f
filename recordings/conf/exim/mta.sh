# Exim 4 part of recordings/record.sh (sourced by it).
# Two runs:
#   run1-default       : Debian's default log_selector, written both to the
#                        native files (/var/log/exim4/{main,reject,panic}log)
#                        and to syslog (log_file_path = /var/log/exim4/%slog : syslog)
#                        -> journald + rsyslog (3 formats)
#   run2-pid-millisec  : log_selector = +pid +millisec, log_timezone = true,
#                        native files only
SUB_PORT=587
SUB_TLS=1
EXIM_RUNCONF=/etc/exim4/mlw-rec-run.conf

mta_runs() { echo run1-default run2-pid-millisec; }

mta_install() {
    debconf-set-selections <<'EOF'
exim4-config exim4/dc_eximconfig_configtype select internet site; mail is sent and received directly using SMTP
exim4-config exim4/mailname string mx1.example.com
exim4-config exim4/dc_local_interfaces string 127.0.0.1
exim4-config exim4/dc_other_hostnames string example.com
exim4-config exim4/use_split_config boolean false
EOF
    apt_install exim4-daemon-light
}

exim_write_runconf() { # pidms(0/1) openrelay(0/1)
    {
        echo "# written by recordings/conf/exim/mta.sh"
        [ "$1" = 1 ] && echo "MLW_PIDMS = 1"
        [ "$2" = 1 ] && echo "MLW_OPEN_RELAY = 1"
        echo "MLW_DUMMY = 1"
    } > "$EXIM_RUNCONF"
}

mta_configure() {
    info "configuring Exim (/etc/exim4/exim4.conf from conf/exim/exim4.conf)"
    echo mx1.example.com > /etc/mailname
    cp "$HERE/conf/exim/exim4.conf" /etc/exim4/exim4.conf
    exim_write_runconf 0 0
    printf 'alice: alice-Secret1\nbob: bob-Secret2\ncarol: carol-Secret3\n' > /etc/exim4/mlw-rec-passwd
    cp /etc/ssl/certs/ssl-cert-snakeoil.pem /etc/exim4/mlw-rec.crt
    cp /etc/ssl/private/ssl-cert-snakeoil.key /etc/exim4/mlw-rec.key
    chown root:Debian-exim /etc/exim4/mlw-rec-passwd /etc/exim4/mlw-rec.crt /etc/exim4/mlw-rec.key
    chmod 0640 /etc/exim4/mlw-rec-passwd /etc/exim4/mlw-rec.crt /etc/exim4/mlw-rec.key
    [ -f /etc/aliases ] || printf 'postmaster: root\n' > /etc/aliases
    exim4 -bV > /dev/null || die "exim4 -bV: configuration error"
}

mta_version() {
    echo "exim4-daemon-light $(dpkg-query -W -f='${Version}' exim4-daemon-light) ($(exim4 -bV | head -n1 | sed 's/ #.*//'))"
}

mta_run_prepare() {
    case "$1" in
        run2-pid-millisec) exim_write_runconf 1 0;;
        *) exim_write_runconf 0 0;;
    esac
    exim4 -bV > /dev/null || die "exim4 -bV: configuration error"
    mkdir -p /var/log/exim4
    rm -f /var/log/exim4/mainlog /var/log/exim4/rejectlog /var/log/exim4/paniclog
    chown Debian-adm /var/log/exim4 2>/dev/null || chown Debian-exim /var/log/exim4
}

mta_start() {
    mkdir -p /run/exim4 && chown Debian-exim:Debian-exim /run/exim4
    info "exim4 -bd -q30m"
    exim4 -bd -q30m
    wait_port 25; wait_port 587
}

mta_stop() {
    [ -s /run/exim4/exim.pid ] && stop_pidfile exim /run/exim4/exim.pid
    return 0
}

mta_flush() { exim4 -qff; }

mta_open_relay() {
    local pidms=0
    grep -q '^MLW_PIDMS' "$EXIM_RUNCONF" && pidms=1
    if [ "$1" = on ]; then exim_write_runconf $pidms 1; else exim_write_runconf $pidms 0; fi
    exim4 -bV > /dev/null || die "exim4 -bV: configuration error"
    kill -HUP "$(cat /run/exim4/exim.pid)"   # the daemon re-execs itself and re-reads the config
    sleep 2
    wait_port 25
}

mta_queue_busy() { exim4 -bpc; }
mta_queue_list() { exim4 -bp; }

mta_collect() { # label outdir
    local label=$1 out=$2 f
    for f in mainlog rejectlog paniclog; do
        [ -f /var/log/exim4/$f ] && cp /var/log/exim4/$f "$out/$f"
    done
    if [ "$label" = run1-default ]; then
        cp "$STAGE/log-$label"/syslog-*.log "$out/"
        [ -f "$STAGE/log-$label/journal.json" ] && cp "$STAGE/log-$label/journal.json" "$out/"
    fi
    return 0
}

mta_reset_spool() {
    rm -rf /var/spool/exim4/input/* /var/spool/exim4/msglog/* /var/spool/exim4/db/*
    rm -f /var/mail/alice /var/mail/bob /var/mail/carol /var/mail/root
}

mta_config_dump() {
    echo "## /etc/exim4/exim4.conf"; cat /etc/exim4/exim4.conf
    echo; echo "## /etc/exim4/mlw-rec-run.conf: run1-default: (no macro); run2-pid-millisec: MLW_PIDMS = 1;"
    echo "##   open relay phase of both runs: MLW_OPEN_RELAY = 1 (exim daemon sent SIGHUP)"
}

mta_purge_files() {
    rm -rf /etc/exim4 /var/spool/exim4 /var/log/exim4 /run/exim4 /var/lib/exim4
    rm -f /var/mail/alice /var/mail/bob /var/mail/carol /var/mail/root
    [ -f /etc/mailname ] && grep -qx mx1.example.com /etc/mailname && rm -f /etc/mailname
    return 0
}

mta_purge() {
    mta_stop
    apt_purge exim4 exim4-daemon-light exim4-base exim4-config
    mta_purge_files
}
