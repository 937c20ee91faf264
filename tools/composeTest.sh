#!/usr/bin/env bash
# npm run test:compose: brings the Compose project up for real (podman and local stand-ins for the
# images no registry can give us: ../shared/tools/containers), pushes load through the gateway,
# checks the rows in PostgreSQL and the traces in Jaeger's query API, and tears it all down.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${CONTAINERS_TOOL:-../shared/tools/containers}"
project="${COMPOSE_TEST_PROJECT:-flowmesh-compose-test}"
export GATEWAY_HOST_PORT="${GATEWAY_HOST_PORT:-18080}" JAEGER_UI_PORT="${JAEGER_UI_PORT:-26686}"
gateway="http://127.0.0.1:${GATEWAY_HOST_PORT}"
jaeger="http://127.0.0.1:${JAEGER_UI_PORT}"
say() { printf '[compose-test] %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

eval "$("$tools/setup.sh")"
compose() { docker-compose -p "$project" "$@"; }
trap 'say "tearing down"; compose logs --no-color --tail=20 >&2 || true; compose down -v >&2 || true' EXIT

say "stand-ins for the images no registry gives us"
"$tools/stand-ins.sh" docker-compose.yml >&2
say "building and starting the mesh"
started=$(date +%s)
# Two replicas of enrichment and join (docker-compose 1.x ignores deploy.replicas): their upstreams find both by name.
compose up -d --build --scale enrichment=2 --scale join=2 >&2

say "waiting for the gateway to be ready (its link to the source open)"
for _ in $(seq 1 180); do
  if curl -fsS "$gateway/readyz" >/dev/null 2>&1; then break; fi
  sleep 2
done
curl -fsS "$gateway/readyz" >/dev/null || fail "the gateway was not ready within 6 minutes"
say "ready $(( $(date +%s) - started )) s after up"
compose ps >&2

say "pushing load: 2000 events/s for 15 s"
[ -f dist/bench/loadgen/main.js ] || npm run build >&2
summary=$(node dist/bench/loadgen/main.js --url "$gateway" --rate 2000 --duration 15 --retry-429 3 --json | tail -n 1)
accepted=$(node -e 'console.log(JSON.parse(process.argv[1]).accepted)' "$summary")
say "accepted ${accepted} events"
[ "$accepted" -gt 0 ] || fail "nothing was accepted"

rows=0
for _ in $(seq 1 60); do
  rows=$(compose exec -T postgres psql -U mesh -d mesh -tAc "SELECT count(*) FROM events WHERE accepted_at > now() - interval '10 minutes'" | tr -d '[:space:]')
  [ "$rows" -ge "$accepted" ] && break
  sleep 1
done
say "rows in events: ${rows} (accepted ${accepted})"
[ "$rows" -ge "$accepted" ] || fail "only ${rows} of ${accepted} accepted events reached PostgreSQL"
counted=$(compose exec -T postgres psql -U mesh -d mesh -tAc "SELECT coalesce(sum(count), 0) FROM item_minute" | tr -d '[:space:]')
say "item_minute counts ${counted} events"

pressure=$(curl -fsS "$gateway/v1/pressure")
up=$(node -e 'console.log(JSON.parse(process.argv[1]).hops.filter((hop) => hop.up).map((hop) => hop.name).join(","))' "$pressure")
say "hops up in /v1/pressure: ${up}"
[ "$up" = "gateway,source,enrichment,join,sink" ] || fail "not every hop reports its pressure"

for stage in enrichment join; do
  links=$(compose logs --no-color "$stage" | grep -c 'upstream link opened' || true)
  say "${stage}: its 2 replicas opened ${links} upstream links in all"
  [ "$links" -ge 2 ] || fail "the upstream of ${stage} did not open a link to each of its replicas"
done

sleep 6 # the exporters' last batches
report=$(curl -fsS "$jaeger/api/traces?service=sink&limit=50" | node -e '
  const traces = JSON.parse(require("fs").readFileSync(0, "utf8")).data;
  const whole = traces.filter((trace) => { const names = new Set(Object.values(trace.processes).map((p) => p.serviceName)); return ["gateway", "source", "enrichment", "join", "sink"].every((n) => names.has(n)); });
  const spans = whole[0]?.spans.map((span) => span.operationName) ?? [];
  console.log(JSON.stringify({ traces: traces.length, across_all_hops: whole.length, example: spans }));
')
say "traces in Jaeger: ${report}"
node -e 'process.exit(JSON.parse(process.argv[1]).across_all_hops > 0 ? 0 : 1)' "$report" || fail "no trace crosses all five services"
services=$(curl -fsS "$jaeger/api/services")
say "services in Jaeger: ${services}"

printf '{"accepted":%s,"rows":%s,"item_minute":%s,"hops_up":"%s","jaeger":%s}\n' "$accepted" "$rows" "$counted" "$up" "$report"
say "passed"
