"""The reproduction, one layer above the core: the book's experiments (:mod:`.experiments`, registered
when ``rmt_lite`` is imported), the queue that trains them (:mod:`.reproduce`), the claims and their
verdicts (:mod:`.claims`), the paper's numbers (:mod:`.paper`) and the studies that test a reason
(generalisation, memory analysis, memory norm, the retrieval study)."""
