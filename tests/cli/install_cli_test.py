#!/usr/bin/env python3
"""`cmake --install` puts the executable, the example configs, the Slurm templates with their job
library, and bash completion under a prefix; the installed executable runs, and the completion
offers the subcommands and a subcommand's own options."""
import os
import subprocess
import sys

from cli_common import check, hpcnas, run, run_cases, show


def case_install(tmp):
    build = os.path.dirname(os.path.dirname(os.path.abspath(hpcnas())))  # BUILD/app/hpcnas
    prefix = os.path.join(tmp, "prefix")
    proc = run(["cmake", "--install", build, "--prefix", prefix])
    check(proc.returncode == 0, show(proc))
    exe = os.path.join(prefix, "bin", "hpcnas")
    version = run([exe, "--version"])
    check(version.returncode == 0 and version.stdout.startswith("hpcnas "), show(version))
    for path in ("share/hpcnas/slurm/search_single_node.sbatch", "share/hpcnas/slurm/hpcnas_job.sh",
                 "share/hpcnas/configs/nb201_tabular.toml", "share/bash-completion/completions/hpcnas"):
        check(os.path.isfile(os.path.join(prefix, path)), f"{path} is installed")
    completion = os.path.join(prefix, "share/bash-completion/completions/hpcnas")

    def complete(*words):
        script = (f"source {completion}; COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; _hpcnas; "
                  'echo "${COMPREPLY[@]}"')
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60).stdout.split()

    check("pack" in complete(exe, "pa"), "subcommands complete")
    check(complete(exe, "su") == ["supernet"], "every subcommand the executable has")
    offered = complete(exe, "score", "--da")
    check("--data" in offered, f"score's options complete: {offered}")


if __name__ == "__main__":
    sys.exit(run_cases({"install": case_install}))
