#!/bin/bash
# Single-node Slurm 22.05 (Debian 12) on localhost, as root, no systemd: the real scheduler the
# Slurm executor's end-to-end tests and `.ci/run` use. Needs `apt-get install -y slurm-wlm munge`.
# Usage: scripts/slurm-localhost.sh [--accounting]   (stop with: kill $(cat /tmp/slurm-pids))
# Does nothing when a controller already answers, so CI and developers can call it freely.
#
# Adapted from the shared recipe: the node declares 4 CPUs (config_overrides: slurmd does not check
# them against the 2 real cores) so that its 2 fake GPUs, not CPUs, bound a fan-out of GPU jobs;
# DefMemPerCPU=1000 of RealMemory=8000 lets several jobs share the node (without a default, each
# job would claim all the memory and jobs would run one at a time); the backfill scheduler runs
# every second instead of every 30 s, so a job queued behind a blocked one starts promptly (this
# took 20 one-line stages run one at a time from 57 s to 22 s here; see docs/cluster.md).
set -euo pipefail
ACCT=${1:-}
# The daemons keep this cwd and slurmstepd complains into every job's output once it is gone (a
# deleted CI checkout): start them from /.
cd /
if sinfo -h -o %T 2>/dev/null | grep -Eqx 'idle|mixed|allocated'; then sinfo; exit 0; fi
: > /tmp/slurm-pids
# munge (key is created by the munge postinst; else: mungekey --create)
[ -f /etc/munge/munge.key ] || { mungekey --create; chown munge:munge /etc/munge/munge.key; }
install -d -o munge -g munge -m 0755 /run/munge
# A munged left from an earlier start keeps its socket: reuse it rather than fail on the lock.
if ! { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }; then
  su -s /bin/sh munge -c /usr/sbin/munged
  cat /run/munge/munged.pid >> /tmp/slurm-pids
fi
# fake GPUs: gres/gpu drops file-less GPUs, and files must be char/block devices
install -d /run/fakegpu
for i in 0 1; do [ -e /run/fakegpu/gpu$i ] || mknod /run/fakegpu/gpu$i c 1 3; done
install -d /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/gres.conf <<'G'
NodeName=localhost Name=gpu Type=fake File=/run/fakegpu/gpu[0-1]
G
ACCT_LINES="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
if [ "$ACCT" = --accounting ]; then
  install -d -o mysql -g mysql /run/mysqld
  /usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql --socket=/run/mysqld/mysqld.sock \
     --bind-address=127.0.0.1 --pid-file=/run/mysqld/mariadb.pid >/var/log/slurm/mariadb.out 2>&1 &
  echo $! >> /tmp/slurm-pids
  for i in $(seq 1 100); do mariadb -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
  mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
  cat > /etc/slurm/slurmdbd.conf <<'D'
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
D
  chmod 600 /etc/slurm/slurmdbd.conf
  slurmdbd -D >/var/log/slurm/slurmdbd.out 2>&1 &
  echo $! >> /tmp/slurm-pids
  for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6819) 2>/dev/null && break; sleep 0.1; done
  ACCT_LINES="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageTRES=gres/gpu"
fi
cat > /etc/slurm/slurm.conf <<C
ClusterName=mlbuild
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MailProg=/bin/true
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_min_interval=0,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
JobCompType=jobcomp/none
$ACCT_LINES
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
GresTypes=gpu
SlurmdParameters=config_overrides
NodeName=localhost CPUs=4 RealMemory=8000 Gres=gpu:fake:2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
C
[ "$ACCT" = --accounting ] && { sacctmgr -i add cluster mlbuild >/dev/null 2>&1 || true; }
slurmctld -D >/var/log/slurm/slurmctld.out 2>&1 &
echo $! >> /tmp/slurm-pids
slurmd -D -N localhost >/var/log/slurm/slurmd.out 2>&1 &
echo $! >> /tmp/slurm-pids
for i in $(seq 1 300); do sinfo -h -o %T 2>/dev/null | grep -qx idle && break; sleep 0.1; done
sinfo -h -o %T | grep -qx idle || { echo "slurm-localhost: the node did not become idle; see /var/log/slurm/" >&2; exit 1; }
sinfo
