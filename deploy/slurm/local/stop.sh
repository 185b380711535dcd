#!/usr/bin/env bash
# Stop the 3-node cluster started by start.sh: cancel jobs, slurmd x3, slurmctld, munged.
# Usage: stop.sh [--keep-jobs] [--keep-munge]
#   --keep-jobs   do not scancel queued/running jobs first (they are kept in the saved state)
#   --keep-munge  leave munged running
# Only processes named in this cluster's pid files (and slurmstepd processes whose
# environment carries this cluster's SLURM_CONF) are signalled.
set -u

# Where the cluster keeps its config, state, logs and spool: DEEPSWEEP_SLURM_ROOT, default /tmp/deepsweep-slurm.
ROOT="${DEEPSWEEP_SLURM_ROOT:-/tmp/deepsweep-slurm}"
export SLURM_CONF="$ROOT/etc/slurm.conf"
VAR="$ROOT/var"
NODES=(n1 n2 n3)
KEEP_JOBS=0
KEEP_MUNGE=0
for a in "$@"; do
  case "$a" in
    --keep-jobs) KEEP_JOBS=1 ;;
    --keep-munge) KEEP_MUNGE=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "stop.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done
log() { echo "stop.sh: $*"; }

alive_pid() {  # pidfile comm -> prints pid if alive
  local f="$1" comm="$2" p
  [ -s "$f" ] || return 1
  p="$(cat "$f" 2>/dev/null)"
  [[ "$p" =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$comm" ] && echo "$p"
}

ctld_pid="$(alive_pid "$VAR/run/slurmctld.pid" slurmctld)"

# 1. cancel jobs so no job processes survive (scancel: SIGCONT+SIGTERM, SIGKILL after KillWait)
if [ -n "$ctld_pid" ] && [ "$KEEP_JOBS" = 0 ]; then
  jobs="$(timeout 5 squeue -h -o '%A' 2>/dev/null | sort -u | paste -sd' ' -)"
  if [ -n "$jobs" ]; then
    log "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    timeout 10 scancel $jobs 2>/dev/null
    timeout 30 bash -c 'while [ -n "$(squeue -h 2>/dev/null)" ]; do sleep 0.5; done' \
      || log "warning: jobs still listed after 30 s"
  fi
fi

# 2. ask the controller to shut down itself and all slurmd
if [ -n "$ctld_pid" ]; then
  timeout 10 scontrol shutdown >/dev/null 2>&1 && log "scontrol shutdown sent"
fi

# 3. wait (bounded) for pid-file daemons, then TERM / KILL the rest
pids=()
for f in "$VAR/run/slurmctld.pid" "$VAR"/run/slurmd-*.pid; do
  comm=slurmd; [[ "$f" == *slurmctld.pid ]] && comm=slurmctld
  p="$(alive_pid "$f" "$comm")" && pids+=("$p")
done
still() { local r=(); for p in "$@"; do [ -d "/proc/$p" ] && r+=("$p"); done; echo "${r[*]}"; }
for sig in NONE TERM KILL; do
  [ "$sig" != NONE ] && [ -n "$(still "${pids[@]}")" ] && { log "sending SIG$sig to $(still "${pids[@]}")"; kill -s "$sig" $(still "${pids[@]}") 2>/dev/null; }
  for _ in $(seq 1 20); do [ -z "$(still "${pids[@]}")" ] && break; sleep 0.5; done
  [ -z "$(still "${pids[@]}")" ] && break
done

descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
# 4. orphaned slurmstepd of THIS cluster (e.g. after a slurmd was killed by a test)
for p in $(pgrep -x slurmstepd 2>/dev/null); do
  if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_CONF=$SLURM_CONF"; then
    tree="$(descendants "$p" | paste -sd" " -)"
    log "killing orphan slurmstepd $p and its descendants: $tree"
    kill -KILL "$p" $tree 2>/dev/null
  fi
done

rm -f "$VAR"/run/slurmd-*.pid "$VAR/run/slurmctld.pid"

# 5. munged
if [ "$KEEP_MUNGE" = 0 ]; then
  mp="$(alive_pid /run/munge/munged.pid munged)"
  if [ -n "$mp" ]; then
    kill -TERM "$mp"
    for _ in $(seq 1 20); do [ -d "/proc/$mp" ] || break; sleep 0.25; done
    [ -d "/proc/$mp" ] && kill -KILL "$mp"
    log "munged stopped"
  fi
fi

log "done"
