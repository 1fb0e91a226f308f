# Shell functions shared by the recorders (recordings/record.sh for the MTAs, record_debian13.sh,
# record_dovecot.sh and record_dovecot24.sh for Dovecot's login services (2.3, 2.4),
# record_amavis.sh for amavis), sourced by them. The caller sets HERE (recordings/) and
# STAGE (its scratch directory) first.
# JOURNALD_DROPINS is where the journald drop-in goes: /etc/systemd/journald.conf.d,
# or /run/systemd/journald.conf.d inside a private host (in_private_host).
APT=(apt-get -o DPkg::Lock::Timeout=600 -y)
export DEBIAN_FRONTEND=noninteractive
PY=/usr/bin/python3
JOURNALD_DROPINS=/etc/systemd/journald.conf.d

say() { printf '\n\033[1m[record %s] %s\033[0m\n' "$(date +%H:%M:%S)" "$*"; }
info() { printf '[record %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[record] FATAL: %s\n' "$*" >&2; exit 1; }

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
        mkdir -p "$JOURNALD_DROPINS"
        cp "$HERE/conf/journald/mlw-rec.conf" "$JOURNALD_DROPINS/mlw-rec.conf"
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
    rm -f "$JOURNALD_DROPINS/mlw-rec.conf"
    rmdir "$JOURNALD_DROPINS" 2>/dev/null || true
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
start_sink() { # logfile (begun afresh: a run records what it sent, not an earlier run's)
    : > "$1"
    "$PY" "$HERE/sink.py" --listen 127.0.0.1 --port 2525 --log "$1" --pidfile "$STAGE/pids/sink.pid" \
        > "$STAGE/sink.out" 2>&1 < /dev/null &
    wait_port 2525 10
    info "SMTP sink listening on 127.0.0.1:2525 (log $1)"
}
stop_sink() { stop_pidfile sink "$STAGE/pids/sink.pid"; }

# The EXIT trap of a recorder: `trap 'stop_all stop_mine' EXIT` stops what the recorder
# started itself (its command, first), then the sink, rsyslogd and journald, and exits
# with the recorder's status.
stop_all() { # command...
    local rc=$?
    set +e
    [ $rc -ne 0 ] && info "aborting (exit $rc): stopping everything we started"
    "$@"
    stop_sink
    stop_pidfile rsyslogd "$STAGE/pids/rsyslogd.pid"
    stop_pidfile journald "$STAGE/pids/journald.pid"
    exit $rc
}

# --- packages --------------------------------------------------------------
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

# --- a private host for a recorder (record_dovecot.sh, record_amavis.sh) ------------------
# The packages are installed on the machine (their init scripts are not run: the system's
# own services are none of a recorder's business); everything that runs, runs inside
# private UTS, mount and network namespaces, as host mx1, with its own /etc/hosts, /dev
# (an overlay: /dev/log is the recorder's), /run and loopback.
in_private_host() { # marker-variable tag package...: re-execute the script inside them
    local marker=$1 tag=$2
    shift 2
    [ "$(id -u)" = 0 ] || die "must run as root"
    if [ -z "${!marker:-}" ]; then
        local missing=() p
        for p in "$@"; do installed "$p" || missing+=("$p"); done
        mkdir -p "$STAGE"
        [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
        # MLW_HOST_NET=1 (record_debian13.sh): this machine's network namespace, as record.sh
        # uses, so that its resolver answers (a PTR lookup fails for good, not temporarily)
        local net=--net
        [ -n "${MLW_HOST_NET:-}" ] && net=
        say "re-executing inside private UTS+mount${net:++network} namespaces (hostname mx1)"
        exec env "$marker=1" unshare --uts --mount $net --propagation private bash "$0"
    fi
    hostname mx1
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tmx1.example.com mx1\n' > "$STAGE/hosts"
    mount --bind "$STAGE/hosts" /etc/hosts
    mkdir -p "$STAGE/ns"
    mount -t tmpfs -o mode=0755 "$tag" "$STAGE/ns"
    mkdir -p "$STAGE/ns/upper" "$STAGE/ns/work" "$STAGE/ns/pts" "$STAGE/ns/shm"
    mount --bind /dev/pts "$STAGE/ns/pts"
    mount --bind /dev/shm "$STAGE/ns/shm"
    mount -t overlay mlw-dev -o "lowerdir=/dev,upperdir=$STAGE/ns/upper,workdir=$STAGE/ns/work" /dev
    mount --move "$STAGE/ns/pts" /dev/pts
    mount --move "$STAGE/ns/shm" /dev/shm
    mount -t tmpfs -o mode=0755 mlw-run /run
    JOURNALD_DROPINS=/run/systemd/journald.conf.d
    if [ -z "${MLW_HOST_NET:-}" ]; then
        ip link set lo up
        info "hostname $(hostname); private /etc/hosts, /dev (overlay), /run and loopback"
    else
        info "hostname $(hostname); private /etc/hosts, /dev (overlay) and /run; this machine's network"
    fi
    mkdir -p "$STAGE/pids"
}

# --- a recorder's runs (record_dovecot.sh, record_amavis.sh) ------------------------------
keep_logs() { # label out: stop the sink and the logging of a run, gzip its logs into out
    local label=$1 out=$2 f
    stop_sink
    stop_logging "$STAGE/log-$label"
    for f in "$STAGE/log-$label"/*; do
        info "  $(basename "$f"): $(wc -l < "$f") lines"
        gzip -9n < "$f" > "$out/$(basename "$f").gz"
    done
}

dovecot_run() { # label auth_verbose command...: one run of drive_dovecot.py against the
    # Dovecot that `command... -c $CONF` starts (the machine's, or one in a root), set up
    # by the caller's `configure`, with CONF, MAIL_DIR and BASE_DIR set
    local label=$1 verbose=$2 out="$STAGE/$1"
    shift 2
    say "run $label (auth_verbose = $verbose)"
    rm -rf "$out" "$MAIL_DIR"; mkdir -p "$out" "$MAIL_DIR"
    chown nobody:nogroup "$MAIL_DIR"
    configure "$verbose"
    start_logging "$STAGE/log-$label"
    start_sink "$STAGE/sink-$label.jsonl"
    info "starting $* -c $CONF"
    "$@" -c "$CONF"
    wait_port 10143; wait_port 10110; wait_port 10587; wait_port 14190
    "$PY" "$HERE/drive_dovecot.py" drive --run "$label" --auth-verbose "$verbose" \
        --out "$out/.scenarios.json"
    sleep 3
    stop_pidfile dovecot "$BASE_DIR/master.pid"
    keep_logs "$label" "$out"
}

record_runs() { # program: do_run each of RUNS (label:setting), copy them to $HERE/program
    local program=$1 r
    TRUTHS=()
    for r in "${RUNS[@]}"; do
        do_run "${r%%:*}" "${r#*:}"
        TRUTHS+=("$STAGE/${r%%:*}/.scenarios.json")
    done
    say "copying recordings to $HERE/$program"
    rm -rf "${HERE:?}/$program"; mkdir -p "$HERE/$program"
    for r in "${RUNS[@]}"; do
        mkdir -p "$HERE/$program/${r%%:*}"
        cp "$STAGE/${r%%:*}"/*.gz "$HERE/$program/${r%%:*}/"
    done
}

merge_truth() { # program driver version [debian]: the runs' ground truth into
    # program/scenarios.json; debian is the release recorded (default this machine's)
    "$PY" "$HERE/$2" merge --into "$HERE/$1/scenarios.json" --version "$3" \
        --debian "${4:-$(cat /etc/debian_version)}" --recordings "$HERE" --program "$1" \
        "${TRUTHS[@]}"
    say "done: $(cd "$HERE" && find "$1" -type f | sort | tr '\n' ' ')"
}
