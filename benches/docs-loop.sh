#!/usr/bin/env bash
# The build-log streaming loop from Pipecat Cloud's docs ("Get Build Logs", section "Streaming
# Logs During Build"), the baseline that benches/e2e.rs measures buildgate against. Kept as the
# docs write it: curl the latest `limit=100` log lines and print them with `jq -r '.logs[]'`,
# then curl the build and stop when `.build.status` is success, failed or timeout; sleep; again.
# Like the docs' loop it has no `set -e`, no retry and no Retry-After: a failed request or an
# error body just goes round again (jq complains on stderr), and it exits 0 whatever the outcome.
#
# One deliberate difference, from the issue: the docs' loop as written reads both every 5 s;
# this one reads the logs every iteration and the status on every second one (STATUS_EVERY=2),
# i.e. logs every 5 s with limit=100 and status every 10 s. The status is read on iterations
# 0, 2, 4, ..., each right after that iteration's logs, as in the docs.
#
# Two additions keep it bounded, as everything run on this machine must be: each curl gets
# `--max-time CURL_MAX_TIME`, and the loop gives up (exit 124) after MAX_ITERATIONS iterations.
#
# One option keeps its schedule when time is compressed: with PACE=1 (the bench sets it) each
# iteration starts SLEEP after the previous one started, instead of SLEEP after it ended. At real
# time the two are nearly the same (its curl and jq take tens of ms against a 5 s sleep); at the
# bench's 1/20 time those same tens of ms stretched every iteration by 29% when measured unpaced
# (93 logs reads instead of 120 over the 600 s build), so the loop made fewer requests than the
# docs' loop does.
#
# Usage: docs-loop.sh [API_URL [BUILD_ID [SLEEP]]], or set the environment variables:
#   PIPECAT_API_URL  base URL                         (default https://api.pipecat.daily.co/v1)
#   BUILD_ID         the build to follow              (required)
#   PIPECAT_API_KEY  bearer token                     (required; like the docs, it is passed on
#                                                      curl's command line)
#   SLEEP            seconds between iterations, fractions allowed (default 5; the bench scales it)
#   STATUS_EVERY     read the status every Nth iteration  (default 2)
#   LIMIT            log lines per read                   (default 100)
#   MAX_ITERATIONS   (default 720: an hour at SLEEP=5)
#   PACE             1: start iterations SLEEP apart, whatever they took     (default 0)
#   CURL_MAX_TIME    seconds per request                  (default 30)

API_URL="${1:-${PIPECAT_API_URL:-https://api.pipecat.daily.co/v1}}"
BUILD_ID="${2:-${BUILD_ID:-}}"
SLEEP="${3:-${SLEEP:-5}}"
STATUS_EVERY="${STATUS_EVERY:-2}"
LIMIT="${LIMIT:-100}"
MAX_ITERATIONS="${MAX_ITERATIONS:-720}"
CURL_MAX_TIME="${CURL_MAX_TIME:-30}"
PACE="${PACE:-0}"

if [[ -z "$BUILD_ID" || -z "${PIPECAT_API_KEY:-}" ]]; then
  echo "usage: PIPECAT_API_KEY=... $0 [API_URL [BUILD_ID [SLEEP]]] (or BUILD_ID=... in the environment)" >&2
  exit 2
fi

# Whole microseconds of a decimal number of seconds ("0.25" -> 250000), in bash alone.
micros() {
  local int="${1%%.*}" frac=0
  [[ "$1" == *.* ]] && frac="${1#*.}"
  frac="${frac}000000"
  echo $(( 10#${int:-0} * 1000000 + 10#${frac:0:6} ))
}
SLEEP_US=$(micros "$SLEEP")
START_US=${EPOCHREALTIME/[.,]/}

i=0
while true; do
  RESPONSE=$(curl -s --max-time "$CURL_MAX_TIME" "$API_URL/builds/$BUILD_ID/logs?limit=$LIMIT" \
    -H "Authorization: Bearer $PIPECAT_API_KEY")

  echo "$RESPONSE" | jq -r '.logs[]'

  if (( i % STATUS_EVERY == 0 )); then
    # Check if build is still in progress
    BUILD_STATUS=$(curl -s --max-time "$CURL_MAX_TIME" "$API_URL/builds/$BUILD_ID" \
      -H "Authorization: Bearer $PIPECAT_API_KEY" | jq -r '.build.status')

    if [[ "$BUILD_STATUS" == "success" || "$BUILD_STATUS" == "failed" || "$BUILD_STATUS" == "timeout" ]]; then
      echo "Build finished with status: $BUILD_STATUS"
      break
    fi
  fi

  i=$((i + 1))
  if (( i >= MAX_ITERATIONS )); then
    echo "docs-loop.sh: gave up after $i iterations" >&2
    exit 124
  fi
  if [[ "$PACE" == 1 ]]; then
    WAIT_US=$(( START_US + i * SLEEP_US - ${EPOCHREALTIME/[.,]/} ))
    (( WAIT_US > 0 )) && sleep "$(( WAIT_US / 1000000 )).$(printf '%06d' $(( WAIT_US % 1000000 )))"
  else
    sleep "$SLEEP"
  fi
done
