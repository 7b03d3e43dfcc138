#!/usr/bin/env python3
"""rsafloor.py SECONDS [PROCS]: libcrypto's RSA-4096 signing rate, for bench/run.sh.

Runs PROCS (default: one per core) `openssl speed -elapsed -mr -seconds SECONDS rsa4096`
processes at once and stops each as soon as it reports its signing test (the `+R1` line on
standard error), so the verification test that `openssl speed` runs after it, for as long
again and with no switch to skip it in OpenSSL 3.0, is never run.

Prints two numbers on one line:
  - signatures a second, summed over the processes (each one's count over its own wall-clock
    window): the floor's rate in wall time;
  - CPU seconds a signature, user plus system time of the processes up to their report (read
    from /proc before they are stopped) over the signatures they made: the floor in CPU time,
    which the hypervisor's steal time does not inflate.
"""
import os
import subprocess
import sys
import threading


def cpu_seconds(pid):
    """The user plus system time of process pid so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3 of proc(5)); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(seconds, results, i):
    p = subprocess.Popen(
        ["openssl", "speed", "-elapsed", "-mr", "-seconds", str(seconds), "rsa4096"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stderr:
            if line.startswith("+R1:"):  # +R1:count:bits:seconds
                cpu = cpu_seconds(p.pid)
                _, count, _, secs = line.strip().split(":")
                results[i] = (int(count), float(secs), cpu)
                break
    finally:
        p.kill()
        p.wait()


def main():
    seconds = int(sys.argv[1])
    procs = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()
    results = [None] * procs
    threads = [threading.Thread(target=run, args=(seconds, results, i)) for i in range(procs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if None in results:
        sys.exit("rsafloor: openssl speed gave no RSA-4096 signing result")
    rate = sum(c / s for c, s, _ in results)
    cpu = sum(u for _, _, u in results) / sum(c for c, _, _ in results)
    print(f"{rate:.1f} {cpu:.6f}")


if __name__ == "__main__":
    main()
