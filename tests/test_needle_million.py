"""The needle read across a million tokens (issue 31): samples made a window at a time, the fact at
a chosen depth, the read resumable after a kill with the same answers."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import data_gen
from rmt_lite import run_segments
from rmt_lite.repro import needle_million
from rmt_lite.runs import train_experiment


def test_a_window_of_a_sample_is_that_stretch_of_the_whole_sample():
    task = data_gen.make_task("needle", length=96, num_facts=2, num_distractors=3)
    params = task._sample_params(40, torch.Generator().manual_seed(0), "test")
    whole = task._render(params, "test")
    for a, b in [(0, 1), (0, 32), (30, 64), (90, 97), (97, 97)]:
        assert torch.equal(task.window(params, "test", a, b), whole[:, a:b])
    with pytest.raises(ValueError, match="stop=98"):
        task.window(params, "test", 0, 98)


def test_a_haystack_longer_than_the_test_articles_reads_them_again_from_the_start():
    words = data_gen.make_task("needle", text_vocab=50).region_words("test")
    task = data_gen.make_task("needle", length=words + 500, text_vocab=50)
    row = task.fixed_set("test", 1).tokens[0].tolist()
    at = task.fact_position(row)
    hay = np.array(row[1:at] + row[at + 3 : -3])  # without the start, the fact and the question
    assert len(hay) == task.haystack_len and np.array_equal(hay[:400], hay[words : words + 400])


def test_at_depths_places_the_one_fact_at_each_share_of_the_haystack():
    task = data_gen.make_task("needle", length=400)
    params = task.at_depths("test", (0, 0.5, 1), 3)
    batch = task._batch_from(params, "test")
    at = [task.fact_position(t) for t in batch.tokens]
    assert at == [1] * 3 + [1 + round(0.5 * task.haystack_len)] * 3 + [1 + task.haystack_len] * 3
    assert torch.equal(params[:3, :3], task.fixed_params("test", 3)[:, :3])  # the fixed set's samples, fact moved
    with pytest.raises(ValueError, match="depths"):
        task.at_depths("test", (0.5, 1.5), 3)
    with pytest.raises(ValueError, match="num_facts=2"):
        data_gen.make_task("needle", length=400, num_facts=2).at_depths("test", (0.5,), 3)


def test_at_depths_moves_the_fact_among_distractors_that_stay_where_they_were():
    task = data_gen.make_task("needle", length=400, num_distractors=2)
    depths, n = (0, 0.5, 1), 8
    tokens = task._batch_from(task.at_depths("test", depths, n), "test").tokens
    fixed = task._batch_from(task.fixed_params("test", n * len(depths)), "test").tokens
    went = data_gen.needle.WENT
    for i, row in enumerate(tokens):
        fact, before = task.fact_position(row), fixed[i]  # the fixed set's sample i, its fact moved
        assert int((row == went).sum()) == 3 and task.answer_of(row) == task.answer_of(before)
        others = [p - 1 for p in (row == went).nonzero().flatten().tolist() if p - 1 != fact]
        assert [row[p] for p in others] == [
            before[p - 1] for p in (before == went).nonzero().flatten().tolist() if p - 1 != task.fact_position(before)
        ]  # same people, same order
        haystack_at = fact - 1 - 3 * len([p for p in others if p < fact])  # words of haystack before it
        assert haystack_at == round(depths[i // n] * task.haystack_len)
    assert [task.fact_position(r) for r in tokens[:n]] == [1] * n  # depth 0 opens the sample
    assert [task.fact_position(r) for r in tokens[-n:]] == [
        len(r) - 6 for r in tokens[-n:]
    ]  # 1: last, then the question


@pytest.fixture(scope="module")
def needle_run(tmp_path_factory):
    over = {"steps": 2, "eval_interval": 2, "warmup_steps": 0}
    out = tmp_path_factory.mktemp("needle")
    return train_experiment("needle", "rmt", "smoke", 0, over, out_dir=out, log=lambda line: None).run_dir


def test_reading_window_by_window_answers_as_reading_the_whole_sample(needle_run):
    from rmt_lite.runs import load_model

    model, cfg = load_model(needle_run)
    task = data_gen.make_task("needle", **{**cfg.task, "length": 200})
    params = task.at_depths("test", (0, 0.5, 1), 4)
    out = needle_million.read_needles(model, task, params, cfg.segment_len, every=5)
    with torch.no_grad():
        whole = run_segments(model, task._batch_from(params, "test").tokens, cfg.segment_len).logits[:, -1]
    assert torch.equal(out["predicted"], whole.argmax(-1))
    assert torch.equal(out["answer"], task._batch_from(params, "test").targets[:, -1])
    assert [s for s, _ in out["norms"]] == [5, 10, 15, 20, 25]  # every 5 segments and the last (25 of 8 tokens)


def test_a_killed_read_resumes_where_it_was_saved_with_the_same_record(needle_run, tmp_path, monkeypatch):
    whole = needle_million.measure(needle_run, (64, 160), per_depth=2, every=4, log=lambda line: None)
    partial = tmp_path / "run.partial.pt"
    saves = []

    def killed_at_the_third_save(path, obj, real=needle_million.atomic_torch_save):
        real(path, obj)
        saves.append(obj.get("read", {}).get("segment"))
        if len(saves) == 3:  # a save within the read of 64 tokens, the end of it, one within 160
            raise KeyboardInterrupt

    monkeypatch.setattr(needle_million, "atomic_torch_save", killed_at_the_third_save)
    with pytest.raises(KeyboardInterrupt):
        needle_million.measure(needle_run, (64, 160), per_depth=2, partial=partial, every=4, log=lambda line: None)
    assert saves == [4, None, 4] and torch.load(partial, weights_only=True)["length"] == 160
    monkeypatch.undo()
    resumed = needle_million.measure(
        needle_run, (64, 160), per_depth=2, partial=partial, every=4, log=lambda line: None
    )
    assert not partial.exists()
    for key in ("rows", "norms"):
        assert resumed[key] == whole[key]
    assert [r["depth"] for r in resumed["rows"][:5]] == list(needle_million.DEPTHS)


def test_a_partial_read_from_other_code_is_set_aside_not_resumed(needle_run, tmp_path):
    partial = tmp_path / "run.partial.pt"
    torch.save(dict(run_id="other", analysis_git_sha="0000000", threads=1, rows=[], length=64), partial)
    record = needle_million.measure(needle_run, (64,), per_depth=1, partial=partial, log=lambda line: None)
    assert len(record["rows"]) == len(needle_million.DEPTHS) and (tmp_path / "run.partial.pt.stale").exists()
    path = tmp_path / needle_million.FOLDER / "needle" / "r.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))
    df = needle_million.load(tmp_path)
    assert df["acc"].between(0, 1).all() and set(df["length"]) == {64} and (df["seconds"] > 0).all()
    assert set(df["experiment"]) == {"needle"} and needle_million.load(tmp_path, experiment="needle_memory").empty
    norms = needle_million.load(tmp_path, "norms")
    assert list(norms["segment"]) == [8] and norms["norm"].gt(0).all()  # 64 tokens: 8 segments of 8
    with pytest.raises(ValueError, match="part='all'"):
        needle_million.load(tmp_path, "all")


def test_the_command_reads_each_run_once_and_refuses_bad_sizes(needle_run, tmp_path, capsys):
    args = ["--results", str(tmp_path), "--run", str(needle_run), "--lengths", "64", "--per-depth", "1"]
    assert needle_million.main(args) == 0
    out = tmp_path / needle_million.FOLDER / "needle" / f"{Path(needle_run).name}.json"  # by the run's experiment
    first = out.stat().st_mtime_ns
    assert needle_million.main(args) == 0 and out.stat().st_mtime_ns == first
    assert "already read" in capsys.readouterr().out
    assert not list(out.parent.glob("*.partial.pt"))  # nothing half-written left behind
    with pytest.raises(SystemExit):
        needle_million.main(args[:-1] + ["0"])
    assert "--per-depth 0" in capsys.readouterr().err


def test_the_default_runs_are_the_curriculum_to_16_or_every_run_among_distractors(tmp_path):
    to16 = needle_million.default_runs(tmp_path)
    assert [p.parent.name for p in to16] == ["needle_memory"] * 3 and all("1,2,4,8,16" in p.name for p in to16)
    distract = needle_million.default_runs(tmp_path, "needle_distractors")
    assert {p.name for p in distract} == {"rmt-cpu-s0", "rmt-cpu-s1", "rmt-cpu-s2", "rmt-cpu-s1-curriculum_waitsTrue"}
    with pytest.raises(ValueError, match="experiment='needle'"):
        needle_million.default_runs(tmp_path, "needle")
