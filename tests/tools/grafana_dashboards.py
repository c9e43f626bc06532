#!/usr/bin/env python3
"""Writes the Grafana dashboards of etc/grafana/dashboards/ (classic dashboard JSON, schemaVersion 39).

The six dashboards share their building blocks (data source, the account variable, links, daily
bars with a 7-day rolling average, units), so they are generated from this one file instead of
being edited by hand in six places:

    python3 tests/tools/grafana_dashboards.py            # rewrites etc/grafana/dashboards/*.json
    python3 tests/tools/grafana_dashboards.py --check    # exit 1 when a file differs (ctest runs it)

Conventions every panel follows (tests/integration/dashboard_test.cpp checks them on a database):
- Daily values are keyed by the wearer's own `day` (a calendar date, not an instant). A day is
  shown as midnight UTC of that date and every dashboard's time zone is UTC, so a day lands on its
  own date whatever the browser's zone; the range is `day BETWEEN $__timeFrom()::date AND
  $__timeTo()::date` (the dates of the picked range).
- Samples (heart rate, battery, overnight curves) use Grafana's time macros on their timestamps.
- Every panel sets `fieldConfig.defaults.unit`; a panel that shows two quantities of different
  units gives the second its own axis through an override.
"""
import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "etc" / "grafana" / "dashboards"

DS = {"type": "grafana-postgresql-datasource", "uid": "${datasource}"}
ACCOUNT = "${account:sqlstring}"
DAY_RANGE = "day BETWEEN $__timeFrom()::date AND $__timeTo()::date"
# Seven days before the range too, so the rolling average of the first day shown is complete.
DAY_RANGE_7 = "day BETWEEN $__timeFrom()::date - 6 AND $__timeTo()::date"
DAY_TIME = "day::timestamp AT TIME ZONE 'UTC'"
# The wearer's UTC offset at bedtime (from the raw document), to show overnight samples on the
# wearer's wall clock.
SLEEP_OFFSET = ("CASE WHEN n.raw->>'bedtime_start' ~ '[+-][0-9]{2}:[0-9]{2}$' "
                "THEN right(n.raw->>'bedtime_start', 6)::interval ELSE interval '0' END")

DASHBOARDS = [
    ("oura-overview", "Oura overview", "overview.json"),
    ("oura-sleep", "Oura sleep", "sleep.json"),
    ("oura-readiness", "Oura readiness & recovery", "readiness.json"),
    ("oura-activity", "Oura activity", "activity.json"),
    ("oura-heart", "Oura heart", "heart.json"),
    ("oura-health", "Oura ring & collector health", "health.json"),
]

SCORE_STEPS = {"mode": "absolute", "steps": [
    {"color": "red", "value": None}, {"color": "orange", "value": 60},
    {"color": "green", "value": 70}, {"color": "dark-green", "value": 85}]}


class Board:
    """Lays panels out left to right, 24 columns wide, and numbers them."""

    def __init__(self):
        self.panels = []
        self.x = 0
        self.y = 0
        self.row_h = 0

    def row(self, title):
        self.newline()
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}})
        self.y += 1

    def newline(self):
        if self.x:
            self.y += self.row_h
        self.x = 0
        self.row_h = 0

    def add(self, panel, w, h):
        if self.x + w > 24:
            self.newline()
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        self.panels.append(panel)

    def numbered(self):
        for i, p in enumerate(self.panels, start=1):
            p["id"] = i
        return self.panels


def target(sql, fmt="time_series", ref="A"):
    return {"refId": ref, "datasource": DS, "rawQuery": True, "editorMode": "code",
            "format": fmt, "rawSql": sql.strip()}


def panel(kind, title, description, unit, targets, *, overrides=None, options=None,
          custom=None, defaults=None):
    d = {"unit": unit}
    if custom is not None:
        d["custom"] = custom
    d.update(defaults or {})
    return {"type": kind, "title": title, "description": description, "datasource": DS,
            "targets": targets, "fieldConfig": {"defaults": d, "overrides": overrides or []},
            "options": options or {}}


def axis_override(name, unit, *, label=None, placement="right", extra=None):
    """A series with a unit of its own gets an axis of its own."""
    props = [{"id": "unit", "value": unit},
             {"id": "custom.axisPlacement", "value": placement}]
    if label:
        props.append({"id": "custom.axisLabel", "value": label})
    props += extra or []
    return {"matcher": {"id": "byName", "options": name}, "properties": props}


def line_override(name):
    """The 7-day rolling average: a line over the daily bars."""
    return {"matcher": {"id": "byName", "options": name}, "properties": [
        {"id": "custom.drawStyle", "value": "line"},
        {"id": "custom.lineWidth", "value": 2},
        {"id": "custom.fillOpacity", "value": 0},
        {"id": "custom.showPoints", "value": "never"}]}


BARS = {"drawStyle": "bars", "fillOpacity": 60, "lineWidth": 1, "barAlignment": 0,
        "showPoints": "never", "spanNulls": False}
POINTS = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "showPoints": "always",
          "pointSize": 5, "spanNulls": True}
LINES = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
         "spanNulls": False}
LEGEND = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
          "tooltip": {"mode": "multi", "sort": "none"}}


def daily_with_average(title, description, table, expr, unit, name, *, where="",
                       defaults=None, kind_custom=BARS):
    """Daily bars of `expr` from `table` with its 7-day rolling average as a line."""
    extra = f" AND {where}" if where else ""
    sql = f"""
WITH d AS (
  SELECT day, ({expr})::double precision AS v
  FROM {table}
  WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE_7}{extra}
)
SELECT {DAY_TIME} AS time, v AS "{name}",
  avg(v) OVER (ORDER BY day RANGE BETWEEN INTERVAL '6 days' PRECEDING AND CURRENT ROW) AS "{name}, 7-day average"
FROM d
ORDER BY day"""
    # The average covers the days before the range; only the range's days are returned.
    sql = f"""
SELECT * FROM ({sql.strip()}) w
WHERE time >= $__timeFrom()::date::timestamp AT TIME ZONE 'UTC'
ORDER BY time"""
    return panel("timeseries", title, description, unit, [target(sql)],
                 custom=dict(kind_custom),
                 overrides=[line_override(f"{name}, 7-day average")],
                 options=LEGEND, defaults=defaults)


def latest_stat(title, description, table, expr, unit, *, where="", defaults=None,
                thresholds=None, link=None):
    """The latest day on or before the range's end (a stat tile; the sparkline is the range)."""
    extra = f" AND {where}" if where else ""
    sql = f"""
SELECT {DAY_TIME} AS time, ({expr})::double precision AS value
FROM {table}
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}{extra} AND ({expr}) IS NOT NULL
ORDER BY day"""
    d = dict(defaults or {})
    if thresholds:
        d["thresholds"] = thresholds
        d["color"] = {"mode": "thresholds"}
    if link:
        d["links"] = [link]
    return panel("stat", title, description, unit, [target(sql)], defaults=d,
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                            "values": False},
                          "graphMode": "area", "colorMode": "value", "textMode": "value_and_name",
                          "justifyMode": "auto", "orientation": "auto"})


def dashboard_link(uid, title):
    return {"title": title, "url": f"/d/{uid}?${{__url_time_range}}&${{account:queryparam}}"}


def common(uid, title, description, panels, extra_variables=(), time_from="now-30d"):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["oura", "oura-collector"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "utc",
        "time": {"from": time_from, "to": "now"},
        "refresh": "",
        "links": [{"title": t, "type": "link", "url": f"/d/{u}", "keepTime": True,
                   "includeVars": True, "targetBlank": False, "icon": "dashboard",
                   "tooltip": t, "asDropdown": False, "tags": []}
                  for u, t, _ in DASHBOARDS if u != uid],
        "annotations": {"list": []},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "grafana-postgresql-datasource", "current": {}, "hide": 0,
             "refresh": 1, "regex": "", "includeAll": False, "multi": False},
            {"name": "account", "label": "Account", "type": "query", "datasource": DS,
             "query": "SELECT DISTINCT account FROM oura.sync_state UNION "
                      "SELECT DISTINCT account FROM oura.runs ORDER BY 1",
             "definition": "SELECT DISTINCT account FROM oura.sync_state UNION "
                           "SELECT DISTINCT account FROM oura.runs ORDER BY 1",
             "refresh": 1, "sort": 1, "current": {}, "hide": 0, "includeAll": False,
             "multi": False, "regex": ""},
            *extra_variables,
        ]},
        "panels": panels,
    }


# --------------------------------------------------------------------------------------------
# Overview

def overview():
    b = Board()
    b.row("Today (the latest day on or before the end of the range)")
    b.add(latest_stat("Sleep score", "Daily sleep score (1-100) of the latest day with one.",
                      "oura.daily_sleep", "score", "none", thresholds=SCORE_STEPS,
                      defaults={"min": 0, "max": 100},
                      link=dashboard_link("oura-sleep", "Sleep")), 4, 5)
    b.add(latest_stat("Readiness score", "Daily readiness score (1-100).",
                      "oura.daily_readiness", "score", "none", thresholds=SCORE_STEPS,
                      defaults={"min": 0, "max": 100},
                      link=dashboard_link("oura-readiness", "Readiness & recovery")), 4, 5)
    b.add(latest_stat("Activity score", "Daily activity score (1-100).",
                      "oura.daily_activity", "score", "none", thresholds=SCORE_STEPS,
                      defaults={"min": 0, "max": 100},
                      link=dashboard_link("oura-activity", "Activity")), 4, 5)
    b.add(latest_stat("Resting heart rate", "Lowest heart rate of the main sleep (long_sleep), bpm.",
                      "oura.sleep", "lowest_heart_rate", "suffix: bpm",
                      where="type = 'long_sleep'",
                      link=dashboard_link("oura-heart", "Heart")), 4, 5)
    b.add(latest_stat("Temperature deviation", "Skin temperature deviation from the long-term "
                      "baseline, °C.", "oura.daily_readiness", "temperature_deviation",
                      "celsius", defaults={"decimals": 2}), 4, 5)
    freshness = f"""
SELECT max(updated_at) AS time, EXTRACT(EPOCH FROM now() - max(updated_at)) AS "since the last sync"
FROM oura.sync_state
WHERE account = {ACCOUNT}"""
    b.add(panel("stat", "Data freshness", "Time since the collector last wrote sync state for "
                "this account (any collection). See Ring & collector health for details.",
                "s", [target(freshness, "table")],
                defaults={"color": {"mode": "thresholds"}, "decimals": 0,
                          "thresholds": {"mode": "absolute", "steps": [
                              {"color": "green", "value": None},
                              {"color": "orange", "value": 2 * 86400},
                              {"color": "red", "value": 3 * 86400}]},
                          "links": [dashboard_link("oura-health", "Ring & collector health")]},
                options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "/since/",
                                           "values": False},
                         "graphMode": "none", "colorMode": "value", "textMode": "value"}), 4, 5)
    b.row("Trends")
    scores = f"""
SELECT {DAY_TIME} AS time, avg(s) FILTER (WHERE k = 'sleep') AS "sleep",
  avg(s) FILTER (WHERE k = 'readiness') AS "readiness", avg(s) FILTER (WHERE k = 'activity') AS "activity"
FROM (
  SELECT day, 'sleep' AS k, score AS s FROM oura.daily_sleep WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
  UNION ALL
  SELECT day, 'readiness', score FROM oura.daily_readiness WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
  UNION ALL
  SELECT day, 'activity', score FROM oura.daily_activity WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
) scores
GROUP BY day ORDER BY day"""
    b.add(panel("timeseries", "Sleep, readiness and activity scores", "Daily scores (1-100) by "
                "the wearer's day.", "none", [target(scores)], custom=dict(POINTS),
                defaults={"min": 0, "max": 100}, options=LEGEND), 24, 8)
    b.add(daily_with_average("Resting heart rate", "Lowest heart rate of each night's main sleep "
                             "(long_sleep), with its 7-day rolling average.", "oura.sleep",
                             "lowest_heart_rate", "suffix: bpm", "resting heart rate",
                             where="type = 'long_sleep'", kind_custom=POINTS), 12, 8)
    b.add(daily_with_average("HRV balance", "Readiness contributor 'HRV balance' (a score, "
                             "1-100: your recent HRV against your long-term average).",
                             "oura.daily_readiness", "contributors_hrv_balance", "none",
                             "HRV balance score", kind_custom=POINTS), 12, 8)
    b.add(daily_with_average("Temperature deviation", "Skin temperature deviation from the "
                             "long-term baseline, °C.", "oura.daily_readiness",
                             "temperature_deviation", "celsius", "temperature deviation",
                             defaults={"decimals": 2}), 12, 8)
    stress = f"""
SELECT {DAY_TIME} AS time, stress_high AS "high stress", recovery_high AS "high recovery"
FROM oura.daily_stress
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "Daytime stress and recovery", "Time in the high stress and high "
                "recovery zones per day.", "s", [target(stress)], custom=dict(BARS),
                options=LEGEND), 12, 8)
    return common("oura-overview", "Oura overview", "Today's scores, 30-day trends and whether "
                  "the data is fresh. Start here; the tiles link to the detail dashboards.",
                  b.numbered())


# --------------------------------------------------------------------------------------------
# Sleep

def sleep():
    b = Board()
    night_var = {
        "name": "night", "label": "Night (main sleep)", "type": "query", "datasource": DS,
        "query": f"SELECT day::text || ' (' || to_char(bedtime_start AT TIME ZONE 'UTC', 'HH24:MI') || 'Z)' AS __text, id AS __value "
                 f"FROM oura.sleep WHERE account = {ACCOUNT} AND deleted_at IS NULL AND type = 'long_sleep' "
                 f"AND {DAY_RANGE} ORDER BY day DESC",
        "refresh": 2, "sort": 0, "current": {}, "hide": 0, "includeAll": False,
        "multi": False, "regex": ""}
    night_var["definition"] = night_var["query"]
    b.row("Score")
    b.add(daily_with_average("Sleep score", "Daily sleep score (1-100) with its 7-day rolling "
                             "average.", "oura.daily_sleep", "score", "none", "sleep score",
                             defaults={"min": 0, "max": 100}), 12, 8)
    contributors = f"""
SELECT {DAY_TIME} AS time, contributors_total_sleep AS "total sleep", contributors_efficiency AS "efficiency",
  contributors_restfulness AS "restfulness", contributors_rem_sleep AS "REM sleep",
  contributors_deep_sleep AS "deep sleep", contributors_latency AS "latency", contributors_timing AS "timing"
FROM oura.daily_sleep
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "Sleep score contributors", "Each contributor is a score (1-100, "
                "higher is better), not a duration.", "none", [target(contributors)],
                custom=dict(POINTS), defaults={"min": 0, "max": 100}, options=LEGEND), 12, 8)
    b.row("Main sleep per night (long_sleep)")
    stages = f"""
SELECT {DAY_TIME} AS time, deep_sleep_duration AS "deep", light_sleep_duration AS "light",
  rem_sleep_duration AS "REM", awake_time AS "awake"
FROM oura.sleep
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND type = 'long_sleep' AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "Sleep stages per night", "Durations of the main sleep's stages, "
                "stacked: the bar's height is the time in bed.", "s", [target(stages)],
                custom=dict(BARS, stacking={"mode": "normal", "group": "A"}, fillOpacity=80),
                options=LEGEND), 12, 8)
    b.add(daily_with_average("Total sleep", "Total sleep time of the main sleep, with its 7-day "
                             "rolling average.", "oura.sleep", "total_sleep_duration", "s",
                             "total sleep", where="type = 'long_sleep'"), 12, 8)
    regularity = f"""
SELECT {DAY_TIME} AS time,
  EXTRACT(EPOCH FROM (n.raw->>'bedtime_start')::timestamp - n.day::timestamp) / 3600.0 AS "bedtime (h from midnight)",
  EXTRACT(EPOCH FROM (n.raw->>'bedtime_end')::timestamp - n.day::timestamp) / 3600.0 AS "wake time (h from midnight)"
FROM oura.sleep n
WHERE n.account = {ACCOUNT} AND n.deleted_at IS NULL AND n.type = 'long_sleep' AND n.{DAY_RANGE}
ORDER BY n.day"""
    b.add(panel("timeseries", "Bedtime and wake time regularity", "On the wearer's wall clock, "
                "in hours from midnight of the night's day: -1.5 is 22:30 the evening before, "
                "7.25 is 07:15. Flat lines are regular sleep.", "h", [target(regularity)],
                custom=dict(POINTS), options=LEGEND), 12, 8)
    eff = f"""
SELECT {DAY_TIME} AS time, efficiency AS "efficiency", latency AS "latency"
FROM oura.sleep
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND type = 'long_sleep' AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "Efficiency and latency", "Efficiency: share of time in bed "
                "asleep, %. Latency: time to fall asleep (right axis).", "percent",
                [target(eff)], custom=dict(POINTS), options=LEGEND,
                overrides=[axis_override("latency", "s", label="latency")]), 12, 8)
    naps = f"""
SELECT day, type, bedtime_start AS "start", bedtime_end AS "end", total_sleep_duration AS "asleep"
FROM oura.sleep
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND type <> 'long_sleep' AND {DAY_RANGE}
ORDER BY bedtime_start DESC"""
    b.add(panel("table", "Naps and other sleep periods", "Sleep periods other than the main "
                "sleep (sleep, late_nap, rest); a late_nap counts for the next day.", "s",
                [target(naps, "table")],
                overrides=[{"matcher": {"id": "byName", "options": n},
                            "properties": [{"id": "unit", "value": "dateTimeAsIso"}]}
                           for n in ("start", "end")] +
                          [{"matcher": {"id": "byName", "options": n},
                            "properties": [{"id": "unit", "value": "string"}]}
                           for n in ("day", "type")]), 24, 7)
    b.row("The chosen night ($night), on the wearer's wall clock")
    hypnogram = f"""
SELECT n.bedtime_start + {SLEEP_OFFSET} + (i - 1) * interval '5 minutes' AS time,
  substr(n.sleep_phase_5_min, i, 1)::int AS "stage"
FROM oura.sleep n, generate_series(1, length(n.sleep_phase_5_min)) AS i
WHERE n.account = {ACCOUNT} AND n.id = ${{night:sqlstring}} AND n.sleep_phase_5_min ~ '^[1-4]+$'
ORDER BY 1"""
    b.add(panel("state-timeline", "Hypnogram", "Sleep stage of each 5-minute slot "
                "(sleep_phase_5_min).", "none", [target(hypnogram)],
                defaults={"mappings": [{"type": "value", "options": {
                    "1": {"text": "deep", "color": "dark-blue", "index": 0},
                    "2": {"text": "light", "color": "blue", "index": 1},
                    "3": {"text": "REM", "color": "purple", "index": 2},
                    "4": {"text": "awake", "color": "orange", "index": 3}}}],
                    "color": {"mode": "thresholds"}},
                custom={"fillOpacity": 80, "lineWidth": 0},
                options={"showValue": "never", "mergeValues": True, "rowHeight": 0.9,
                         "legend": {"showLegend": True, "displayMode": "list",
                                    "placement": "bottom"}}), 24, 5)
    curves = f"""
SELECT s."timestamp" + {SLEEP_OFFSET} AS time, s.value AS "heart rate", NULL::double precision AS "HRV"
FROM oura.sleep_heart_rate s JOIN oura.sleep n ON n.account = s.account AND n.id = s.sleep_id
WHERE s.account = {ACCOUNT} AND s.sleep_id = ${{night:sqlstring}}
UNION ALL
SELECT s."timestamp" + {SLEEP_OFFSET}, NULL, s.value
FROM oura.sleep_hrv s JOIN oura.sleep n ON n.account = s.account AND n.id = s.sleep_id
WHERE s.account = {ACCOUNT} AND s.sleep_id = ${{night:sqlstring}}
ORDER BY 1"""
    b.add(panel("timeseries", "Overnight heart rate and HRV", "5-minute samples of the chosen "
                "night: heart rate (bpm, left) and HRV (RMSSD, ms, right).", "suffix: bpm",
                [target(curves)], custom=dict(LINES, spanNulls=True), options=LEGEND,
                overrides=[axis_override("HRV", "ms", label="HRV")]), 24, 8)
    return common("oura-sleep", "Oura sleep", "Sleep score and contributors, stages, "
                  "regularity, naps, and the heart rate and HRV of one night.", b.numbered(),
                  extra_variables=[night_var])


# --------------------------------------------------------------------------------------------
# Readiness and recovery

def readiness():
    b = Board()
    b.row("Readiness")
    b.add(daily_with_average("Readiness score", "Daily readiness score (1-100) with its 7-day "
                             "rolling average.", "oura.daily_readiness", "score", "none",
                             "readiness score", defaults={"min": 0, "max": 100}), 12, 8)
    contributors = f"""
SELECT {DAY_TIME} AS time, contributors_activity_balance AS "activity balance",
  contributors_body_temperature AS "body temperature (score)", contributors_hrv_balance AS "HRV balance",
  contributors_previous_day_activity AS "previous day activity", contributors_previous_night AS "previous night",
  contributors_recovery_index AS "recovery index", contributors_resting_heart_rate AS "resting heart rate (score)",
  contributors_sleep_balance AS "sleep balance", contributors_sleep_regularity AS "sleep regularity"
FROM oura.daily_readiness
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "Readiness contributors", "Each contributor is a score (1-100, "
                "higher is better): 'body temperature (score)' rates the temperature, it is not "
                "a temperature.", "none", [target(contributors)], custom=dict(POINTS),
                defaults={"min": 0, "max": 100}, options=LEGEND), 12, 8)
    temp = f"""
SELECT {DAY_TIME} AS time, temperature_deviation AS "deviation", temperature_trend_deviation AS "trend deviation"
FROM oura.daily_readiness
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "Temperature deviation", "Skin temperature against the long-term "
                "baseline, °C; the trend is a weighted 3-day average.", "celsius",
                [target(temp)], custom=dict(BARS), defaults={"decimals": 2},
                overrides=[line_override("trend deviation")], options=LEGEND), 12, 8)
    b.add(daily_with_average("HRV balance", "Readiness contributor 'HRV balance' (a score, "
                             "1-100).", "oura.daily_readiness", "contributors_hrv_balance",
                             "none", "HRV balance score", kind_custom=POINTS), 12, 8)
    b.row("Recovery")
    resilience = f"""
SELECT {DAY_TIME} AS time,
  CASE level WHEN 'limited' THEN 1 WHEN 'adequate' THEN 2 WHEN 'solid' THEN 3 WHEN 'strong' THEN 4
             WHEN 'exceptional' THEN 5 END AS "resilience level"
FROM oura.daily_resilience
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("state-timeline", "Resilience level", "Oura's resilience level per day "
                "(limited, adequate, solid, strong, exceptional).", "none",
                [target(resilience)],
                defaults={"color": {"mode": "thresholds"}, "mappings": [{"type": "value", "options": {
                    "1": {"text": "limited", "color": "red", "index": 0},
                    "2": {"text": "adequate", "color": "orange", "index": 1},
                    "3": {"text": "solid", "color": "yellow", "index": 2},
                    "4": {"text": "strong", "color": "green", "index": 3},
                    "5": {"text": "exceptional", "color": "dark-green", "index": 4}}}]},
                custom={"fillOpacity": 80, "lineWidth": 0},
                options={"showValue": "auto", "mergeValues": False, "rowHeight": 0.8,
                         "legend": {"showLegend": False}}), 24, 4)
    rc = f"""
SELECT {DAY_TIME} AS time, contributors_sleep_recovery AS "sleep recovery",
  contributors_daytime_recovery AS "daytime recovery", contributors_stress AS "stress"
FROM oura.daily_resilience
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "Resilience contributors", "Scores (0-100).", "none",
                [target(rc)], custom=dict(POINTS), options=LEGEND), 12, 8)
    cv = f"""
SELECT {DAY_TIME} AS time, vascular_age AS "cardiovascular age"
FROM oura.daily_cardiovascular_age
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "Cardiovascular age", "Oura's estimate of the age of the "
                "wearer's arteries (from pulse wave velocity), years.", "suffix: years",
                [target(cv)], custom=dict(POINTS), options=LEGEND), 6, 8)
    vo2 = f"""
SELECT {DAY_TIME} AS time, vo2_max AS "VO2 max"
FROM oura.vo2_max
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "VO2 max", "Estimated maximal oxygen uptake, ml/kg/min.",
                "suffix: ml/kg/min", [target(vo2)], custom=dict(POINTS), options=LEGEND), 6, 8)
    return common("oura-readiness", "Oura readiness & recovery", "Readiness and what drives it, "
                  "temperature, HRV balance, resilience, cardiovascular age and VO2 max.",
                  b.numbered())


# --------------------------------------------------------------------------------------------
# Activity

def activity():
    b = Board()
    b.row("Daily activity")
    b.add(daily_with_average("Steps", "Steps per day with the 7-day rolling average.",
                             "oura.daily_activity", "steps", "suffix: steps", "steps"), 12, 8)
    cal = f"""
SELECT {DAY_TIME} AS time, active_calories AS "active", total_calories AS "total"
FROM oura.daily_activity
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "Active and total calories", "Energy expenditure per day, kcal.",
                "suffix: kcal", [target(cal)], custom=dict(BARS), options=LEGEND), 12, 8)
    met = f"""
SELECT {DAY_TIME} AS time, high_activity_met_minutes AS "high", medium_activity_met_minutes AS "medium",
  low_activity_met_minutes AS "low"
FROM oura.daily_activity
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "MET minutes by intensity", "Sum of the MET of every minute in "
                "each intensity class, stacked.", "suffix: MET·min", [target(met)],
                custom=dict(BARS, stacking={"mode": "normal", "group": "A"}), options=LEGEND),
          12, 8)
    b.add(daily_with_average("Inactivity alerts", "Inactivity alerts per day.",
                             "oura.daily_activity", "inactivity_alerts", "suffix: alerts",
                             "inactivity alerts"), 12, 8)
    b.add(daily_with_average("Activity score", "Daily activity score (1-100).",
                             "oura.daily_activity", "score", "none", "activity score",
                             defaults={"min": 0, "max": 100}), 12, 8)
    times = f"""
SELECT {DAY_TIME} AS time, high_activity_time AS "high", medium_activity_time AS "medium",
  low_activity_time AS "low", sedentary_time AS "sedentary", resting_time AS "resting", non_wear_time AS "not worn"
FROM oura.daily_activity
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "Time per activity class", "Time in each class per day, stacked "
                "(24 h a day).", "s", [target(times)],
                custom=dict(BARS, stacking={"mode": "normal", "group": "A"}), options=LEGEND),
          12, 8)
    b.row("Activity through the day")
    heat = f"""
SELECT {DAY_TIME} AS time, to_char((4 + ((i - 1) * 5) / 60) % 24, 'FM00') || ':00' AS metric,
  avg(substr(class_5_min, i, 1)::int) AS value
FROM oura.daily_activity, generate_series(1, length(class_5_min)) AS i
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE} AND class_5_min ~ '^[0-5]+$'
GROUP BY day, (i - 1) / 12, metric
ORDER BY day, (i - 1) / 12"""
    b.add(panel("heatmap", "Activity class by hour (class_5_min)", "Each cell is one hour of the "
                "wearer's day (from 04:00, local): the mean class of its 5-minute slots, 0 not "
                "worn, 1 rest, 2 inactive, 3 low, 4 medium, 5 high.", "none",
                [target(heat)],
                options={"calculate": False, "yAxis": {"axisPlacement": "left", "reverse": True},
                         "rowsFrame": {"layout": "auto"}, "color": {
                             "mode": "scheme", "scheme": "Oranges", "steps": 64,
                             "min": 0, "max": 5, "fill": "dark-orange", "exponent": 0.5,
                             "scale": "linear", "reverse": False},
                         "cellGap": 1, "cellValues": {"unit": "none", "decimals": 1},
                         "tooltip": {"show": True, "yHistogram": False},
                         "legend": {"show": True}, "showValue": "never",
                         "filterValues": {"le": -1}}), 24, 9)
    b.row("Workouts")
    workouts = f"""
SELECT day, activity, intensity, source, start_datetime AS "start",
  EXTRACT(EPOCH FROM end_datetime - start_datetime) AS "duration", calories AS "calories", distance AS "distance"
FROM oura.workout
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY start_datetime DESC"""
    b.add(panel("table", "Workouts", "Each workout: type, intensity, how it was recorded, "
                "duration, calories (kcal) and distance (m).", "string",
                [target(workouts, "table")],
                overrides=[
                    {"matcher": {"id": "byName", "options": "start"},
                     "properties": [{"id": "unit", "value": "dateTimeAsIso"}]},
                    {"matcher": {"id": "byName", "options": "duration"},
                     "properties": [{"id": "unit", "value": "dtdurations"}]},
                    {"matcher": {"id": "byName", "options": "calories"},
                     "properties": [{"id": "unit", "value": "suffix: kcal"},
                                    {"id": "decimals", "value": 0}]},
                    {"matcher": {"id": "byName", "options": "distance"},
                     "properties": [{"id": "unit", "value": "lengthm"},
                                    {"id": "decimals", "value": 0}]}]), 16, 8)
    wsum = f"""
SELECT activity AS "activity", sum(EXTRACT(EPOCH FROM end_datetime - start_datetime)) AS "duration"
FROM oura.workout
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
GROUP BY activity ORDER BY 2 DESC"""
    b.add(panel("piechart", "Workout time by type", "Total workout duration per activity.",
                "s", [target(wsum, "table")],
                options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                           "values": True},
                         "pieType": "donut", "legend": {"showLegend": True,
                                                        "displayMode": "table",
                                                        "placement": "right",
                                                        "values": ["value"]}}), 8, 8)
    return common("oura-activity", "Oura activity", "Steps, calories, MET minutes, inactivity "
                  "alerts, the day's activity classes and workouts.", b.numbered())


# --------------------------------------------------------------------------------------------
# Heart

def heart():
    b = Board()
    b.row("Heart rate")
    hr = f"""
SELECT $__timeGroupAlias("timestamp", $__interval), source AS metric, avg(bpm) AS value
FROM oura.heartrate
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND $__timeFilter("timestamp")
GROUP BY 1, 2 ORDER BY 1"""
    b.add(panel("timeseries", "Heart rate by source", "Mean heart rate per interval, one series "
                "per source (awake, rest, sleep, session, live, workout).", "suffix: bpm",
                [target(hr)], custom=dict(LINES, spanNulls=False, showPoints="never"),
                options=LEGEND), 24, 9)
    b.add(daily_with_average("Resting heart rate", "Lowest heart rate of the main sleep "
                             "(long_sleep) each night, with the 7-day rolling average.",
                             "oura.sleep", "lowest_heart_rate", "suffix: bpm",
                             "resting heart rate", where="type = 'long_sleep'",
                             kind_custom=POINTS), 12, 8)
    b.add(daily_with_average("Average HRV (main sleep)", "Average heart rate variability "
                             "(RMSSD) of the main sleep, ms.", "oura.sleep", "average_hrv", "ms",
                             "average HRV", where="type = 'long_sleep'", kind_custom=POINTS),
          12, 8)
    b.row("Stress and breathing")
    stress = f"""
SELECT {DAY_TIME} AS time, stress_high AS "high stress", recovery_high AS "high recovery"
FROM oura.daily_stress
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND {DAY_RANGE}
ORDER BY day"""
    b.add(panel("timeseries", "Daytime stress", "Time in the high stress and high recovery "
                "zones per day.", "s", [target(stress)], custom=dict(BARS), options=LEGEND),
          8, 8)
    b.add(daily_with_average("SpO2", "Average blood oxygen saturation during sleep, % (0 is "
                             "Oura's placeholder without a measurement and is left out).",
                             "oura.daily_spo2", "NULLIF(spo2_percentage_average, 0)",
                             "percent", "SpO2", kind_custom=POINTS,
                             defaults={"decimals": 1}), 8, 8)
    b.add(daily_with_average("Breathing disturbance index", "Breathing disturbance index from "
                             "SpO2 drops (0-100, lower is better).", "oura.daily_spo2",
                             "breathing_disturbance_index", "none", "breathing disturbance index",
                             kind_custom=POINTS), 8, 8)
    return common("oura-heart", "Oura heart", "Heart rate by source, resting heart rate, HRV, "
                  "stress, SpO2 and breathing disturbances.", b.numbered(), time_from="now-7d")


# --------------------------------------------------------------------------------------------
# Ring and collector health

def health():
    b = Board()
    b.row("Collector")
    behind = f"""
SELECT s.collection AS "collection", s.synced_through AS "synced through",
  current_date - s.synced_through AS "days behind", s.updated_at AS "last written"
FROM oura.sync_state s
WHERE s.account = {ACCOUNT}
ORDER BY 3 DESC, 1"""
    b.add(panel("table", "Synced through per collection", "The last day fully synced, and how "
                "many days that is behind today (more than the overlap + 1, 3 days by default, "
                "is stale: the 'stale collection' alert fires).", "string",
                [target(behind, "table")],
                overrides=[
                    {"matcher": {"id": "byName", "options": "days behind"},
                     "properties": [{"id": "unit", "value": "d"},
                                    {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                                    {"id": "color", "value": {"mode": "thresholds"}},
                                    {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                                        {"color": "green", "value": None},
                                        {"color": "red", "value": 4}]}}]},
                    {"matcher": {"id": "byName", "options": "last written"},
                     "properties": [{"id": "unit", "value": "dateTimeAsIso"}]}]), 12, 10)
    last = f"""
SELECT r.finished_at AS "finished", r.command AS "command", r.outcome AS "outcome",
  r.exit_code AS "exit code", EXTRACT(EPOCH FROM r.finished_at - r.started_at) AS "duration",
  coalesce(sum(c.requests), 0) AS "requests", coalesce(sum(c.retries), 0) AS "retries",
  count(c.collection) FILTER (WHERE c.outcome <> 'ok') AS "collections failed", r.error AS "error"
FROM oura.runs r LEFT JOIN oura.run_collections c ON c.run_id = r.id
WHERE r.account = {ACCOUNT} AND $__timeFilter(r.finished_at)
GROUP BY r.id ORDER BY r.finished_at DESC
LIMIT 50"""
    b.add(panel("table", "Runs", "Every recorded run (scrape, reprocess): outcome, exit code "
                "(docs/retries.md), duration, requests, retries and failed collections.",
                "string", [target(last, "table")],
                overrides=[
                    {"matcher": {"id": "byName", "options": "finished"},
                     "properties": [{"id": "unit", "value": "dateTimeAsIso"}]},
                    {"matcher": {"id": "byName", "options": "duration"},
                     "properties": [{"id": "unit", "value": "s"}, {"id": "decimals", "value": 1}]},
                    {"matcher": {"id": "byName", "options": "exit code"},
                     "properties": [{"id": "unit", "value": "none"}]},
                    *[{"matcher": {"id": "byName", "options": n},
                       "properties": [{"id": "unit", "value": "none"}]}
                      for n in ("requests", "retries", "collections failed")],
                    {"matcher": {"id": "byName", "options": "outcome"},
                     "properties": [{"id": "custom.cellOptions", "value": {"type": "color-text"}},
                                    {"id": "mappings", "value": [{"type": "value", "options": {
                                        "ok": {"color": "green", "index": 0},
                                        "partial": {"color": "orange", "index": 1},
                                        "login_needed": {"color": "red", "index": 2}}}]}]}]),
          12, 10)
    outcome = f"""
SELECT finished_at AS time, EXTRACT(EPOCH FROM finished_at - started_at) AS "run duration"
FROM oura.runs
WHERE account = {ACCOUNT} AND $__timeFilter(finished_at)
ORDER BY 1"""
    b.add(panel("timeseries", "Run duration", "How long each run took.", "s",
                [target(outcome)], custom=dict(POINTS), options=LEGEND), 8, 8)
    req = f"""
SELECT $__timeGroupAlias(r.finished_at, '1d'), sum(c.requests) AS "requests", sum(c.retries) AS "retries"
FROM oura.runs r JOIN oura.run_collections c ON c.run_id = r.id
WHERE r.account = {ACCOUNT} AND $__timeFilter(r.finished_at)
GROUP BY 1 ORDER BY 1"""
    b.add(panel("timeseries", "Requests and retries per day", "Requests sent to the Oura API "
                "and how many of them were retries (UTC days).", "suffix: requests",
                [target(req)], custom=dict(BARS), options=LEGEND), 8, 8)
    fail = f"""
SELECT $__timeGroupAlias(r.finished_at, '1d'), count(*) FILTER (WHERE c.outcome <> 'ok') AS "collections failed",
  count(DISTINCT r.id) FILTER (WHERE r.exit_code <> 0) AS "runs not ok"
FROM oura.runs r LEFT JOIN oura.run_collections c ON c.run_id = r.id
WHERE r.account = {ACCOUNT} AND $__timeFilter(r.finished_at)
GROUP BY 1 ORDER BY 1"""
    b.add(panel("timeseries", "Failures per day", "Collections that did not end ok, and runs "
                "whose exit code was not 0 (UTC days).", "suffix: failures",
                [target(fail)], custom=dict(BARS), options=LEGEND), 8, 8)
    b.row("Ring")
    battery = f"""
SELECT $__timeGroupAlias("timestamp", $__interval), avg(level) AS "battery level"
FROM oura.ring_battery_level
WHERE account = {ACCOUNT} AND deleted_at IS NULL AND $__timeFilter("timestamp")
GROUP BY 1 ORDER BY 1"""
    b.add(panel("timeseries", "Battery level", "The ring's battery, %.", "percent",
                [target(battery)], custom=dict(LINES), defaults={"min": 0, "max": 100},
                options=LEGEND), 16, 8)
    ring = f"""
SELECT hardware_type AS "hardware", design, color, size, firmware_version AS "firmware", set_up_at AS "set up"
FROM oura.ring_configuration
WHERE account = {ACCOUNT} AND deleted_at IS NULL
ORDER BY set_up_at DESC NULLS LAST"""
    b.add(panel("table", "Ring configuration", "The account's rings as Oura describes them.",
                "string", [target(ring, "table")],
                overrides=[{"matcher": {"id": "byName", "options": "set up"},
                            "properties": [{"id": "unit", "value": "dateTimeAsIso"}]},
                           {"matcher": {"id": "byName", "options": "size"},
                            "properties": [{"id": "unit", "value": "none"}]}]), 8, 8)
    return common("oura-health", "Oura ring & collector health", "Per-collection sync state, "
                  "the run log (outcome, duration, requests, retries, failures) and the ring's "
                  "battery and configuration.", b.numbered(), time_from="now-7d")


BUILDERS = {"overview.json": overview, "sleep.json": sleep, "readiness.json": readiness,
            "activity.json": activity, "heart.json": heart, "health.json": health}


def render():
    return {name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
            for name, build in BUILDERS.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the files instead of writing them")
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()
    differ = []
    for name, text in render().items():
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                differ.append(str(path))
        else:
            path.write_text(text, encoding="utf-8")
    if differ:
        print("out of date (run python3 tests/tools/grafana_dashboards.py): " + ", ".join(differ),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
