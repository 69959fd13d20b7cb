#!/bin/sh
# Run inside an image build: when /tmp/apt holds *.list or *.sources files (copied from
# docker/apt/), they replace the image's APT sources, so the build installs the same packages as
# the host (test/docker-test.sh puts the host's there). Then /tmp/apt is removed.
set -eu
found=
for f in /tmp/apt/*.list /tmp/apt/*.sources; do [ -e "$f" ] && found=1; done
if [ -n "$found" ]; then
	rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
	for f in /tmp/apt/*.list /tmp/apt/*.sources; do [ -e "$f" ] && cp "$f" /etc/apt/sources.list.d/; done
fi
rm -rf /tmp/apt
