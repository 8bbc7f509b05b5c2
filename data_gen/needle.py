"""A needle in a haystack, in the spirit of BABILong's first task (bAbI qa1).

Facts such as ``mary went kitchen`` are hidden at random positions in a stretch of real text (the
word-level Wikipedia excerpt that ships with the package), and the sample ends with the question
``where mary ?`` and its answer, one token: the place of the **last** fact about the person asked
for. Distractor facts move other people. Samples of the training batches take their text from the
corpus's training articles; the fixed validation and test sets take theirs from its validation
and test articles, so no haystack of a test sample was ever seen in training.

Token ids: 0 padding, 1 start, 2 unknown word, 3 ``?``, 4 ``where``, 5 ``went``, then the names,
the places, and the ``text_vocab`` most frequent words of the text (rarer words become unknown).
The scored position is the last one (the answer); chance is ``1 / num_places``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
import torch

from .tasks import _BLOCK, SPLIT_BUCKET, START, Task, TaskBatch, _as_list, _check_int

UNK, QMARK, WHERE, WENT = 2, 3, 4, 5
FIRST_NAME = 6
NAMES = ("mary", "john", "sandra", "daniel", "anna", "peter", "lucy", "omar", "yuki", "ivan", "nina", "paul")
PLACES = ("kitchen", "garden", "office", "hallway", "bathroom", "bedroom", "cellar", "attic", "garage", "park")
FACT_LEN, QUESTION_LEN = 3, 4  # "name went place" / "where name ? place"
REGION = {"train": "train", "valid": "valid", "test": "test"}


@lru_cache(maxsize=2)
def _text(text_vocab: int) -> dict[str, np.ndarray]:
    """The haystack text of each region as corpus ids, words past ``text_vocab`` (and the corpus's
    own unknown and end-of-line markers) as -1."""
    from .corpora import load_corpus

    corpus = load_corpus("wiki_words")
    out = {}
    for region in REGION.values():
        ids = getattr(corpus, region).numpy().astype(np.int64)
        out[region] = np.where((ids >= 2) & (ids < text_vocab + 2), ids - 2, -1)
    out["words"] = np.array(corpus.itos[2 : text_vocab + 2])
    return out


@dataclass(frozen=True)
class NeedleTask(Task):
    """``length`` input tokens: text with ``num_facts`` facts about one person and
    ``num_distractors`` about others, then the question; the answer is where that person went last."""

    name: ClassVar[str] = "needle"
    length: int = 64
    num_facts: int = 1
    num_distractors: int = 0
    num_names: int = 4
    num_places: int = 4
    text_vocab: int = 1000

    answer_len: ClassVar[int] = 1

    def __post_init__(self):
        _check_int(self.name, "num_facts", self.num_facts, 1, 16)
        _check_int(self.name, "num_distractors", self.num_distractors, 0, 64)
        _check_int(self.name, "num_names", self.num_names, 1 if not self.num_distractors else 2, len(NAMES))
        _check_int(self.name, "num_places", self.num_places, 2, len(PLACES))
        _check_int(self.name, "text_vocab", self.text_vocab, 1, 10_000)
        _check_int(self.name, "length", self.length, self.haystack_min + self.facts_len + QUESTION_LEN, 1_000_000)

    haystack_min: ClassVar[int] = 1

    @property
    def facts_len(self) -> int:
        return FACT_LEN * (self.num_facts + self.num_distractors)

    @property
    def haystack_len(self) -> int:
        # the full sequence is START + haystack with facts + question with answer: length + 1 tokens
        return self.length + 1 - 1 - self.facts_len - QUESTION_LEN

    @property
    def seq_len(self) -> int:
        return self.length

    @property
    def num_symbols(self) -> int:
        return self.num_places

    @property
    def vocab_size(self) -> int:
        return FIRST_NAME + self.num_names + self.num_places + self.text_vocab

    @property
    def space_size(self) -> int:
        return 10**30  # text offsets times names, places and positions: never held out by hashing

    def _first_place(self) -> int:
        return FIRST_NAME + self.num_names

    def _first_word(self) -> int:
        return FIRST_NAME + self.num_names + self.num_places

    # -- sampling ---------------------------------------------------------------------------------
    def _sample_params(self, n: int, generator: torch.Generator, region: str = "train") -> torch.Tensor:
        """Rows ``[offset, name, places (F), other names (D), their places (D), positions (F+D),
        order (F+D)]``: where the text starts, who is asked for, the facts, the sorted insertion points
        in the haystack, and which of them hold the F facts about the person asked for."""
        text = _text(self.text_vocab)[region]
        F, D = self.num_facts, self.num_distractors
        g = generator
        # a haystack longer than the region's text reads it again from the start (see :meth:`window`)
        starts = len(text) - self.haystack_len + 1 if self.haystack_len <= len(text) else len(text)
        offset = torch.randint(0, starts, (n, 1), generator=g)
        name = torch.randint(0, self.num_names, (n, 1), generator=g)
        places = torch.randint(0, self.num_places, (n, F), generator=g)
        others = (name + torch.randint(1, max(self.num_names, 2), (n, D), generator=g)) % self.num_names
        other_places = torch.randint(0, self.num_places, (n, D), generator=g)
        points = torch.randint(0, self.haystack_len + 1, (n, F + D), generator=g).sort(dim=1).values
        order = torch.rand(n, F + D, generator=g).argsort(dim=1)
        return torch.cat([offset, name, places, others, other_places, points, order], dim=1)

    def _render(self, params: torch.Tensor, region: str = "train") -> torch.Tensor:
        return self.window(params, region, 0, self.seq_len + 1)

    def region_words(self, region: str) -> int:
        """How many words of text the ``region``'s articles hold (``train``, ``valid`` or ``test``):
        a longer haystack reads them again from the start."""
        if region not in REGION.values():
            raise ValueError(f"{self.name}: region={region!r} is not allowed; one of {sorted(REGION.values())}")
        return len(_text(self.text_vocab)[region])

    def window(self, params: torch.Tensor, region: str, start: int, stop: int) -> torch.Tensor:
        """Tokens ``start:stop`` of the full sequences (``length + 1`` tokens: start, the haystack
        with the facts in it, the question and its answer) of the samples drawn as ``params``, made
        for those positions only: a sample of a million tokens is read a segment at a time without
        ever being held whole. A haystack longer than the ``region``'s text (:meth:`region_words`)
        reads it again from its start."""
        if not (isinstance(start, int) and isinstance(stop, int) and 0 <= start <= stop <= self.seq_len + 1):
            raise ValueError(
                f"{self.name}: start={start!r}, stop={stop!r} are not allowed: integers with "
                f"0 <= start <= stop <= {self.seq_len + 1} (the full sequence)"
            )
        text = _text(self.text_vocab)[region]
        F, D, H = self.num_facts, self.num_distractors, self.haystack_len
        K = F + D
        p = params.numpy()
        offset, name = p[:, :1], p[:, 1]
        who = np.concatenate([np.repeat(p[:, 1:2], F, axis=1), p[:, 2 + F : 2 + F + D]], axis=1)  # by fact
        where = np.concatenate([p[:, 2 : 2 + F], p[:, 2 + F + D : 2 + F + 2 * D]], axis=1)
        points, order = p[:, 2 + F + 2 * D : 2 + 2 * F + 3 * D], p[:, 2 + 2 * F + 3 * D :]
        # slot i (in text order) holds fact order[i]; facts < F are about the person asked for, and
        # the answer is the place of the last of them
        who, where = np.take_along_axis(who, order, 1), np.take_along_axis(where, order, 1)
        last = K - 1 - np.argmax((order < F)[:, ::-1], axis=1)
        answer = self._first_place() + where[np.arange(len(p)), last]
        # full sequence: [start] hay[:points[0]] fact 0 hay[points[0]:points[1]] fact 1 ... question
        q = np.arange(start, stop)[None, :]
        fact_at = 1 + points + FACT_LEN * np.arange(K)  # where each fact starts
        passed = (fact_at[:, None, :] + FACT_LEN <= q[..., None]).sum(-1)  # facts wholly before q
        k = np.minimum(passed, K - 1)
        into = q - np.take_along_axis(fact_at, k, 1)  # 0, 1, 2 inside fact k
        fact = np.select(
            [into == 0, into == 1],
            [FIRST_NAME + np.take_along_axis(who, k, 1), np.full_like(q, WENT)],
            self._first_place() + np.take_along_axis(where, k, 1),
        )
        words = text[(offset + q - 1 - FACT_LEN * passed) % len(text)]
        out = np.where(
            (passed < K) & (into >= 0) & (into < FACT_LEN), fact, np.where(words >= 0, words + self._first_word(), UNK)
        )
        asked = q - (1 + H + FACT_LEN * K)  # the question: where name ? answer
        question = np.stack([np.full_like(name, WHERE), FIRST_NAME + name, np.full_like(name, QMARK), answer], 1)
        out = np.where(
            asked >= 0, np.take_along_axis(question, np.clip(asked, 0, QUESTION_LEN - 1).repeat(len(p), 0), 1), out
        )
        return torch.from_numpy(np.where(q == 0, START, out).astype(np.int64))

    def _batch_from(self, params: torch.Tensor, region: str) -> TaskBatch:
        full = self._render(params, region)
        assert full.shape == (params.shape[0], self.seq_len + 1), full.shape
        mask = self.loss_mask_row().expand(params.shape[0], -1).clone()
        return TaskBatch(full[:, :-1].contiguous(), full[:, 1:].contiguous(), mask)

    def batch(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        """A training batch: its text comes from the training articles."""
        _check_int(self.name, "batch_size", batch_size, 1)
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"{self.name}: generator must be a torch.Generator, got {type(generator).__name__}")
        return self._batch_from(self._sample_params(batch_size, generator), "train")

    def fixed_set(self, split: str, size: int) -> TaskBatch:
        """The first ``size`` samples of the fixed ``split``, with text from that split's articles;
        drawn in blocks, so that a smaller set is a prefix of a larger one."""
        return self._batch_from(self.fixed_params(split, size), REGION[split])

    def fixed_params(self, split: str, size: int) -> torch.Tensor:
        """``params`` (for :meth:`window`) of the first ``size`` samples of the fixed ``split``: the
        samples :meth:`fixed_set` makes, for a reader that makes them a segment at a time."""
        if split not in SPLIT_BUCKET:
            raise ValueError(
                f"{self.name}: split={split!r} is not allowed; split must be one of {sorted(SPLIT_BUCKET)}"
            )
        _check_int(self.name, "size", size, 1)
        g = torch.Generator().manual_seed(self.split_seed(split))
        blocks = [self._sample_params(_BLOCK, g, REGION[split]) for _ in range(-(-size // _BLOCK))]
        return torch.cat(blocks)[:size]

    def at_depths(self, split: str, depths, per_depth: int) -> torch.Tensor:
        """``params`` (for :meth:`window`) of ``per_depth`` samples of the fixed ``split`` for each
        ``depth`` in turn, the fact placed at that share of the haystack (0: it opens the sample,
        1: it ends the haystack, just before the question), as BABILong's depth-by-length grid
        places it; the samples are the fixed set's first, with the fact moved. A task with one
        fact about the person asked for; its distractor facts keep their places (the fact goes
        before those at the same point when it sits in the first half, after them otherwise)."""
        if self.num_facts != 1:
            raise ValueError(
                f"{self.name}: num_facts={self.num_facts} is not allowed here: facts are placed at a depth "
                "in a task with one fact about the person asked for"
            )
        bad = [d for d in depths if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d <= 1]
        if bad or not len(depths):
            raise ValueError(f"{self.name}: depths={list(depths)!r} is not allowed: shares of the haystack from 0 to 1")
        _check_int(self.name, "per_depth", per_depth, 1)
        params = self.fixed_params(split, per_depth * len(depths)).clone()
        H, K = self.haystack_len, 1 + self.num_distractors
        first = 3 + 2 * self.num_distractors  # [offset, name, place, others, their places, points, order]
        points, order = params[:, first : first + K], params[:, first + K :]
        target = torch.tensor([round(d * H) for d in depths]).repeat_interleave(per_depth)
        needle = order == 0  # the slot that holds the fact about the person asked for
        points = torch.where(needle, target[:, None], points)
        # slots in text order again; ties: the fact first in the haystack's first half, else last
        side = torch.where(target[:, None] * 2 <= H, 0, 2)
        key = 3 * points + torch.where(needle, side, 1)
        slots = key.argsort(dim=1, stable=True)
        params[:, first : first + K] = points.gather(1, slots)
        params[:, first + K :] = order.gather(1, slots)
        return params

    # -- reading a sample -------------------------------------------------------------------------
    def answer_of(self, tokens) -> int:
        """The answer a reader finds from the facts of a sample (its input tokens): the place of
        the last ``went`` fact about the person of the question."""
        ids = _as_list(tokens)
        return ids[self.fact_position(ids) + 2]

    def fact_position(self, tokens) -> int:
        """Where the fact that answers the question starts in a sample's input tokens (the index of
        its name): the last ``went`` fact about the person of the question, as :meth:`answer_of` reads."""
        ids = _as_list(tokens)
        asked = ids[-2]
        return [i - 1 for i in range(1, len(ids) - 1) if ids[i] == WENT and ids[i - 1] == asked][-1]

    def place_position(self, tokens) -> int:
        """Where the place of the answering fact sits (``name went place``: two after its start): the
        first position at which a model that reads left to right has seen the whole fact."""
        return self.fact_position(tokens) + 2

    def decode(self, tokens) -> str:
        words = _text(self.text_vocab)["words"]
        out = []
        for t in _as_list(tokens):
            if t == START:
                continue
            if FIRST_NAME <= t < self._first_place():
                out.append(NAMES[t - FIRST_NAME].upper())
            elif self._first_place() <= t < self._first_word():
                out.append(PLACES[t - self._first_place()].upper())
            elif t >= self._first_word():
                out.append(str(words[t - self._first_word()]))
            else:
                out.append({0: "<pad>", UNK: "<unk>", QMARK: "?", WHERE: "WHERE", WENT: "WENT"}[t])
        return " ".join(out)
