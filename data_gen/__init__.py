"""data_gen: the tasks and corpora of the RMT paper, generated or loaded offline."""
