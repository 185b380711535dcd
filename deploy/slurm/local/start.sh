#!/usr/bin/env bash
# Start a 3-node SLURM cluster (n1 n2 n3) on this single host, all on 127.0.0.1.
#   munged  -> slurmctld -> slurmd -N n1/n2/n3   (no systemd needed)
# Idempotent: daemons that are already running (per pid file) are left alone.
# Waits (bounded) until `sinfo` shows 3 idle nodes; exits non-zero with a reason otherwise.
#
# Usage: start.sh [--clean] [--install]
#   --clean    wipe saved controller state (jobs, node states) before starting
#   --install  apt-get install the packages if the binaries are missing
# Afterwards use the cluster with:  export SLURM_CONF=$DEEPSWEEP_SLURM_ROOT/etc/slurm.conf
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Where the cluster keeps its config, state, logs and spool: DEEPSWEEP_SLURM_ROOT, default /tmp/deepsweep-slurm.
ROOT="${DEEPSWEEP_SLURM_ROOT:-/tmp/deepsweep-slurm}"
export SLURM_CONF="$ROOT/etc/slurm.conf"
NODES=(n1 n2 n3)
VAR="$ROOT/var"
WAIT_IDLE_SECS="${WAIT_IDLE_SECS:-60}"
CLEAN=0
INSTALL=0
for a in "$@"; do
  case "$a" in
    --clean) CLEAN=1 ;;
    --install) INSTALL=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "start.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done

die() { echo "start.sh: FAILED: $*" >&2; exit 1; }
log() { echo "start.sh: $*"; }

# pid_alive PIDFILE COMM -> 0 if the pid file names a live process with that command name
pid_alive() {
  local f="$1" comm="$2" p
  [ -s "$f" ] || return 1
  p="$(cat "$f" 2>/dev/null)"
  [[ "$p" =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$comm" ]
}

# ---------------------------------------------------------------- prerequisites
[ "$(id -u)" = 0 ] || die "must run as root (SlurmUser=root, munged is started as user munge)"
mkdir -p "$ROOT/etc" || die "cannot create $ROOT/etc"
sed "s#@VAR@#$ROOT/var#g" "$HERE/slurm.conf.in" > "$SLURM_CONF" || die "cannot write $SLURM_CONF"
missing=()
for b in munged munge unmunge slurmctld slurmd sinfo scontrol; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$INSTALL" = 1 ]; then
    log "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq >/dev/null 2>&1
    timeout 900 apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null \
      || die "apt-get install slurmctld slurmd slurm-client munge failed"
  else
    die "missing binaries: ${missing[*]} -- run: apt-get install -y slurmctld slurmd slurm-client munge (or pass --install)"
  fi
fi

mkdir -p "$VAR/state" "$VAR/log" "$VAR/run" || die "cannot create $VAR"
for n in "${NODES[@]}"; do mkdir -p "$VAR/spool/$n"; done

# ---------------------------------------------------------------- munge
munge_ok() { timeout 5 munge -n 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1; }
if munge_ok; then
  log "munged already running"
else
  id munge >/dev/null 2>&1 || die "user 'munge' does not exist (is the munge package installed?)"
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile=/etc/munge/munge.key --force >/dev/null 2>&1
    fi
    [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key && chmod 700 /etc/munge && chmod 400 /etc/munge/munge.key
  for d in /run/munge /var/lib/munge /var/log/munge; do
    mkdir -p "$d" && chown munge:munge "$d"
  done
  chmod 755 /run/munge
  # --force: start even if a stale socket/pid file from a dead munged is left over
  runuser -u munge -- /usr/sbin/munged --force >/dev/null 2>&1 || die "munged failed to start (see /var/log/munge/munged.log)"
  ok=0
  for _ in $(seq 1 20); do munge_ok && { ok=1; break; }; sleep 0.5; done
  [ "$ok" = 1 ] || die "munged started but 'munge -n | unmunge' fails (see /var/log/munge/munged.log)"
  log "munged started (pid $(cat /run/munge/munged.pid 2>/dev/null))"
fi

# ---------------------------------------------------------------- slurmctld
if [ "$CLEAN" = 1 ]; then
  if pid_alive "$VAR/run/slurmctld.pid" slurmctld; then
    die "--clean given but slurmctld is running; run stop.sh first"
  fi
  log "--clean: wiping $VAR/state and node spool dirs"
  rm -rf "$VAR/state"/* "$VAR/spool"/*/*
fi

port_busy_by_other() {  # port expected_comm
  local line
  line="$(ss -Hltnp "sport = :$1" 2>/dev/null)"
  [ -n "$line" ] && ! grep -q "\"$2\"" <<<"$line"
}

if pid_alive "$VAR/run/slurmctld.pid" slurmctld; then
  log "slurmctld already running (pid $(cat "$VAR/run/slurmctld.pid"))"
else
  port_busy_by_other 16817 slurmctld && die "port 16817 (SlurmctldPort) is used by another process: $(ss -Hltnp 'sport = :16817')"
  # -i: ignore errors reading state files (e.g. first start / after --clean)
  slurmctld -i || die "slurmctld failed to start; tail of $VAR/log/slurmctld.log:
$(tail -n 20 "$VAR/log/slurmctld.log" 2>/dev/null)"
  log "slurmctld started"
fi
ok=0
for _ in $(seq 1 40); do
  timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP' && { ok=1; break; }
  sleep 0.5
done
[ "$ok" = 1 ] || die "slurmctld not answering 'scontrol ping' after 20 s; tail of log:
$(tail -n 20 "$VAR/log/slurmctld.log" 2>/dev/null)"

# ---------------------------------------------------------------- slurmd x3
port_of() { sed -n "s/^NodeName=$1 .*Port=\([0-9]*\).*/\1/p" "$SLURM_CONF"; }
for n in "${NODES[@]}"; do
  pf="$VAR/run/slurmd-$n.pid"
  if pid_alive "$pf" slurmd; then
    log "slurmd $n already running (pid $(cat "$pf"))"
    continue
  fi
  p="$(port_of "$n")"
  [ -n "$p" ] && port_busy_by_other "$p" slurmd && die "port $p (node $n) is used by another process: $(ss -Hltnp "sport = :$p")"
  slurmd -N "$n" || die "slurmd -N $n failed to start; tail of $VAR/log/slurmd-$n.log:
$(tail -n 20 "$VAR/log/slurmd-$n.log" 2>/dev/null)"
  log "slurmd $n started"
done

# ---------------------------------------------------------------- wait for 3 idle nodes
deadline=$(( $(date +%s) + WAIT_IDLE_SECS ))
resumed=0
while :; do
  states="$(timeout 5 sinfo -h -N -p debug -o '%N %T' 2>/dev/null | sort -u)"
  nidle="$(awk '$2=="idle"' <<<"$states" | wc -l)"
  [ "$nidle" -ge 3 ] && break
  # nodes left DOWN/DRAINED by an earlier run whose slurmd now responds (no '*')
  # are resumed once; ReturnToService=2 normally does this by itself.
  if [ "$resumed" = 0 ] && [ "$(date +%s)" -gt $(( deadline - WAIT_IDLE_SECS + 5 )) ]; then
    stuck="$(awk '$2 ~ /^(down|drained|draining|drain)$/ {print $1}' <<<"$states" | paste -sd, -)"
    if [ -n "$stuck" ]; then
      log "resuming nodes left down/drained: $stuck"
      scontrol update NodeName="$stuck" State=RESUME >/dev/null 2>&1
    fi
    resumed=1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "start.sh: FAILED: not 3 idle nodes after ${WAIT_IDLE_SECS}s. sinfo:" >&2
    timeout 5 sinfo -N -o '%N %T %E' >&2
    busy="$(timeout 5 squeue -h 2>/dev/null | wc -l)"
    [ "$busy" -gt 0 ] && echo "  ($busy job(s) still in queue keep nodes busy; stop.sh cancels them, or use --clean)" >&2
    for n in "${NODES[@]}"; do
      if ! pid_alive "$VAR/run/slurmd-$n.pid" slurmd; then
        echo "  slurmd $n is not running; tail of its log:" >&2
        tail -n 5 "$VAR/log/slurmd-$n.log" >&2 2>/dev/null
      fi
    done
    exit 1
  fi
  sleep 0.5
done

log "cluster 'deepsweep' up: 3 idle nodes"
timeout 5 sinfo
echo "export SLURM_CONF=$SLURM_CONF"
