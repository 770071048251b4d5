"""Tools around training runs: the run-folder format, sweeps over grids of runs, and tables."""
