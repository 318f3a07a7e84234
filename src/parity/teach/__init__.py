"""Data the teacher model writes: gold and gold_alt for ruler cases (`parity gold`) and corpus rows
(`parity corpus synth`, `parity corpus import`). Every call is cached and costed; every output is
validated against the task before it is written, and written atomically, one item at a time."""
