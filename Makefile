# The two commands of the README (and the benchmark). Each installs what it needs first (tools/setup.sh).
.PHONY: demo test bench

# Builds the package, starts the simulated leader, follower and page, prints the URLs.
demo:
	tools/demo.sh

# Every test: lints, native core tests, simulator tests, wasm tests in Chromium, Firefox, WebKit and Node.
test:
	tools/test.sh

# The benchmark table (not part of `test`); e.g. make bench ARGS="--delay-ms 20 --reads 200".
bench:
	tools/bench.sh $(ARGS)
