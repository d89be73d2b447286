"""`switchboard loadgen`: customers and agents played against a running data plane."""
