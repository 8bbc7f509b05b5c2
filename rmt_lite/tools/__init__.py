"""Tools beside the package: the benchmarks (:mod:`.bench`, :mod:`.bench_length`) and the adapter that
runs the peer RMT implementation in the same trainer (:mod:`.peer`)."""
