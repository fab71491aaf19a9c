#!/usr/bin/env python3
"""The sbatch templates of slurm/ against a real single-node Slurm (slurmctld + slurmd from
Debian's slurm-wlm, brought up in a temporary directory for the test): submit, signal, requeue,
resume; srun with PMIx; a job array over seeds; shards staged to node-local disk; the ImageNet
config (configs/imagenet_proxyless.toml: a search that trains its supernet on JPEG shards) at
the size of the bundled Tiny-ImageNet sample. Skips (77) without slurm-wlm or as non-root.

The templates request one GPU per task; this machine has none, so the test submits copies with
that one line removed. Slurm holds a requeued job back until the old run's credential expires
(`AuthInfo=cred_expire`, 120 s by default): the test's Slurm uses 10 s. Starting it earlier by hand
fails ("Job credential revoked")."""
import os
import random
import shutil
import subprocess
import sys
import time

import h5py

from cli_common import SKIP, SMALL_PREDICTOR_CONFIG, SMALL_SEARCH_CONFIG, check, hpcnas, mpirun, run, run_cases, show
from search_cli_test import check_same_outcome, supernet_state

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAEMONS = ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged"]


class LocalSlurm:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "slurm")
        for sub in ("state", "spool", "log"):
            os.makedirs(os.path.join(self.dir, sub))
        port = random.randint(20000, 29000)
        self.conf = os.path.join(self.dir, "slurm.conf")
        with open(self.conf, "w") as f:
            f.write(f"""ClusterName=hpcnas-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort={port}
SlurmdPort={port + 1}
AuthType=auth/munge
AuthInfo=cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
StateSaveLocation={self.dir}/state
SlurmdSpoolDir={self.dir}/spool
SlurmctldPidFile={self.dir}/slurmctld.pid
SlurmdPidFile={self.dir}/slurmd.pid
SlurmctldLogFile={self.dir}/log/slurmctld.log
SlurmdLogFile={self.dir}/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")
        self.env = dict(os.environ, SLURM_CONF=self.conf, HPCNAS=hpcnas())

    def start(self):
        if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode != 0:
            os.makedirs("/run/munge", exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], check=True)
        subprocess.run(["/usr/sbin/slurmctld", "-f", self.conf], check=True, env=self.env)
        subprocess.run(["/usr/sbin/slurmd", "-f", self.conf, "-N", "localhost"], check=True, env=self.env)
        deadline = time.monotonic() + 30
        while "idle" not in self.cmd("sinfo", "-h", "-o", "%T").stdout:
            check(time.monotonic() < deadline, "the local Slurm did not come up: " + self.log())
            time.sleep(0.2)

    def stop(self):
        for name in ("slurmd", "slurmctld"):
            try:
                os.kill(int(open(os.path.join(self.dir, name + ".pid")).read()), 15)
            except (OSError, ValueError):
                pass

    def cmd(self, *args):
        return subprocess.run(list(args), capture_output=True, text=True, env=self.env, cwd=REPO)

    def log(self):
        return "".join(open(os.path.join(self.dir, "log", n)).read()[-2000:] for n in ("slurmctld.log", "slurmd.log")
                       if os.path.exists(os.path.join(self.dir, "log", n)))

    def submit(self, script, options, arguments):
        proc = self.cmd("sbatch", "--parsable", *options, script, *arguments)
        check(proc.returncode == 0, f"sbatch failed{show(proc)}")
        return proc.stdout.strip().split(";")[0]

    def job(self, job_id):
        out = self.cmd("scontrol", "show", "job", job_id).stdout
        return dict(field.split("=", 1) for field in out.split() if "=" in field)

    def wait(self, job_id, predicate, what, timeout=300):
        deadline = time.monotonic() + timeout
        while True:
            info = self.job(job_id)
            if predicate(info):
                return info
            check(time.monotonic() < deadline, f"job {job_id}: timed out waiting for {what}: {info.get('JobState')}\n" + self.log())
            time.sleep(0.2)


def cpu_copy(tmp, template):
    """The template without its GPU request (this machine has no GPU)."""
    path = os.path.join(tmp, os.path.basename(template))
    with open(os.path.join(REPO, "slurm", template)) as src, open(path, "w") as dst:
        dst.writelines(line for line in src if "--gpus-per-task" not in line)
    return path


def wait_for(path, timeout=300):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        check(time.monotonic() < deadline, f"{path} did not appear")
        time.sleep(0.05)


def case_templates(tmp):
    if os.geteuid() != 0 or not all(os.path.exists(d) for d in DAEMONS) or not os.path.exists("/etc/munge/munge.key"):
        print("SKIP: needs root and slurm-wlm (slurmctld, slurmd, munged with /etc/munge/munge.key)")
        return SKIP
    config = os.path.join(tmp, "small.toml")
    with open(config, "w") as f:
        f.write(SMALL_SEARCH_CONFIG)
    straight = os.path.join(tmp, "straight")
    proc = mpirun(2, "search", "--config", config, "--out", straight)
    check(proc.returncode == 0, "straight run" + show(proc))

    slurm = LocalSlurm(tmp)
    try:
        slurm.start()
        resources = ["--ntasks-per-node=2", "--cpus-per-task=1", "--time=30"]

        # Single node: submit, SIGUSR1 to the batch shell, checkpoint, exit 75, requeue, resume.
        out = os.path.join(tmp, "single")
        log = os.path.join(tmp, "single-%j.out")
        job = slurm.submit(cpu_copy(tmp, "search_single_node.sbatch"), resources + [f"--output={log}"], [config, out])
        wait_for(os.path.join(out, "checkpoints", "checkpoint_g000001.h5"))
        signal = slurm.cmd("scancel", "--signal=USR1", "--batch", job)
        check(signal.returncode == 0, "scancel --signal=USR1 --batch" + show(signal))
        # Requeued: pending again, with one restart, until the old run's credential expires
        # (cred_expire, 10 s here instead of the default 120 s).
        slurm.wait(job, lambda j: j.get("Restarts") == "1" and j.get("JobState") == "PENDING", "the requeue")
        info = slurm.wait(job, lambda j: j.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"), "the end")
        text = open(log.replace("%j", job)).read()
        check(info["JobState"] == "COMPLETED" and info.get("ExitCode") == "0:0",
              f"job state {info.get('JobState')} ({info.get('Reason')}, exit {info.get('ExitCode')}):\n{text}\n" + slurm.log())
        for needle in ("stop requested", "stopped by a signal", "requeueing", "resuming"):
            check(needle in text, f"'{needle}' not in the job's output:\n{text}")
        check_same_outcome(out, straight, "Slurm: signalled, requeued and resumed vs straight")

        # srun with PMIx (the multi-node template on this one node): the same search.
        out = os.path.join(tmp, "srun")
        log = os.path.join(tmp, "srun-%j.out")
        job = slurm.submit(cpu_copy(tmp, "search_multi_node.sbatch"), ["--nodes=1", *resources, f"--output={log}"],
                           [config, out])
        info = slurm.wait(job, lambda j: j.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"), "the end")
        check(info["JobState"] == "COMPLETED", f"srun job: {info.get('JobState')}\n{open(log.replace('%j', job)).read()}")
        check_same_outcome(out, straight, "Slurm srun run vs straight")

        # The supernet template (srun, PMIx, 2 ranks): bitwise the supernet of a straight 1-rank run.
        supernet_config = os.path.join(REPO, "configs", "supernet_macro.toml")
        supernet_straight = os.path.join(tmp, "supernet_straight")
        proc = run([hpcnas(), "supernet", "--config", supernet_config, "--out", supernet_straight, "--threads", "1"])
        check(proc.returncode == 0, "straight supernet run" + show(proc))
        out = os.path.join(tmp, "supernet_srun")
        log = os.path.join(tmp, "supernet-%j.out")
        job = slurm.submit(cpu_copy(tmp, "supernet_multi_node.sbatch"), ["--nodes=1", *resources, f"--output={log}"],
                           [supernet_config, out])
        info = slurm.wait(job, lambda j: j.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"), "the end")
        text = open(log.replace("%j", job)).read()
        check(info["JobState"] == "COMPLETED" and "derived architecture: " in text, f"supernet job: {info.get('JobState')}\n{text}")
        alphas = []
        for run_dir in (supernet_straight, out):
            newest = sorted(os.listdir(os.path.join(run_dir, "checkpoints")))[-1]
            with h5py.File(os.path.join(run_dir, "checkpoints", newest), "r") as f:
                alphas.append(f["architecture/alpha"][()])
                check("world_size" in f.attrs, "provenance")
        check((alphas[0] == alphas[1]).all(), "Slurm supernet (2 ranks) vs straight (1 rank): alphas differ")

        # A job array over seeds: task i searches with seed i.
        prefix = os.path.join(tmp, "seeds")
        array = slurm.submit(cpu_copy(tmp, "search_seeds_array.sbatch"),
                             ["--array=0-1", *resources, f"--output={tmp}/array-%A_%a.out"], [config, prefix])
        for task in ("0", "1"):
            info = slurm.wait(f"{array}_{task}", lambda j: j.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED"),
                              f"array task {task}")
            check(info["JobState"] == "COMPLETED", f"array task {task}: {info.get('JobState')}")
            with h5py.File(os.path.join(prefix, f"seed_{task}", "search.h5"), "r") as f:
                check(f"seed = {task}" in f.attrs["config"], f"array task {task} should search with seed {task}")
                codes = list(f["queries/arch"].asstr()[:])
            if task == "0":
                first = codes
        check(codes != first, "two seeds gave the same search")

        # Staging shards to node-local disk (one copy per node), then reading them from there.
        shards = os.path.join(tmp, "shards")
        packed = run([hpcnas(), "pack", "--from", os.path.join(REPO, "data", "tiny_imagenet_mini"), "--out", shards,
                      "--shard-size", "48K"])
        check(packed.returncode == 0, show(packed))
        script = os.path.join(tmp, "stage.sbatch")
        scores = os.path.join(tmp, "staged_scores.h5")
        with open(script, "w") as f:
            f.write(f"""#!/bin/bash
set -uo pipefail
source {REPO}/slurm/hpcnas_job.sh
staged=$(hpcnas_stage_shards {shards}) || exit $?
ls "$staged" > {tmp}/staged_listing.txt
mpirun -np 1 {hpcnas()} score --space proxyless --sample 2 --resolution 64 --batch-size 8 --data "shards:$staged" --out {scores}
""")
        log = os.path.join(tmp, "stage-%j.out")
        job = slurm.submit(script, ["--ntasks=1", "--cpus-per-task=1", "--time=10", f"--output={log}",
                                    f"--export=ALL,SLURM_TMPDIR={tmp}/node_local"], [])
        info = slurm.wait(job, lambda j: j.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"), "staging")
        text = open(log.replace("%j", job)).read()
        check(info["JobState"] == "COMPLETED", f"staging job: {info.get('JobState')}\n{text}")
        listing = open(os.path.join(tmp, "staged_listing.txt")).read().split()
        check("index.h5" in listing and sum(name.endswith(".tar") for name in listing) == len(
            [n for n in os.listdir(shards) if n.endswith(".tar")]), f"staged copy: {listing}")
        with h5py.File(scores, "r") as f:
            check(f.attrs["images"].startswith(f"shards:{tmp}/node_local/hpcnas_shards_{job}"), f.attrs["images"])
    finally:
        slurm.stop()


def override_toml(text, changes):
    """`text` with the values of (section, key) in `changes` replaced; every one must be there."""
    lines, section, done = [], None, set()
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped.strip("[]")
        key = stripped.split("=", 1)[0].strip() if "=" in stripped and not stripped.startswith("#") else None
        if (section, key) in changes:
            line = f"{key} = {changes[(section, key)]}"
            done.add((section, key))
        lines.append(line)
    check(done == set(changes), f"keys missing from the config: {set(changes) - done}")
    return "\n".join(lines) + "\n"


def case_imagenet_search(tmp):
    """configs/imagenet_proxyless.toml (the supernet trained inside the search, epsilon and the
    supernet reading ImageNet-layout shards) at the size of the bundled Tiny-ImageNet sample
    (32 px, width 0.25), submitted with the multi-node template and its shards staged to
    node-local disk: signalled after a generation, requeued, resumed; the same search and
    supernet as a straight mpirun of the same config."""
    if os.geteuid() != 0 or not all(os.path.exists(d) for d in DAEMONS) or not os.path.exists("/etc/munge/munge.key"):
        print("SKIP: needs root and slurm-wlm (slurmctld, slurmd, munged with /etc/munge/munge.key)")
        return SKIP
    shards = os.path.join(tmp, "shards")
    packed = run([hpcnas(), "pack", "--from", os.path.join(REPO, "data", "tiny_imagenet_mini"), "--out", shards, "--shard-size", "48K"])
    check(packed.returncode == 0, show(packed))
    text = open(os.path.join(REPO, "configs", "imagenet_proxyless.toml")).read()
    small = {("search", "generations"): "4", ("search", "initial_pool"): "20", ("search", "initial_queries"): "4",
             ("search", "candidates"): "10", ("search", "queries_per_generation"): "3", ("search", "population_size"): "6",
             ("search", "tournament_size"): "2", ("search", "predictor_epochs"): "3", ("search", "max_mflops"): "1.2",
             ("epsilon", "images"): f'"shards:{shards}"', ("epsilon", "batch_size"): "8", ("epsilon", "resolution"): "32", ("epsilon", "width_multiplier"): "0.25",
             ("supernet", "data"): f'"shards:{shards}"', ("supernet", "num_classes"): "10",
             ("supernet", "train_images"): "40", ("supernet", "valid_images"): "16", ("supernet", "recalibration_images"): "16",
             ("supernet", "resolution"): "32", ("supernet", "width_multiplier"): "0.25", ("supernet", "batch_size"): "8",
             ("supernet", "micro_batches"): "2", ("supernet", "warmup_epochs"): "1", ("supernet", "epochs"): "2",
             ("runtime", "timeout_s"): "300"}
    config = os.path.join(tmp, "imagenet_small.toml")
    with open(config, "w") as f:
        f.write(override_toml(text, small) + SMALL_PREDICTOR_CONFIG)
    straight = os.path.join(tmp, "straight")
    proc = mpirun(2, "search", "--config", config, "--out", straight, "--threads", "1", timeout=600)
    check(proc.returncode == 0, "straight run" + show(proc))
    check("the search trains its supernet" in proc.stderr and "best architecture within the budget" in proc.stdout, show(proc))

    slurm = LocalSlurm(tmp)
    try:
        slurm.start()
        out = os.path.join(tmp, "slurm")
        log = os.path.join(tmp, "imagenet-%j.out")
        job = slurm.submit(cpu_copy(tmp, "search_multi_node.sbatch"), ["--nodes=1", "--ntasks-per-node=2", "--cpus-per-task=1", "--time=30", f"--output={log}",
                                    f"--export=ALL,HPCNAS_STAGE_SHARDS={shards},SLURM_TMPDIR={tmp}/node_local"],
                           [config, out])
        wait_for(os.path.join(out, "checkpoints", "checkpoint_g000001.h5"), timeout=600)
        signal = slurm.cmd("scancel", "--signal=USR1", "--batch", job)
        check(signal.returncode == 0, "scancel --signal=USR1 --batch" + show(signal))
        slurm.wait(job, lambda j: j.get("Restarts") == "1", "the requeue", timeout=600)
        info = slurm.wait(job, lambda j: j.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"), "the end",
                          timeout=600)
        text = open(log.replace("%j", job)).read()
        check(info["JobState"] == "COMPLETED" and info.get("ExitCode") == "0:0",
              f"job state {info.get('JobState')} ({info.get('Reason')}, exit {info.get('ExitCode')}):\n{text}\n" + slurm.log())
        for needle in ("shards staged to", "the search trains its supernet", "stop requested", "requeueing", "resuming"):
            check(needle in text, f"'{needle}' not in the job's output:\n{text}")
        with h5py.File(os.path.join(out, "search.h5"), "r") as f:
            check(f"shards:{tmp}/node_local/hpcnas_shards_{job}" in f.attrs["config"], "the search read the staged copy")
        check_same_outcome(out, straight, "Slurm: staged, signalled, requeued and resumed vs straight")
        ours, theirs = supernet_state(out), supernet_state(straight)
        for key in theirs:
            check(key in ours and (ours[key] == theirs[key]).all(), f"the Slurm search's supernet differs in {key}")
    finally:
        slurm.stop()


if __name__ == "__main__":
    sys.exit(run_cases({"templates": case_templates, "imagenet_search": case_imagenet_search}))
