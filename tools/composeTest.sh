#!/usr/bin/env bash
# npm run test:compose: brings the Compose project up for real (podman and local stand-ins for the
# images no registry can give us: ../shared/tools/containers), pushes load through the gateway,
# checks the rows in PostgreSQL, the traces in Jaeger's query API and (--profile metrics) what
# Prometheus scrapes and records, and tears it all down.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${CONTAINERS_TOOL:-../shared/tools/containers}"
project="${COMPOSE_TEST_PROJECT:-flowmesh-compose-test}"
export GATEWAY_HOST_PORT="${GATEWAY_HOST_PORT:-18080}" JAEGER_UI_PORT="${JAEGER_UI_PORT:-26686}" PROMETHEUS_HOST_PORT="${PROMETHEUS_HOST_PORT:-19090}"
gateway="http://127.0.0.1:${GATEWAY_HOST_PORT}"
jaeger="http://127.0.0.1:${JAEGER_UI_PORT}"
prometheus="http://127.0.0.1:${PROMETHEUS_HOST_PORT}"
say() { printf '[compose-test] %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

eval "$("$tools/setup.sh")"
compose() { docker-compose -p "$project" "$@"; }
scratch=$(mktemp -d)
trap 'say "tearing down"; compose logs --no-color --tail=20 >&2 || true; compose --profile metrics down -v >&2 || true; rm -rf "$scratch"' EXIT

say "stand-ins for the images no registry gives us"
# For the services that start without a profile; Prometheus (--profile metrics) gets its own below,
# Grafana none (it is not started here).
started_services="$scratch/started-services.yml"
compose config | python3 -c 'import sys, yaml; c = yaml.safe_load(sys.stdin); c["services"] = {n: s for n, s in c["services"].items() if "profiles" not in s}; yaml.safe_dump(c, sys.stdout)' > "$started_services"
"$tools/stand-ins.sh" "$started_services" >&2
prometheus_image=$(compose --profile metrics config | python3 -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["services"]["prometheus"]["image"])')
if ! podman image exists "$prometheus_image"; then
  say "stand-in for ${prometheus_image}: Debian's prometheus"
  mkdir -p "$scratch/prometheus-image"
  printf '%s\n' 'FROM localhost/debian-min:bookworm' \
    'RUN apt-get update && apt-get install -y --no-install-recommends prometheus busybox && ln -s /bin/busybox /usr/local/bin/wget && mkdir -p /prometheus && chown nobody /prometheus' \
    'USER nobody' 'ENTRYPOINT ["/usr/bin/prometheus"]' > "$scratch/prometheus-image/Containerfile"
  podman build -q -t "$prometheus_image" "$scratch/prometheus-image" >&2
fi
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
up=$(node -e 'console.log([...new Set(JSON.parse(process.argv[1]).hops.filter((hop) => hop.up).map((hop) => hop.name))].join(","))' "$pressure")
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

say "Prometheus (--profile metrics): every replica of every service scraped, the rules evaluated"
compose --profile metrics up -d prometheus >&2
for _ in $(seq 1 60); do
  if curl -fsS "$prometheus/-/ready" >/dev/null 2>&1; then break; fi
  sleep 2
done
curl -fsS "$prometheus/-/ready" >/dev/null || fail "Prometheus was not ready within 2 minutes"
node dist/bench/loadgen/main.js --url "$gateway" --rate 1000 --duration 20 --retry-429 3 --json >/dev/null &
loadgen=$!
scraped=""
for _ in $(seq 1 30); do
  sleep 2
  scraped=$(curl -fsS "$prometheus/api/v1/query" --data-urlencode 'query=stage:mesh_stage_replicas:count' | node -e '
    const result = JSON.parse(require("fs").readFileSync(0, "utf8")).data.result;
    console.log(result.map((sample) => `${sample.metric.stage}=${sample.value[1]}`).sort().join(","));
  ')
  [ "$scraped" = "enrichment=2,gateway=1,join=2,sink=1,source=1" ] && break
done
wait "$loadgen" || true
say "replicas Prometheus scrapes by stage: ${scraped}"
[ "$scraped" = "enrichment=2,gateway=1,join=2,sink=1,source=1" ] || fail "Prometheus does not scrape every replica of every service"
desired=$(curl -fsS "$prometheus/api/v1/query" --data-urlencode 'query=stage:mesh_stage_desired_replicas:count' | node -e '
  const result = JSON.parse(require("fs").readFileSync(0, "utf8")).data.result;
  console.log(result.map((sample) => `${sample.metric.stage}=${sample.value[1]}`).sort().join(","));
')
say "desired replicas by stage: ${desired}"
[ "$(echo "$desired" | tr ',' '\n' | grep -c '=')" -eq 5 ] || fail "the scale signal is not recorded for every stage"

printf '{"accepted":%s,"rows":%s,"item_minute":%s,"hops_up":"%s","jaeger":%s,"prometheus_replicas":"%s"}\n' "$accepted" "$rows" "$counted" "$up" "$report" "$scraped"
say "passed"
