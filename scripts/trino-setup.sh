#!/usr/bin/env bash
# Fetches the Trino server the test suite runs the shared SQL on (the stand-in for Athena engine v3,
# test/support/trino-server.ts), into .trino/ of the checkout. Reused when already there; Maven keeps
# the download in ~/.m2, so a fresh clone on the same machine only unpacks it again.
#
# Trino 476 is what EMR 7.12 ships as its Trino; Athena does not publish the Trino release its engine
# v3 follows, so a recent release of the same line stands in. 476 needs Java 24 or later.
set -euo pipefail
cd "$(dirname "$0")/.."

TRINO_VERSION=476
DEST=.trino
SERVER="$DEST/trino-server-core-$TRINO_VERSION"

# The Java that runs Trino: TRINO_JAVA_HOME, else a Temurin or OpenJDK 25 under /usr/lib/jvm, else
# JAVA_HOME; it must be 24 or later (Maven itself runs on the default Java).
java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
java_home=""
for candidate in "${TRINO_JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/java-25-openjdk-amd64 "${JAVA_HOME:-}"; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ "$(java_major "$candidate")" -ge 24 ] 2>/dev/null; then
    java_home="$candidate"
    break
  fi
done
if [ -z "$java_home" ]; then
  echo "trino-setup: Trino $TRINO_VERSION needs Java 24 or later; none found (set TRINO_JAVA_HOME to a JDK 25)" >&2
  exit 1
fi

mkdir -p "$DEST"
if [ ! -f "$SERVER/.complete" ]; then
  started=$(date +%s)
  download="$DEST/download"
  rm -rf "$download" "$SERVER"
  mkdir -p "$download"
  # trino-server-core is the smallest distribution (no connectors); the memory connector is its own
  # plugin artifact. Together about 210 MB, against well over a gigabyte for trino-server.
  mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="io.trino:trino-server-core:$TRINO_VERSION:tar.gz" -DoutputDirectory="$download"
  mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="io.trino:trino-memory:$TRINO_VERSION:zip" -DoutputDirectory="$download"
  tar -xzf "$download/trino-server-core-$TRINO_VERSION.tar.gz" -C "$DEST"
  # Only the memory connector is loaded (plugin.dir points here): fewer jars, a faster start.
  rm -rf "$SERVER/plugin"
  mkdir -p "$SERVER/plugin"
  (cd "$SERVER/plugin" && unzip -q "../../download/trino-memory-$TRINO_VERSION.zip" && mv "trino-memory-$TRINO_VERSION" memory)
  rm -rf "$download"
  touch "$SERVER/.complete"
  echo "trino-setup: Trino $TRINO_VERSION in $SERVER ($(du -sh "$SERVER" | cut -f1), $(($(date +%s) - started)) s)"
fi
# What test/support/trino-server.ts reads: where the server and its Java are.
printf '%s\n' "$(cd "$SERVER" && pwd)" > "$DEST/server-dir"
printf '%s\n' "$java_home" > "$DEST/java-home"
echo "trino-setup: Trino $TRINO_VERSION ready, Java $(java_major "$java_home") at $java_home"
