#!/usr/bin/env bash
# slurm-local.sh — bring up / tear down a real single-node Slurm on this
# machine (Debian bookworm's Slurm 22.05 packages), for tests and sweeps.
#
# Usage (as root):
#   scripts/slurm-local.sh up       install if missing, start munged/slurmctld/slurmd
#   scripts/slurm-local.sh down     cancel all jobs, stop the daemons this script started
#   scripts/slurm-local.sh status   exit 0 if up, 1 if not
#
# State (config, logs, pid files, spool, job-completion log) lives in
# ${SLURM_LOCAL_DIR:-/tmp/slurm-local}. /etc/slurm/slurm.conf is made a
# symlink to "$SLURM_LOCAL_DIR/slurm.conf" so sbatch/squeue work without
# SLURM_CONF; `export SLURM_CONF=...` is printed as well.
#
# No systemd is assumed: daemons are started directly in the background and
# stopped only by the PIDs recorded in the state dir (never by name).
#
# Slurm 22.05 notes (observed with this config):
#   - Jobs start within ~1 s of becoming eligible (slurmctld's 1 s background
#     tick; batch_sched_delay=0 removes the default extra 3 s).
#   - `squeue --json` ignores -j and also lists finished jobs (COMPLETED,
#     CANCELLED, ...) for MinJobAge (300 s); top-level key "jobs".
#   - Cancel array tasks as <array_job_id>_<task>; `scancel <raw job_id of a
#     task>` is rejected by slurmctld ("invalid JobId") yet exits 0.

set -euo pipefail

readonly STATE_DIR="${SLURM_LOCAL_DIR:-/tmp/slurm-local}"
readonly CONF="$STATE_DIR/slurm.conf"
readonly ETC_CONF="/etc/slurm/slurm.conf"
readonly MUNGE_KEY="/etc/munge/munge.key"
readonly MUNGE_RUN="/run/munge"
readonly MUNGE_PIDFILE="$MUNGE_RUN/munged.pid"
readonly UP_TIMEOUT_S="${SLURM_LOCAL_UP_TIMEOUT:-30}"

# Slurm client commands must use our config even if the caller set another.
export SLURM_CONF="$CONF"

log() { printf 'slurm-local: %s\n' "$*"; }
die() {
  printf 'slurm-local: %s\n' "$*" >&2
  exit 1
}

require_root() {
  if [[ "$(id -u)" -ne 0 ]]; then
    die "must run as root (apt-get, munge, slurmd)"
  fi
}

# pid_alive FILE: true if FILE holds the PID of a live process.
pid_alive() {
  local file="$1" pid
  [[ -s "$file" ]] || return 1
  pid="$(<"$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null
}

munge_works() {
  command -v munge >/dev/null 2>&1 && command -v unmunge >/dev/null 2>&1 \
    && munge -n 2>/dev/null | unmunge >/dev/null 2>&1
}

# node_state: the partition's node state as sinfo prints it ("idle", "idle*", ...).
node_state() {
  timeout 5 sinfo -h -o '%T' 2>/dev/null | head -n1 || true
}

install_packages() {
  local bins=(slurmctld slurmd sbatch squeue sinfo scancel munged munge mungekey)
  local missing=0 b
  for b in "${bins[@]}"; do
    if ! command -v "$b" >/dev/null 2>&1 && [[ ! -x "/usr/sbin/$b" ]]; then
      missing=1
    fi
  done
  ((missing)) || return 0

  local pkgs=(slurmctld slurmd slurm-client munge)
  log "installing ${pkgs[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${pkgs[@]}" >"$STATE_DIR/apt.log" 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update >>"$STATE_DIR/apt.log" 2>&1 \
      || die "apt-get update failed (see $STATE_DIR/apt.log)"
    apt-get install -y --no-install-recommends "${pkgs[@]}" >>"$STATE_DIR/apt.log" 2>&1 \
      || die "apt-get install ${pkgs[*]} failed (see $STATE_DIR/apt.log)"
  fi
}

setup_munge() {
  if [[ ! -s "$MUNGE_KEY" ]]; then
    log "creating munge key $MUNGE_KEY"
    install -d -o munge -g munge -m 0700 /etc/munge
    if [[ -x /usr/sbin/mungekey ]]; then
      /usr/sbin/mungekey --create --keyfile="$MUNGE_KEY" --force
    else
      dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
    fi
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"
  fi

  if munge_works; then
    return 0 # ours (pid file present) or someone else's: either way usable
  fi

  install -d -o munge -g munge -m 0755 "$MUNGE_RUN"
  install -d -o munge -g munge -m 0700 /var/log/munge
  install -d -o munge -g munge -m 0711 /var/lib/munge
  # A stale socket/pid from a killed munged makes the new one refuse to start.
  rm -f "$MUNGE_RUN/munge.socket.2" "$MUNGE_RUN/munge.socket.2.lock" "$MUNGE_PIDFILE"

  # munged daemonizes itself (its parent exits once the daemon is ready) and
  # writes its PID to $MUNGE_PIDFILE; it must not run as root.
  runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGE_PIDFILE" \
    || die "munged failed to start (see /var/log/munge/munged.log)"
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$MUNGE_PIDFILE" ]] && break
    sleep 0.1
  done
  cp "$MUNGE_PIDFILE" "$STATE_DIR/munged.pid" \
    || die "munged started but wrote no pid file $MUNGE_PIDFILE"
  munge_works || die "munged is running but 'munge -n | unmunge' fails"
}

write_conf() {
  local cpus mem_mb real_mem
  cpus="$(nproc)"
  mem_mb="$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
  # Leave a margin so slurmd's own measurement never falls below RealMemory.
  if ((mem_mb > 2048)); then
    real_mem=$((mem_mb - 1024))
  else
    real_mem=$((mem_mb * 8 / 10))
  fi

  local tmp="$CONF.tmp.$$"
  cat >"$tmp" <<EOF
# Generated by scripts/slurm-local.sh — single-node local Slurm. Do not edit.
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
SlurmdParameters=config_overrides
MailProg=/bin/true
# No accounting; job completions go to a text file.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE_DIR/jobcomp.log
# State, spool, pids and logs all under the state dir.
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/slurmctld.daemon.pid
SlurmdPidFile=$STATE_DIR/slurmd.daemon.pid
SlurmctldLogFile=$STATE_DIR/slurmctld.log
SlurmdLogFile=$STATE_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  mv -f "$tmp" "$CONF"
  chmod 0644 "$CONF"

  # Make it the system default so plain `sbatch` works without SLURM_CONF.
  install -d -m 0755 /etc/slurm
  if [[ -e "$ETC_CONF" && ! -L "$ETC_CONF" ]]; then
    log "backing up existing $ETC_CONF to $ETC_CONF.slurm-local.bak"
    mv -f "$ETC_CONF" "$ETC_CONF.slurm-local.bak"
  fi
  ln -sfn "$CONF" "$ETC_CONF"
}

# start_daemon NAME ARGS...: run a foreground (-D) daemon in the background,
# detached from this shell's session, recording its PID in the state dir.
start_daemon() {
  local name="$1"
  shift
  local pidfile="$STATE_DIR/$name.pid"
  if pid_alive "$pidfile"; then
    return 0
  fi
  # setsid execs in place (we are not a process-group leader), so $! is the
  # daemon's own PID.
  setsid nohup "$@" </dev/null >>"$STATE_DIR/$name.out" 2>&1 &
  echo "$!" >"$pidfile"
}

cmd_up() {
  require_root
  local t0=$SECONDS t0_us=${EPOCHREALTIME/[.,]/}
  mkdir -p "$STATE_DIR" "$STATE_DIR/state" "$STATE_DIR/spool"
  chmod 0755 "$STATE_DIR"

  if pid_alive "$STATE_DIR/slurmctld.pid" && pid_alive "$STATE_DIR/slurmd.pid" \
    && munge_works && [[ "$(node_state)" =~ ^(idle|mixed|allocated|completing) ]]; then
    log "already up (node: $(node_state))"
    log "export SLURM_CONF=$CONF"
    return 0
  fi

  install_packages
  setup_munge
  write_conf

  if ! pid_alive "$STATE_DIR/slurmctld.pid" && timeout 5 scontrol ping 2>/dev/null | grep -q 'UP'; then
    die "a slurmctld not started by this script answers on localhost; stop it first"
  fi

  start_daemon slurmctld /usr/sbin/slurmctld -D -i -f "$CONF"
  start_daemon slurmd /usr/sbin/slurmd -D -N localhost -f "$CONF"

  local state=""
  while ((SECONDS - t0 < UP_TIMEOUT_S)); do
    pid_alive "$STATE_DIR/slurmctld.pid" \
      || die "slurmctld exited; see $STATE_DIR/slurmctld.log and $STATE_DIR/slurmctld.out"
    pid_alive "$STATE_DIR/slurmd.pid" \
      || die "slurmd exited; see $STATE_DIR/slurmd.log and $STATE_DIR/slurmd.out"
    state="$(node_state)"
    [[ "$state" == idle || "$state" == mixed || "$state" == allocated ]] && break
    sleep 0.2
  done
  if [[ "$state" != idle && "$state" != mixed && "$state" != allocated ]]; then
    die "node not idle after ${UP_TIMEOUT_S}s (state: '${state:-none}'); see $STATE_DIR/*.log"
  fi
  local ms=$(((${EPOCHREALTIME/[.,]/} - t0_us) / 1000))
  log "up in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s (node localhost: $state, CPUs=$(nproc))"
  log "export SLURM_CONF=$CONF"
}

# stop_pidfiles NAME...: SIGTERM the processes recorded in NAME.pid (all at
# once: each daemon takes ~2 s to exit), wait up to 10 s, then SIGKILL.
stop_pidfiles() {
  local name pid i
  local -a names=() pids=()
  for name in "$@"; do
    if pid_alive "$STATE_DIR/$name.pid"; then
      pid="$(<"$STATE_DIR/$name.pid")"
      kill -TERM "$pid" 2>/dev/null || true
      names+=("$name")
      pids+=("$pid")
    fi
  done
  for ((i = 0; i < ${#pids[@]}; i++)); do
    local waited=0
    while kill -0 "${pids[i]}" 2>/dev/null && ((waited < 100)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "${pids[i]}" 2>/dev/null; then
      log "${names[i]} (pid ${pids[i]}) ignored SIGTERM for 10 s; sending SIGKILL"
      kill -KILL "${pids[i]}" 2>/dev/null || true
      sleep 0.2
    fi
    log "stopped ${names[i]} (pid ${pids[i]})"
  done
  for name in "$@"; do
    rm -f "$STATE_DIR/$name.pid"
  done
}

cmd_down() {
  require_root
  if pid_alive "$STATE_DIR/slurmctld.pid"; then
    local jobs i
    jobs="$(timeout 10 squeue -h -o '%A' 2>/dev/null || true)"
    if [[ -n "$jobs" ]]; then
      log "cancelling $(wc -w <<<"$jobs") job(s)"
      # shellcheck disable=SC2086 # word-splitting the job id list is intended
      timeout 10 scancel $jobs 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        [[ -z "$(timeout 5 squeue -h -o '%A' 2>/dev/null || true)" ]] && break
        sleep 0.2
      done
    fi
  fi
  # munged only if this script started it (its pid file is in our state dir).
  stop_pidfiles slurmd slurmctld munged
  rm -f "$STATE_DIR/slurmctld.daemon.pid" "$STATE_DIR/slurmd.daemon.pid"
  log "down"
}

cmd_status() {
  local ctld=down slurmd=down munged=down node
  pid_alive "$STATE_DIR/slurmctld.pid" && ctld="up (pid $(<"$STATE_DIR/slurmctld.pid"))"
  pid_alive "$STATE_DIR/slurmd.pid" && slurmd="up (pid $(<"$STATE_DIR/slurmd.pid"))"
  munge_works && munged=up
  node=""
  # sinfo against a dead slurmctld retries for seconds; only ask a live one.
  [[ "$ctld" == up* && "$munged" == up ]] && node="$(node_state)"
  log "state dir $STATE_DIR"
  log "munged: $munged; slurmctld: $ctld; slurmd: $slurmd; node: ${node:-unreachable}"
  if [[ "$ctld" == up* && "$slurmd" == up* && "$munged" == up && -n "$node" && "$node" != *'*' ]]; then
    log "up; export SLURM_CONF=$CONF"
    return 0
  fi
  log "not up"
  return 1
}

main() {
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    -h | --help | help)
      sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
      ;;
    *)
      echo "usage: $0 {up|down|status}" >&2
      exit 2
      ;;
  esac
}

main "$@"
