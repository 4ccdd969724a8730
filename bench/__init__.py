"""Long runs that are not unit tests: the soak run (`make soak`) and, to come, the benchmarks."""
