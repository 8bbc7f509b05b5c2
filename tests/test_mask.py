"""The attention mask is the table of the design notes (book/design.md), section 2 (1 = blocked)."""

import torch

from rmt_lite import attention_mask

# M=2 read slots, T=4 tokens, M=2 write slots, XL cache of 3: columns cache | R | t0..t3 | W
DESIGN_TABLE = """
111 00 1111 11
111 00 1111 11
000 00 0111 11
000 00 0011 11
000 00 0001 11
000 00 0000 11
111 00 0000 00
111 00 0000 00
"""


def parse(table: str) -> torch.Tensor:
    rows = [line.replace(" ", "") for line in table.strip().splitlines()]
    return torch.tensor([[c == "1" for c in row] for row in rows])


def test_mask_equals_design_table():
    assert torch.equal(attention_mask(2, 4, 3, write_mem=True), parse(DESIGN_TABLE))


def test_read_mem_from_cache_opens_cache_columns_for_memory_rows_only():
    expected = parse(DESIGN_TABLE)
    expected[:2, :3] = False
    expected[-2:, :3] = False
    assert torch.equal(attention_mask(2, 4, 3, write_mem=True, read_mem_from_cache=True), expected)


def test_start_only_memory_has_no_write_block():
    expected = parse(DESIGN_TABLE)[:6, :9]  # drop the W rows and columns
    assert torch.equal(attention_mask(2, 4, 3, write_mem=False), expected)


def test_no_memory_no_cache_is_plain_causal():
    assert torch.equal(attention_mask(0, 5, 0, write_mem=False), torch.ones(5, 5, dtype=torch.bool).triu(1))


def test_encoder_mask_is_bidirectional():
    assert not attention_mask(2, 4, 0, write_mem=False, causal=False).any()


def test_returned_mask_is_a_copy():
    m = attention_mask(1, 2, 0)
    m.fill_(False)
    assert attention_mask(1, 2, 0).any()
