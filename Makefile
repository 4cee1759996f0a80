# The two commands of the README. Each installs what it needs first (tests/tools/setup.sh).
.PHONY: demo test

# Builds the package, starts the simulated leader, follower and page, prints the URLs.
demo:
	tests/tools/demo.sh

# Every test: lints, native core tests, simulator tests, wasm tests in Chromium and Node.
test:
	tests/tools/test.sh
