#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for testing the workflow's SLURM profile.
#   scripts/slurm_localhost.sh start STATE_DIR   # installs what is missing, starts munged,
#                                                # slurmctld and slurmd; prints SLURM_CONF
#   scripts/slurm_localhost.sh stop  STATE_DIR   # stops the three daemons by their PID files
# Everything (config, munge key and socket, spool, logs, PIDs) lives in STATE_DIR: nothing in
# /etc is changed, and a SLURM already running elsewhere on the machine is left alone (the
# ports can be moved with SLURM_LOCAL_PORT, default 6917 and the one after it).
# Clients find this cluster through PATH=STATE_DIR/bin:$PATH: wrappers of srun, sbatch, squeue,
# ... that set SLURM_CONF=STATE_DIR/slurm.conf. (SLURM_CONF alone is not enough: Snakemake's
# jobstep plugin clears SLURM_* variables before the srun inside each job; PATH survives.)
set -euo pipefail

action=${1:-}
state=${2:-}
if [ -z "$action" ] || [ -z "$state" ]; then
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
fi
mkdir -p "$state"
state=$(cd "$state" && pwd)
conf="$state/slurm.conf"

stop_pid() {  # stop the daemon whose PID file is $1, waiting up to 10 s
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

if [ "$action" = stop ]; then
  stop_pid "$state/slurmd.pid"
  stop_pid "$state/slurmctld.pid"
  stop_pid "$state/munged.pid"
  echo "[slurm] stopped (state kept in $state)"
  exit 0
fi
[ "$action" = start ] || { echo "unknown action $action (start or stop)" >&2; exit 2; }

missing=0
for tool in munged slurmctld slurmd sbatch squeue; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || missing=1
done
if [ "$missing" = 1 ]; then
  echo "[slurm] installing slurmctld, slurmd, slurm-client and munge (Debian packages)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
fi
export PATH="$PATH:/usr/sbin"

user=$(id -un)
port=${SLURM_LOCAL_PORT:-6917}
cpus=$(nproc)
# Leave 1 GiB to the system; jobs asking for more than the rest are refused by SLURM.
memory=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))
mkdir -p "$state/munge" "$state/spool/ctld" "$state/spool/d" "$state/log"
chmod 700 "$state/munge"

if [ ! -f "$state/munge/munge.key" ]; then
  dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$state/munge/munge.key"
fi

cat > "$conf" <<EOF
# Written by scripts/slurm_localhost.sh: one node (this machine), one partition.
ClusterName=localhost
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$state/spool/ctld
SlurmdSpoolDir=$state/spool/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
# Finished jobs stay visible to squeue for a day: Snakemake's SLURM plugin polls squeue (there is
# no accounting database), and the test reads every job's limits back after the whole run (with
# 10 minutes, the first jobs of a 12-minute smoke run were gone by then).
MinJobAge=86400
MpiDefault=none
NodeName=localhost CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

# Stale daemons from an earlier start in the same folder go first.
stop_pid "$state/slurmd.pid"
stop_pid "$state/slurmctld.pid"
stop_pid "$state/munged.pid"

munged --force --key-file="$state/munge/munge.key" --socket="$state/munge/munge.socket" \
  --pid-file="$state/munged.pid" --log-file="$state/log/munged.log" \
  --seed-file="$state/munge/munge.seed"
slurmctld -f "$conf" -i
slurmd -f "$conf"

mkdir -p "$state/bin"
system_path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -x -F "$state/bin" | paste -sd: -)
for tool in srun sbatch squeue sacct scancel sinfo scontrol; do
  real=$(PATH=$system_path command -v "$tool")
  printf '#!/bin/sh\nSLURM_CONF=%q exec %q "$@"\n' "$conf" "$real" > "$state/bin/$tool"
  chmod +x "$state/bin/$tool"
done
export SLURM_CONF="$conf"
for _ in $(seq 60); do
  if sinfo -h -o '%t' 2>/dev/null | grep -q -E '^(idle|mix|alloc)'; then
    echo "[slurm] running: node localhost, $cpus CPUs, $memory MB; export PATH=$state/bin:\$PATH"
    exit 0
  fi
  sleep 0.5
done
echo "[slurm] the node did not come up within 30 s; logs in $state/log/" >&2
tail -n 20 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
exit 1
