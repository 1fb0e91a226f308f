# Sendmail part of recordings/record.sh (sourced by it).
# One run:
#   run1-syslog : sendmail logs only to syslog -> journald + rsyslog (3 formats)
SUB_PORT=587
SUB_TLS=1
SM_CONF="$HERE/conf/sendmail"

mta_runs() { echo run1-syslog; }

mta_install() {
    # sensible-mda + procmail: the local mailer of Debian's sendmail (what the "sendmail" metapackage pulls in)
    apt_install sendmail-bin sendmail-cf sensible-mda procmail m4 make sasl2-bin libsasl2-modules
    # the package's postinst may have started nothing (policy-rc.d) or the daemons:
    [ -x /etc/init.d/sendmail ] && /etc/init.d/sendmail stop >/dev/null 2>&1 || true
}

sm_make() {
    make -s -C /etc/mail > "$STAGE/sm-make.out" 2>&1 || { cat "$STAGE/sm-make.out"; die "make -C /etc/mail failed"; }
}

mta_configure() {
    info "configuring Sendmail (/etc/mail/sendmail.mc from conf/sendmail/, make -C /etc/mail)"
    cp "$SM_CONF/sendmail.mc" /etc/mail/sendmail.mc
    cp "$SM_CONF/access" /etc/mail/access
    cp "$SM_CONF/mailertable" /etc/mail/mailertable
    cp "$SM_CONF/local-host-names" /etc/mail/local-host-names
    # Cyrus SASL application config (Debian: /usr/lib/sasl2/Sendmail.conf -> /etc/mail/sasl/Sendmail.conf.2)
    mkdir -p /etc/mail/sasl /usr/lib/sasl2
    cp "$SM_CONF/Sendmail.conf" /etc/mail/sasl/Sendmail.conf.2
    ln -sfn /etc/mail/sasl/Sendmail.conf.2 /usr/lib/sasl2/Sendmail.conf
    rm -f /etc/sasldb2
    local u p
    for u in alice:alice-Secret1 bob:bob-Secret2 carol:carol-Secret3; do
        p=${u#*:}; u=${u%%:*}
        printf '%s' "$p" | saslpasswd2 -p -c -u mx1.example.com -a Sendmail "$u"
    done
    chown root:smmsp /etc/sasldb2 2>/dev/null || true
    chmod 0640 /etc/sasldb2
    sm_make
    [ -s /etc/mail/sendmail.cf.errors ] && { cat /etc/mail/sendmail.cf.errors; die "errors in sendmail.cf"; }
    return 0
}

mta_version() {
    echo "sendmail-bin $(dpkg-query -W -f='${Version}' sendmail-bin) ($(/usr/sbin/sendmail -d0.1 -bt < /dev/null 2>/dev/null | sed -n 's/^Version //p' | head -n1)), libsasl2-modules $(dpkg-query -W -f='${Version}' libsasl2-modules)"
}

mta_run_prepare() { :; }

mta_start() {
    info "/etc/init.d/sendmail start"
    /etc/init.d/sendmail start
    wait_port 25; wait_port 587
}

mta_stop() {
    if [ -x /etc/init.d/sendmail ] && [ -s /run/sendmail/mta/sendmail.pid ]; then
        info "/etc/init.d/sendmail stop"
        /etc/init.d/sendmail stop || true
    fi
    return 0
}

mta_flush() { /usr/sbin/sendmail -q -v > /dev/null 2>&1 || true; }

mta_open_relay() {
    cp "$SM_CONF/access" /etc/mail/access
    [ "$1" = on ] && printf 'Connect:127.0.0.66\tRELAY\n' >> /etc/mail/access
    makemap hash /etc/mail/access < /etc/mail/access   # sendmail notices the rebuilt map by itself
    sleep 1
}

mta_queue_busy() {
    find /var/spool/mqueue /var/spool/mqueue-client -name 'qf*' 2>/dev/null | wc -l
}
mta_queue_list() { mailq; }

mta_collect() { # label outdir
    local label=$1 out=$2
    cp "$STAGE/log-$label"/syslog-*.log "$out/"
    [ -f "$STAGE/log-$label/journal.json" ] && cp "$STAGE/log-$label/journal.json" "$out/"
    return 0
}

mta_reset_spool() {
    rm -f /var/spool/mqueue/* /var/spool/mqueue-client/* 2>/dev/null || true
    rm -f /var/mail/alice /var/mail/bob /var/mail/carol /var/mail/root
}

mta_config_dump() {
    echo "## /etc/mail/sendmail.mc"; cat /etc/mail/sendmail.mc
    echo; echo "## /etc/mail/access (open relay phase adds: Connect:127.0.0.66 RELAY)"; cat "$SM_CONF/access"
    echo; echo "## /etc/mail/mailertable"; cat /etc/mail/mailertable
    echo; echo "## /etc/mail/local-host-names"; cat /etc/mail/local-host-names
    echo; echo "## /etc/mail/sasl/Sendmail.conf.2"; cat /etc/mail/sasl/Sendmail.conf.2
    echo; echo "## /etc/mail/submit.mc (Debian default)"; grep -v '^#' /etc/mail/submit.mc | grep -v '^$'
}

mta_purge_files() {
    rm -rf /etc/mail /var/spool/mqueue /var/spool/mqueue-client /run/sendmail /var/lib/sendmail /etc/sasldb2
    [ -L /usr/lib/sasl2/Sendmail.conf ] && rm -f /usr/lib/sasl2/Sendmail.conf
    rm -f /var/mail/alice /var/mail/bob /var/mail/carol /var/mail/root
    [ -f /etc/mailname ] && grep -qx mx1.example.com /etc/mailname && rm -f /etc/mailname
    return 0
}

mta_purge() {
    mta_stop
    apt_purge sendmail sendmail-bin sendmail-cf sendmail-base sensible-mda procmail sasl2-bin
    mta_purge_files
}
