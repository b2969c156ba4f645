"""What each process of the stack costs: peak resident memory and CPU seconds, read from /proc.

A background thread samples every process group the benchmark started (gunicorn masters
and workers, the Celery pool, relays...) twice a second. CPU is read again on demand so a
scenario's cost is the difference between two readings.
"""
import os
import threading
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _stat(pid):
    """(ppid, cpu seconds, rss MB) of one process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "
    ppid, utime, stime, rss_pages = int(fields[1]), int(fields[11]), int(fields[12]), int(fields[21])
    return ppid, (utime + stime) / TICKS, rss_pages * PAGE_KB / 1024


def parent(pid):
    """The parent of a running process (the postmaster of a PostgreSQL backend, say)."""
    return _stat(pid)[0]


def _snapshot():
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat:
                found[int(entry.name)] = stat
    return found


def _families(roots, snapshot):
    """{name: [(pid, cpu, rss) of the root and every descendant]}."""
    children = {}
    for pid, (ppid, _cpu, _rss) in snapshot.items():
        children.setdefault(ppid, []).append(pid)
    families = {}
    for name, root in roots.items():
        todo, members = [root], []
        while todo:
            pid = todo.pop()
            if pid in snapshot:
                members.append((pid, *snapshot[pid][1:]))
                todo += children.get(pid, [])
        families[name] = members
    return families


class Watch:
    """Samples named process trees; `peak_rss()` per process, `cpu()` per tree.

    `roots` is {name: root pid}, or a function giving it at each sample, so a process that
    is killed and started again is followed under its name; what a killed one had used
    still counts in its tree's CPU (as of the last sample before it died).
    """

    def __init__(self, roots, every=0.5, servers=None):
        """`servers` ({name: pid}): trees counted in `cpu()` only, as their memory is their
        configuration's (PostgreSQL's shared buffers), not the stack's."""
        self.roots = roots if callable(roots) else (lambda: dict(roots))
        self.servers = dict(servers or {})
        self.every = every
        self._peak, self._cpu, self._stop = {}, {}, threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self):
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self):
        families = _families({**self.roots(), **self.servers}, _snapshot())
        with self._lock:
            for name, members in families.items():
                for index, (pid, cpu, rss) in enumerate(members):
                    label = name if index == 0 else f"{name}/child"
                    if name not in self.servers:
                        self._peak[label] = max(self._peak.get(label, 0.0), rss)
                    self._cpu.setdefault(name, {})[pid] = cpu

    def peak_rss(self):
        """{process label: highest RSS seen in MB}; children of one tree share one label."""
        return {label: round(mb, 1) for label, mb in sorted(self._peak.items())}

    def cpu(self):
        """{tree name: CPU seconds used so far by every process it has had}."""
        self.sample()
        with self._lock:
            return {name: sum(by_pid.values()) for name, by_pid in self._cpu.items()}
