# Postfix (+ Dovecot SASL) part of recordings/record.sh (sourced by it).
# Two runs:
#   run1-syslog  : Postfix logs to syslog -> journald + rsyslog (3 formats)
#   run2-postlog : maillog_file = /var/log/postfix.log (postlogd, Postfix >= 3.4);
#                  with maillog_file set Postfix does not log to syslog at all,
#                  so this needs a second run of the same scenarios.
PF_CONF="$HERE/conf/postfix"
SUB_PORT=587
SUB_TLS=1
DOVECOT_CONF=/etc/dovecot/mlw-rec.conf
# Dovecot 2.3 (Debian 12); record_debian13.sh sets conf/dovecot24/dovecot.conf (2.4 syntax)
DOVECOT_SRC="${MLW_DOVECOT_SRC:-$HERE/conf/dovecot/dovecot.conf}"

mta_runs() { echo run1-syslog run2-postlog; }

mta_install() {
    debconf-set-selections <<'EOF'
postfix postfix/main_mailer_type select Internet Site
postfix postfix/mailname string mx1.example.com
postfix postfix/destinations string example.com, mx1.example.com, localhost
EOF
    apt_install postfix dovecot-core
}

mta_configure() {
    info "configuring Postfix (postconf -e ... from conf/postfix/main.cf.settings)"
    echo mx1.example.com > /etc/mailname
    local line
    while IFS= read -r line; do
        case "$line" in ''|'#'*) continue;; esac
        postconf -e "$line"
    done < "$PF_CONF/main.cf.settings"
    while IFS= read -r line; do
        case "$line" in
            'M '*) postconf -M "${line#M }";;
            'P '*) postconf -P "${line#P }";;
        esac
    done < "$PF_CONF/master.cf.settings"
    cp "$PF_CONF/transport" /etc/postfix/transport
    postmap /etc/postfix/transport
    [ -f /etc/aliases ] || printf 'postmaster: root\n' > /etc/aliases
    newaliases
    postfix check
    info "configuring Dovecot auth (${DOVECOT_SRC#"$HERE/"}, passwd-file)"
    cp "$DOVECOT_SRC" "$DOVECOT_CONF"
    printf 'alice:{PLAIN}alice-Secret1::::::\nbob:{PLAIN}bob-Secret2::::::\ncarol:{PLAIN}carol-Secret3::::::\n' \
        > /etc/dovecot/mlw-rec-users
    chown root:dovecot /etc/dovecot/mlw-rec-users
    chmod 0640 /etc/dovecot/mlw-rec-users
    doveconf -c "$DOVECOT_CONF" -n > /dev/null
}

mta_version() {
    echo "postfix $(dpkg-query -W -f='${Version}' postfix) (mail_version $(postconf -h mail_version)), dovecot-core $(dpkg-query -W -f='${Version}' dovecot-core)"
}

mta_run_prepare() {
    case "$1" in
        run2-postlog) rm -f /var/log/postfix.log; postconf -e 'maillog_file = /var/log/postfix.log';;
        *) postconf -e 'maillog_file =';;
    esac
}

mta_start() {
    info "starting dovecot -c $DOVECOT_CONF"
    dovecot -c "$DOVECOT_CONF"
    local i; for i in $(seq 50); do [ -S /var/spool/postfix/private/auth ] && break; sleep 0.2; done
    [ -S /var/spool/postfix/private/auth ] || die "dovecot auth socket missing"
    # Debian's init script / systemd unit copy /etc/{hosts,resolv.conf,...} into the chroot first
    [ -x /usr/lib/postfix/configure-instance.sh ] && /usr/lib/postfix/configure-instance.sh - >/dev/null 2>&1 || true
    info "postfix start"
    postfix start
    wait_port 25; wait_port 587
}

mta_stop() {
    if postfix status >/dev/null 2>&1; then info "postfix stop"; postfix stop || true; sleep 1; fi
    if [ -s /run/dovecot-mlw-rec/master.pid ]; then stop_pidfile dovecot /run/dovecot-mlw-rec/master.pid; fi
}

mta_flush() { postqueue -f; }

mta_open_relay() {
    if [ "$1" = on ]; then
        postconf -e 'mynetworks = 127.0.0.1/32 127.0.0.66/32'
    else
        postconf -e 'mynetworks = 127.0.0.1/32'
    fi
    postfix reload
    sleep 2
}

mta_queue_busy() {
    find /var/spool/postfix/maildrop /var/spool/postfix/incoming /var/spool/postfix/active \
         /var/spool/postfix/deferred -type f 2>/dev/null | wc -l
}
mta_queue_list() { postqueue -p; }

mta_collect() { # label outdir
    local label=$1 out=$2
    case "$label" in
        run2-postlog)
            cp /var/log/postfix.log "$out/postfix.log";;
        *)
            cp "$STAGE/log-$label"/syslog-*.log "$out/"
            [ -f "$STAGE/log-$label/journal.json" ] && cp "$STAGE/log-$label/journal.json" "$out/"
            ;;
    esac
    return 0
}

mta_reset_spool() {
    postsuper -d ALL >/dev/null 2>&1 || true
    rm -f /var/mail/alice /var/mail/bob /var/mail/carol /var/mail/root /var/mail/postfix
}

mta_config_dump() {
    echo "## postconf -n"; postconf -n
    echo; echo "## postconf -M (master.cf)"; postconf -M
    echo; echo "## postconf -P"; postconf -P
    echo; echo "## /etc/postfix/transport"; cat /etc/postfix/transport
    echo; echo "## doveconf -n -c $DOVECOT_CONF"; doveconf -n -c "$DOVECOT_CONF"
}

mta_purge_files() {
    rm -rf /etc/postfix /var/spool/postfix /var/lib/postfix /var/log/postfix.log /etc/dovecot /run/dovecot-mlw-rec
    rm -f /var/mail/alice /var/mail/bob /var/mail/carol /var/mail/root /var/mail/postfix
    [ -f /etc/mailname ] && grep -qx mx1.example.com /etc/mailname && rm -f /etc/mailname
    return 0
}

mta_purge() {
    mta_stop
    apt_purge postfix dovecot-core
    mta_purge_files
}
