"""The needle-in-a-haystack task (bAbI qa1 style over real text): layout, determinism, disjoint
train and test text, and every answer recoverable from the sample's own facts."""

import numpy as np
import pytest
import torch

import data_gen
from data_gen import needle


def task(**kw):
    return data_gen.make_task("needle", **{"length": 96, "num_facts": 2, "num_distractors": 3, **kw})


def test_layout_and_every_answer_follows_from_the_facts():
    t = task()
    b = t.batch(64, torch.Generator().manual_seed(0))
    assert b.tokens.shape == (64, 96) and int(b.tokens.max()) < t.vocab_size
    assert (b.tokens[:, 0] == data_gen.tasks.START).all()
    assert (b.tokens[:, -3] == needle.WHERE).all() and (b.tokens[:, -1] == needle.QMARK).all()
    assert b.loss_mask.sum(dim=1).tolist() == [1] * 64 and b.loss_mask[:, -1].all()  # only the answer is scored
    assert ((b.tokens == needle.WENT).sum(dim=1) == 5).all()  # 2 facts + 3 distractors
    for i in range(64):
        assert t.answer_of(b.tokens[i]) == int(b.targets[i, -1])
        at = t.fact_position(b.tokens[i])  # the answering fact: name, went, the answer
        assert b.tokens[i, at : at + 3].tolist() == [int(b.tokens[i, -2]), needle.WENT, int(b.targets[i, -1])]
        assert int(b.tokens[i, t.place_position(b.tokens[i])]) == int(b.targets[i, -1])  # the fact's last token
        later = b.tokens[i, at + 3 : -3]  # no later fact about the person asked for
        assert not ((later[:-1] == b.tokens[i, -2]) & (later[1:] == needle.WENT)).any()
    places = b.targets[:, -1] - (needle.FIRST_NAME + t.num_names)
    assert ((places >= 0) & (places < t.num_places)).all()


def test_batches_and_fixed_sets_are_deterministic_and_fixed_sets_are_prefixes():
    t = task()
    a, b = (t.batch(8, torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(a.tokens, b.tokens)
    small, large = t.fixed_set("test", 5), t.fixed_set("test", 1500)  # more than one block of draws
    assert torch.equal(small.tokens, large.tokens[:5])
    assert not torch.equal(t.fixed_set("valid", 5).tokens, small.tokens)


def test_test_haystacks_come_from_the_test_articles_only():
    t = task(num_distractors=0, num_facts=1)
    text = needle._text(t.text_vocab)
    params = t._sample_params(50, torch.Generator().manual_seed(1), "test")
    batch = t.fixed_set("test", 50)
    assert int(params[:, 0].max()) + t.haystack_len <= len(text["test"])
    first_word = needle.FIRST_NAME + t.num_names + t.num_places
    for row in batch.tokens[:10]:
        hay = [x for x in row[1:-3].tolist()]  # without the start and the question
        i = hay.index(needle.WENT)
        hay = hay[: i - 1] + hay[i + 2 :]  # without the one fact
        words = np.array(hay) - first_word
        # the haystack is a contiguous stretch of the test text (unknown words aside)
        known = np.where(np.array(hay) == needle.UNK, -1, words)
        stream = text["test"]
        starts = [s for s in range(len(stream) - len(known) + 1) if (stream[s : s + len(known)] == known).all()][:1]
        assert starts, "haystack not found in the test text"


def test_bad_parameters_name_the_parameter():
    with pytest.raises(ValueError, match="length"):
        data_gen.make_task("needle", length=5)
    with pytest.raises(ValueError, match="num_places"):
        data_gen.make_task("needle", num_places=1)
    with pytest.raises(ValueError, match="unknown parameter 'speed'"):
        data_gen.make_task("needle", speed=2)


def test_a_sample_reads_as_text_with_its_facts():
    t = task(num_distractors=0, num_facts=1)
    text = t.decode(t.fixed_set("test", 1).tokens[0])
    assert " WENT " in text and text.endswith("?") and "WHERE" in text
