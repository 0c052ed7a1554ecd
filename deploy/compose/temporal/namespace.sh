#!/bin/sh
# One-shot: the namespace and the search attributes the orchestrator's workflows set (DrPair, DrPhase, DrTrigger,
# DrMode: Keyword). Both commands are idempotent enough to rerun: an existing namespace or attribute is reported.
set -eu
temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" > /dev/null 2>&1 ||
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention 30d
for name in DrPair DrPhase DrTrigger DrMode; do
  temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type Keyword || true
done
