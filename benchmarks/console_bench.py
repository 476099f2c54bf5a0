"""One-shot `chatbot console` answering `/status`, as a whole process, vs a process that only imports its libraries.

Why it exists: a member who types one command from a shell waits for the whole process — the
interpreter, the imports, opening the desk (database, migrations check, paper exchange) and the
answer. The floor is what no code of ours can avoid: loading the libraries that process loads.

  A  `python -c "from chatbot.cli import app; app()" console` (what the `chatbot` script runs) with
     "/status\\n" on stdin: the example desk (chatbot.example.toml) on a SQLite file made by a
     warm-up run, audit key from the environment
  B  "bare import of its own libraries": the same interpreter importing, one by one, every module
     that A had loaded by the time it exited (recorded once, via atexit, from a run of A on the
     database the warm-up made — not the run that creates and migrates it) except our
     own packages (chatbot, adapters): third-party packages and the standard library, submodules
     included — the libraries' import cost as A pays it, and nothing of ours
Both run with cwd a temporary directory and PYTHONPATH this checkout. They alternate A B B A …
after one warm-up each; the figure is the ratio of the medians (pairwise ratios also printed).

    .venv/bin/python -m benchmarks.console_bench [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.scoreboard import Figure, Figures

ROOT = Path(__file__).resolve().parent.parent
OURS = ("chatbot", "adapters", "tests", "benchmarks", "__main__")
RUN_CLI = "from chatbot.cli import app; app()"
RECORD = ("import atexit, sys\n"
          "atexit.register(lambda: open({path!r}, 'w').write('\\n'.join(sorted(sys.modules))))\n"
          "sys.argv = ['chatbot', 'console']\n" + RUN_CLI + "\n")
BARE = ("import importlib\n"
        "names = open({path!r}).read().split()\n"
        "loaded = 0\n"
        "for name in names:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        loaded += 1\n"
        "    except Exception:\n"
        "        pass\n"
        "print(loaded, len(names))\n")


def environment(tmp: Path) -> dict[str, str]:
    shutil.copy(ROOT / "chatbot.example.toml", tmp / "chatbot.toml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATBOT_", "TELEGRAM_", "DISCORD_", "BINANCE_"))}
    env.update(PYTHONPATH=str(ROOT), CHATBOT_CONFIG=str(tmp / "chatbot.toml"),
               CHATBOT_DATABASE_URL=f"sqlite:///{tmp / 'console.db'}", CHATBOT_AUDIT_KEY="console-bench-audit-key-0123",
               CHATBOT_AUDIT_ANCHOR_FILE=str(tmp / "anchors.jsonl"))
    return env


def timed(cmd: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return elapsed, done.stdout


def measure(runs: int) -> Figures:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = environment(tmp)
        modules = tmp / "modules.txt"
        a = [sys.executable, "-c", RUN_CLI, "console"]
        timed(a, env, tmp, "/status\n")  # makes the desk's database: the recorded run is a steady-state one
        _, out = timed([sys.executable, "-c", RECORD.format(path=str(modules))], env, tmp, "/status\n")
        assert "Status" in out, out
        names = [n for n in modules.read_text().split() if n.split(".")[0] not in OURS]
        (tmp / "modules.txt").write_text("\n".join(names))
        b = [sys.executable, "-c", BARE.format(path=str(modules))]
        _, loaded = timed(b, env, tmp)
        empty = statistics.median(timed([sys.executable, "-c", "pass"], env, tmp)[0] for _ in range(3))
        times: dict[str, list[float]] = {"A": [], "B": []}
        for i in range(runs + 1):  # the first pair is the warm-up
            for kind in ("AB" if i % 2 == 0 else "BA"):
                elapsed, out = timed(a, env, tmp, "/status\n") if kind == "A" else timed(b, env, tmp)
                if kind == "A":
                    assert "Status" in out, out
                if i:
                    times[kind].append(elapsed)
    ma, mb = statistics.median(times["A"]) * 1000, statistics.median(times["B"]) * 1000
    pairs = [x / y for x, y in zip(times["A"], times["B"], strict=True)]
    ok, total = loaded.split()
    print(f"one-shot console /status vs bare import of its libraries ({ok} of {total} modules imported), "
          f"{runs} runs each, alternating")
    print(f"  A chatbot console /status  median {ma:7.1f} ms  min {min(times['A']) * 1000:7.1f} ms")
    print(f"  B bare library imports     median {mb:7.1f} ms  min {min(times['B']) * 1000:7.1f} ms")
    print(f"  (an empty interpreter: {empty * 1000:.1f} ms)")
    print(f"  A/B: {ma / mb:.2f}x (ratio of medians); pairwise {', '.join(f'{r:.2f}' for r in pairs)}")
    return {"console.ratio": Figure(ma / mb, f"console {ma:.0f} ms vs bare imports {mb:.0f} ms (medians of {runs}); "
                                             f"empty interpreter {empty * 1000:.0f} ms")}


def scoreboard() -> Figures:
    return measure(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    measure(parser.parse_args().runs)
