#!/bin/sh
# The agent's custom search attributes, run after create-namespace.sh by the compose job
# temporal-create-namespace. AGENT_SEARCH_ATTRIBUTES lists them as NAME=TYPE pairs; the
# compose file sets it and tests/test_deploy_files.py keeps it equal to
# contracts/visibility.py SEARCH_ATTRIBUTES. Creating one that exists with the same type
# succeeds, so the job can run again; one that exists with another type fails the job,
# since runs could not publish it (the starter would then publish none).
set -eu

: "${AGENT_SEARCH_ATTRIBUTES:?ERROR: AGENT_SEARCH_ATTRIBUTES environment variable is required}"
NAMESPACE=${DEFAULT_NAMESPACE:-default}
TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-temporal:7233}
MAX_ATTEMPTS=${TEMPORAL_HEALTH_CHECK_MAX_ATTEMPTS:-30}
SLEEP_SECONDS=${TEMPORAL_HEALTH_CHECK_SLEEP_SECONDS:-5}

for pair in $AGENT_SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  type=${pair#*=}
  echo "Creating search attribute $name ($type) in namespace '$NAMESPACE'..."
  attempt=1
  # A namespace just created may take a few seconds to reach every frontend.
  until temporal operator search-attribute create --namespace "$NAMESPACE" \
      --name "$name" --type "$type" --address "$TEMPORAL_ADDRESS"; do
    if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
      echo "Failed to create search attribute $name after $MAX_ATTEMPTS attempts"
      exit 1
    fi
    echo "Search attribute not created yet, waiting... (attempt $attempt/$MAX_ATTEMPTS)"
    attempt=$((attempt + 1))
    sleep "$SLEEP_SECONDS"
  done
done
echo "Search attributes ready in namespace '$NAMESPACE'"
