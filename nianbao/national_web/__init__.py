"""A simulated national web of government portals for tests and benchmarks
(`nianbao sample-portals --national N`)."""
