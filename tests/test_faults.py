"""Faults end in one clear line and lose nothing (issue 36): operating-system errors and Ctrl-C at
the command lines, a full disk during a write, damaged files, half-written leftovers, a summary
out of step with the records, and a queue killed while its workers train."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rmt_lite import cli, records, train
from rmt_lite.records import RunRecord, atomic_write_json, load_records
from rmt_lite.runs import train_experiment


def _quiet(*_):
    pass


def test_ctrl_c_at_a_command_line_is_one_line_and_exit_130(capsys):
    def interrupted(argv):
        raise KeyboardInterrupt

    assert cli.run(interrupted) == cli.INTERRUPTED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err and "run the same command again to resume" in err


def test_an_operating_system_error_names_the_path_and_the_cause(capsys):
    def full(argv):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "results/copy/rmt-cpu-s0/checkpoint.pt")

    assert cli.run(full) == cli.OS_ERROR
    assert capsys.readouterr().err == (
        "error: cannot use results/copy/rmt-cpu-s0/checkpoint.pt: no space left on device\n"
    )
    assert cli.run(lambda argv: None) == 0 and cli.run(lambda argv: 3) == 3


def test_a_full_disk_during_a_write_names_the_file_and_leaves_the_old_one_whole(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    atomic_write_json(target, {"old": 1})

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(records.os, "fsync", no_space)
    with pytest.raises(OSError) as caught:
        atomic_write_json(target, {"new": 2})
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert json.loads(target.read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]  # no temporary file left


@pytest.mark.parametrize(
    "content, what",
    [("", "JSONDecodeError"), ('{"run_id": "x", "seed"', "JSONDecodeError"), ("[]", "a JSON list"), ("{}", "missing")],
)
def test_a_damaged_record_is_named_with_what_is_wrong_and_what_to_do(tmp_path, content, what):
    path = tmp_path / "copy" / "rmt-cpu-s0" / "record.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(ValueError) as caught:
        load_records(tmp_path)
    message = str(caught.value)
    assert str(path) in message and what in message and f"delete {path.parent}" in message


def test_a_damaged_config_is_one_line_from_the_command_line(tmp_path, capsys):
    run_dir = tmp_path / "copy" / "rmt-smoke-s0"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text("{not json")
    code = train.main(["--experiment", "copy", "--profile", "smoke", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and str(run_dir / "config.json") in err and "--rerun" in err


def test_a_finished_run_found_again_repairs_the_summary_and_a_dead_writers_temporaries_go(tmp_path):
    record = train_experiment("copy", "rmt", "smoke", 0, out_dir=tmp_path, log=_quiet, progress=False)
    summary = tmp_path / "copy" / "summary.csv"
    summary.unlink()  # killed between its record and the summary
    train_experiment("copy", "rmt", "smoke", 0, out_dir=tmp_path, log=_quiet, progress=False)
    assert record.run_id in summary.read_text()

    run_dir = tmp_path / "copy" / "xl-smoke-s0"
    run_dir.mkdir(parents=True)
    leftover = run_dir / ".checkpoint.pt.k1ll3d.tmp"
    leftover.write_bytes(b"half a checkpoint")
    train_experiment("copy", "xl", "smoke", 0, out_dir=tmp_path, log=_quiet, progress=False)
    assert not leftover.exists() and (run_dir / "record.json").exists()
    assert RunRecord.load(run_dir / "record.json").model == "xl"


def _ctrl_c_reaches_it():
    """A shell that runs the tests in the background ignores SIGINT for them, and a process that
    starts with SIGINT ignored never sees Ctrl-C: the command under test gets the default back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_the_queues_workers_end_with_it_however_it_ends(tmp_path, how):
    queue = subprocess.Popen(
        [sys.executable, "-m", "rmt_lite.repro.reproduce", "--profile", "smoke", "--jobs", "2", "--out", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_reaches_it,
    )
    deadline = time.time() + 120
    workers: set[int] = set()
    while time.time() < deadline and not any((tmp_path / e).exists() for e in ("copy", "reverse")):
        time.sleep(0.5)  # the workers have started training
    workers = _children(queue.pid)
    assert workers, "the queue started no workers"
    queue.send_signal(how)
    code = queue.wait(timeout=60)
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers)
    if how == signal.SIGINT:
        err = queue.stderr.read()
        assert code == cli.INTERRUPTED and "Traceback" not in err and "interrupted" in err


def test_a_second_process_in_the_same_run_folder_refuses_and_names_the_holder(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from rmt_lite.records import run_lock\n"
            f"with run_lock({str(tmp_path / 'run')!r}):\n    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(records.RunInUse, match=f"being trained by process {holder.pid} "):
            with records.run_lock(tmp_path / "run"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with records.run_lock(tmp_path / "run"):  # a killed holder's lock is free at once
        assert (tmp_path / "run" / records.RUN_OWNER).read_text().startswith(f"process {os.getpid()} ")
    assert not (tmp_path / "run" / records.RUN_OWNER).exists()


def test_wrong_notebook_parameters_are_refused_before_any_kernel_starts_naming_the_parameter():
    from rmt_lite.book import build as book

    with pytest.raises(book.BookError, match=r"SEED='abc' is not allowed: an integer >= 0"):
        book.execute({"PROFILE": "smoke", "SEED": "abc"}, kernel="no-such-kernel", only=["10_claims"])
    with pytest.raises(book.BookError, match=r"PROFILE='gpu' is not allowed: one of 'smoke', 'cpu', 'paper'"):
        book.execute({"PROFILE": "gpu", "SEED": 0}, kernel="no-such-kernel", only=["10_claims"])


def test_every_notebook_checks_its_own_parameters_and_its_defaults_pass():
    import nbformat

    from rmt_lite.book.chapters import parameters

    for path in sorted(Path(__file__).resolve().parent.parent.glob("notebooks/*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        first = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
        defaults: dict = {}
        exec(cells[first].source, defaults)  # the notebook's own parameters cell
        parameters.validate(defaults)
        after = [c.source for c in cells[first + 1 : first + 3]]
        assert any("validate(globals())" in s for s in after), path.name
        assert "SEED" in parameters.RULES and parameters.problems({**defaults, "SEED": -1}), path.name


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE and SIGXFSZ")
def test_a_full_disk_while_training_is_one_line_naming_the_checkpoint_and_leaves_nothing_half_written(tmp_path):
    import resource

    def small_disk():  # files may not grow past 20 kB: the checkpoint is the first that would
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    done = subprocess.run(
        [sys.executable, "-m", "rmt_lite.train", "--experiment", "copy", "--profile", "smoke"]
        + ["--out", str(tmp_path), "--no-progress"],
        preexec_fn=small_disk,
        capture_output=True,
        text=True,
        timeout=300,
    )
    run_dir = tmp_path / "copy" / "rmt-smoke-s0"
    assert done.returncode == cli.OS_ERROR and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"error: cannot use {run_dir / 'checkpoint.pt'}: file too large"
    assert not list(run_dir.glob(".*.tmp")) and not (run_dir / "checkpoint.pt").exists()


_WRITER = """
import sys
from rmt_lite.records import RunRecord, write_summary

record = RunRecord("late", "copy", "rmt", "cpu", 0, {"task": {}}, {"test": {"acc": 1.0}})
record.save(sys.argv[1] + "/copy/late/record.json")
write_summary(sys.argv[1], "copy")
"""


@pytest.mark.slow
def test_a_summary_is_rebuilt_only_while_no_other_process_rebuilds_it(tmp_path):
    from filelock import FileLock

    summary = tmp_path / "copy" / records.SUMMARY
    summary.parent.mkdir(parents=True)
    with FileLock(summary.parent / records.SUMMARY_LOCK):  # another run is rebuilding it
        writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)])
        time.sleep(5)
        assert writer.poll() is None and not summary.exists()  # it waits rather than read half the records
    assert writer.wait(timeout=60) == 0 and "late" in summary.read_text()


def test_a_folder_that_may_not_be_written_names_the_file_meant_not_its_temporary(tmp_path, monkeypatch, capsys):
    # root ignores permission bits, so the refusal of the operating system is played by mkstemp
    def refused(prefix, suffix, dir):
        name = os.path.join(dir, f"{prefix}x1y2{suffix}")
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)

    monkeypatch.setattr(records.tempfile, "mkstemp", refused)
    target = tmp_path / "copy" / "rmt-cpu-s0" / "record.json"

    def write(argv):
        atomic_write_json(target, {"a": 1})

    assert cli.run(write) == cli.OS_ERROR
    assert capsys.readouterr().err == f"error: cannot use {target}: permission denied\n"


@pytest.mark.slow
def test_ctrl_c_during_a_run_is_one_line_keeps_the_checkpoint_and_exits_130(tmp_path):
    cmd = [sys.executable, "-m", "rmt_lite.train", "--experiment", "copy", "--profile", "smoke"]
    cmd += ["--out", str(tmp_path), "--no-progress", "--set", "steps=100000"]
    run = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_reaches_it
    )
    checkpoint = tmp_path / "copy" / "rmt-smoke-s0-steps100000" / "checkpoint.pt"
    deadline = time.time() + 120
    while time.time() < deadline and not checkpoint.exists():
        time.sleep(0.5)
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=60) == cli.INTERRUPTED
    err = run.stderr.read()
    assert err.count("\n") == 1 and err.startswith("interrupted:") and checkpoint.exists()
