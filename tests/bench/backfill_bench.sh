#!/usr/bin/env bash
# backfill_bench.sh: a multi-year backfill of all 19 collections from the fake Oura server into a
# fresh PostgreSQL database, once per added latency. Prints figures; asserts no time (it is not
# part of CI).
#
#   .ci/pg-cluster start .run/bench-pg && source .run/bench-pg/env
#   tests/bench/backfill_bench.sh [--build DIR] [--years N] [--latency-ms "0 50 200"]
#                                 [--concurrency 8] [--page-size 100] [--series-page-size 1000]
#
# Per run: the fake (tests/fakes/fake_oura.py) serves --first-day = N years ago .. --last-day =
# today (UTC) with its page sizes (default 100 documents, 1000 time-series rows a page); a fresh
# database gets sql/ through `init-db` (not timed); then `oura-collector scrape --since FIRST
# --until TODAY` runs under /usr/bin/time -v. Reported: wall time, CPU (user + sys) and peak
# resident memory (max RSS) of the oura-collector process; the latency bound (requests x latency /
# concurrency: the wall time that the added latency alone costs with every slot busy) and
# wall / max(latency bound, CPU / CPUs); the fake server's own CPU (one Python process);
# requests counted by the fake (/_fake/stats), per collection, against the lower bound of the
# product's window plan and the ideal lower bound (documents in the fewest pages, time series in
# 30-day windows of full pages), both computed from the fake's documents (/_fake/documents);
# how many windows of one collection were in flight at once (the fake's request log); rows
# written (the run summary's `inserted`, and the tables' row counts).
#
# Needs: PGHOST/PGPORT/PGUSER (.ci/pg-cluster's env), /usr/bin/time (Debian package `time`),
# python3, psql; the tree DIR built (default build-release: `.ci/build release`, see
# docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD

build=build-release
years=5
latencies="0 50 200"
concurrency=8
page_size=100
series_page_size=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --years) years=$2; shift 2 ;;
    --latency-ms) latencies=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --page-size) page_size=$2; shift 2 ;;
    --series-page-size) series_page_size=$2; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "backfill_bench: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done
build=$(cd "$build" && pwd)
collector="$build/oura-collector"
[ -x "$collector" ] || { echo "backfill_bench: $collector not built (cmake --build $build --target oura-collector and the plugins)" >&2; exit 69; }
[ -x /usr/bin/time ] || { echo "backfill_bench: /usr/bin/time missing: apt-get install time (.ci/install-deps)" >&2; exit 69; }
[ -n "${PGHOST:-}" ] || { echo "backfill_bench: PGHOST is not set: .ci/pg-cluster start .run/bench-pg && source .run/bench-pg/env" >&2; exit 69; }
py=/usr/bin/python3; [ -x "$py" ] || py=python3

first=$(date -u -d "-$years years" +%F)
last=$(date -u +%F)
work=$(mktemp -d /tmp/oura-backfill-bench.XXXXXX)
fake_pid=""
db=""
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
  [ -n "$db" ] && psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
echo "backfill_bench: $first .. $last ($years years), all 19 collections, pages of $page_size documents / $series_page_size series rows, $concurrency requests in flight; build $build (${build_type:-unknown})"
echo "  machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1); PostgreSQL $(psql -X -qAt -d postgres -c 'SHOW server_version') (fsync=$(psql -X -qAt -d postgres -c 'SHOW fsync'))"

for latency in $latencies; do
  echo
  echo "=== run: --latency-ms $latency ==="
  "$py" tests/fakes/fake_oura.py --port 0 --quiet --first-day "$first" --last-day "$last" \
    --latency-ms "$latency" --page-size "$page_size" --series-page-size "$series_page_size" \
    >"$work/fake.out" 2>"$work/fake.err" &
  fake_pid=$!
  for _ in $(seq 100); do
    grep -q 'listening on' "$work/fake.out" 2>/dev/null && break
    sleep 0.1
  done
  url=$(sed -n 's/^listening on //p' "$work/fake.out")
  [ -n "$url" ] || { echo "backfill_bench: the fake did not start:" >&2; cat "$work/fake.err" >&2; exit 69; }

  db="oura_backfill_$$_$latency"
  psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
  cat >"$work/manifest.toml" <<TOML
[collector]
account = "bench"
plugin_dirs = ["$build/plugins"]
sql_dir = "$src/sql"
[api]
base_url = "$url"
[rate_limit]
concurrency = $concurrency
[token_store]
plugin = "env"
[token_store.config]
variable = "OURA_BENCH_TOKEN"
[[endpoints]]
plugin = "daily"
[[endpoints]]
plugin = "sleep"
[[endpoints]]
plugin = "activity"
[[endpoints]]
plugin = "heart"
[[endpoints]]
plugin = "tags"
[[endpoints]]
plugin = "ring"
[[sinks]]
plugin = "postgres"
name = "db"
[sinks.config]
host = "$PGHOST"
port = ${PGPORT:-5432}
dbname = "$db"
user = "${PGUSER:-postgres}"
TOML
  export OURA_BENCH_TOKEN=test-token
  "$collector" --config "$work/manifest.toml" init-db >"$work/init.out" 2>&1 ||
    { cat "$work/init.out" >&2; exit 1; }
  status=0
  /usr/bin/time -v -o "$work/time.txt" "$collector" --config "$work/manifest.toml" scrape --summary \
    --since "$first" --until "$last" >"$work/scrape.out" 2>"$work/scrape.err" || status=$?
  # The fake's own CPU (it serves every page on one core): utime + stime of its process.
  fake_cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$fake_pid/stat")
  psql -X -qAt -d "$db" -F ' ' -c "
    SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM oura.%I', c.relname), false, true, '')))[1]::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'oura' AND c.relkind = 'r' ORDER BY c.relname" >"$work/tables.txt"
  db_size=$(psql -X -qAt -d "$db" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")

  FAKE_URL=$url FIRST=$first LAST=$last STATUS=$status LATENCY=$latency FAKE_CPU=$fake_cpu \
  DB_SIZE=$db_size WORK=$work PAGE=$page_size SERIES_PAGE=$series_page_size \
  CONCURRENCY=$concurrency CPUS=$(nproc) "$py" - <<'PY'
import json, math, os, re, urllib.request
from datetime import date, timedelta

url, work = os.environ["FAKE_URL"], os.environ["WORK"]
first, last = date.fromisoformat(os.environ["FIRST"]), date.fromisoformat(os.environ["LAST"])
PAGE, SERIES_PAGE = int(os.environ["PAGE"]), int(os.environ["SERIES_PAGE"])  # the fake's page sizes

def get(path):
    with urllib.request.urlopen(url + path) as r:
        return json.load(r)

def count(collection, a=None, b=None):
    q = "/_fake/documents?collection=" + collection
    if a: q += "&start_date=" + a.isoformat()
    if b: q += "&end_date=" + b.isoformat()
    return len(get(q))

def pages(n, size):
    return max(1, math.ceil(n / size))

# The product's window plan (core/src/sync/window_plan.cpp): date windows keep 362 days and ask
# 365 (one day wider before, two after; max_window_days 365); datetime windows ask and keep exactly
# 30 days; snapshots: every page, no dates; full re-fetch (rest_mode_period): the whole history in
# one request (2015-01-01 .. today, asked one day wider).
# The ideal lower bound: a date collection's documents in the fewest pages (and no fewer
# requests than 365-day windows), a time series in 30-day windows of full pages.
DATE = ["daily_activity", "daily_sleep", "daily_readiness", "daily_spo2", "daily_stress",
        "daily_resilience", "daily_cardiovascular_age", "sleep", "sleep_time", "workout",
        "session", "vO2_max", "tag", "enhanced_tag"]
SERIES = ["heartrate", "ring_battery_level"]
def windows(keep):
    out, a = [], first
    while a <= last:
        b = min(last, a + timedelta(days=keep - 1))
        out.append((a, b))
        a = b + timedelta(days=1)
    return out

bound = {}   # collection -> (lower bound: pages of the days kept, pages of the days asked)
ideal = {}
docs = {}
for c in DATE + SERIES:
    keep, size = (362, PAGE) if c in DATE else (30, SERIES_PAGE)
    kept = asked = n_all = 0
    for a, b in windows(keep):
        n = count(c, a, b)
        n_all += n
        kept += pages(n, size)
        asked += pages(count(c, a - timedelta(days=1), b + timedelta(days=2)), size) if c in DATE else pages(n, size)
    bound[c], docs[c] = (kept, asked), n_all
    ideal[c] = max(len(windows(365)), pages(n_all, size)) if c in DATE else kept
n = count("ring_configuration"); bound["ring_configuration"] = (pages(n, PAGE),) * 2; docs["ring_configuration"] = n
bound["personal_info"] = (1, 1); docs["personal_info"] = 1
n = count("rest_mode_period"); bound["rest_mode_period"] = (pages(n, PAGE),) * 2; docs["rest_mode_period"] = n
for c in ("ring_configuration", "personal_info", "rest_mode_period"):
    ideal[c] = bound[c][0]

stats = get("/_fake/stats")
per_route = {k.rsplit("/", 1)[-1]: v for k, v in stats["per_route"].items()}

summary = {}
for line in open(os.path.join(work, "scrape.err")):
    f = line.split()
    if len(f) >= 10 and f[0] in bound and f[1].isdigit():
        summary[f[0]] = dict(requests=int(f[1]), retries=int(f[2]), docs=int(f[3]), rows=int(f[4]),
                             inserted=int(f[5]), updated=int(f[6]), outcome=" ".join(f[9:]))

t = {}
for line in open(os.path.join(work, "time.txt")):
    k, _, v = line.strip().rpartition(": ")
    t[k] = v
def seconds(text):
    s = 0.0
    for part in text.split(":"):
        s = s * 60 + float(part)
    return s
wall = seconds(t["Elapsed (wall clock) time (h:mm:ss or m:ss)"])
user, sys_ = float(t["User time (seconds)"]), float(t["System time (seconds)"])
rss_kib = int(t["Maximum resident set size (kbytes)"])
tables = {}
for line in open(os.path.join(work, "tables.txt")):
    name, n = line.split()
    tables[name] = int(n)

order = DATE + SERIES + ["ring_configuration", "personal_info", "rest_mode_period"]
print(f"{'collection':26}{'requests':>9}{'bound kept':>11}{'bound asked':>12}{'req/bound':>10}"
      f"{'ideal':>7}{'req/ideal':>10}{'fake docs':>10}{'docs':>8}{'rows':>9}{'inserted':>9}  outcome")
tot = dict(req=0, kept=0, asked=0, ideal=0, fdocs=0, docs=0, rows=0, ins=0)
for c in order:
    s = summary.get(c, dict(requests=0, docs=0, rows=0, inserted=0, outcome="(no summary line)"))
    req = per_route.get(c, 0)
    kept, asked = bound[c]
    print(f"{c:26}{req:>9}{kept:>11}{asked:>12}{req / asked:>10.2f}{ideal[c]:>7}{req / ideal[c]:>10.2f}"
          f"{docs[c]:>10}{s['docs']:>8}{s['rows']:>9}{s['inserted']:>9}  {s['outcome']}")
    for k, v in (("req", req), ("kept", kept), ("asked", asked), ("ideal", ideal[c]), ("fdocs", docs[c]),
                 ("docs", s["docs"]), ("rows", s["rows"]), ("ins", s["inserted"])):
        tot[k] += v
print(f"{'total':26}{tot['req']:>9}{tot['kept']:>11}{tot['asked']:>12}{tot['req'] / tot['asked']:>10.2f}"
      f"{tot['ideal']:>7}{tot['req'] / tot['ideal']:>10.2f}"
      f"{tot['fdocs']:>10}{tot['docs']:>8}{tot['rows']:>9}{tot['ins']:>9}")
print(f"fake /_fake/stats total: {stats['total']} requests (per route: sum {sum(per_route.values())})")
print(f"rows in the database: {sum(tables.values())} in {len(tables)} tables ({os.environ['DB_SIZE']}); "
      f"largest: " + ", ".join(f"{k} {v}" for k, v in sorted(tables.items(), key=lambda kv: -kv[1])[:4]))
print(f"oura-collector exit {os.environ['STATUS']}: wall {wall:.1f} s, CPU {user + sys_:.1f} s "
      f"(user {user:.1f} + sys {sys_:.1f}), max RSS {rss_kib / 1024:.1f} MiB (goal < 64 MiB); "
      f"fake server CPU {os.environ['FAKE_CPU']} s; {tot['ins'] / wall:.0f} rows/s written")
latency, concurrency, cpus = float(os.environ["LATENCY"]), int(os.environ["CONCURRENCY"]), int(os.environ["CPUS"])
latency_bound = stats["total"] * latency / 1000 / concurrency
cpu_bound = (user + sys_) / cpus
print(f"latency bound {latency_bound:.1f} s ({stats['total']} requests x {latency:g} ms / {concurrency}); "
      f"CPU / CPUs {cpu_bound:.1f} s; wall / max(latency bound, CPU / CPUs) = "
      f"{wall / max(latency_bound, cpu_bound):.2f}; requests / ideal = {tot['req'] / tot['ideal']:.3f}")
# Windows of one collection in flight at once, from the fake's request log (arrival, answer).
most = {}
for c in SERIES:
    reqs = [(e["arrived"], e["answered"], e["query"].get("start_datetime")) for e in stats["log"]
            if e["path"].endswith("/" + c)]
    best = 0
    for a, _, _ in reqs:
        best = max(best, len({w for s, e, w in reqs if s <= a < e}))
    most[c] = best
print("most windows of one collection in flight at once: " + ", ".join(f"{c} {n}" for c, n in most.items()))
with open(os.path.join(work, "figures.txt"), "a") as out:
    out.write(f"{latency:g} {wall:.1f} {user + sys_:.1f} {rss_kib / 1024:.1f} {latency_bound:.1f} "
              f"{stats['total']} {tot['ideal']} {os.environ['FAKE_CPU']}\n")
PY
  if [ "$status" -ne 0 ]; then
    echo "oura-collector exited $status; its last lines:"; tail -n 30 "$work/scrape.err"
  fi
  kill "$fake_pid" 2>/dev/null || true
  wait "$fake_pid" 2>/dev/null || true
  fake_pid=""
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  db=""
done

# The goals of issue 11 side by side (docs/performance.md "Backfill benchmark").
if [ -s "$work/figures.txt" ]; then
  echo
  echo "=== summary (concurrency $concurrency) ==="
  "$py" - "$work/figures.txt" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
print(f"{'latency ms':>10}{'wall s':>8}{'CPU s':>7}{'RSS MiB':>8}{'lat. bound s':>13}{'requests':>9}"
      f"{'ideal':>7}{'fake CPU s':>11}")
walls = {}
for lat, wall, cpu, rss, bound, req, ideal, fake in rows:
    walls[float(lat)] = float(wall)
    print(f"{lat:>10}{wall:>8}{cpu:>7}{rss:>8}{bound:>13}{req:>9}{ideal:>7}{fake:>11}")
if 0.0 in walls and 50.0 in walls:
    print(f"wall at 50 ms / wall at 0 ms = {walls[50.0] / walls[0.0]:.2f} (goal <= 1.5)")
for lat, wall, cpu, rss, bound, req, ideal, fake in rows:
    if float(lat) == 200.0:
        print(f"wall at 200 ms / latency bound = {float(wall) / float(bound):.2f} (goal <= 1.3)")
    print(f"requests / ideal at {lat} ms = {int(req) / int(ideal):.3f} (goal <= 1.05)")
PY
fi
