#!/usr/bin/env python3
"""A fake Oura API v2 server for tests (Python 3 standard library only).

Serves deterministic generated documents for the daily collections on loopback and
imitates the real API's quirks. Every quirk names the recording (tests/fixtures/recorded/)
or the OpenAPI line (tests/fixtures/openapi.json) it follows. See tests/fakes/README.md.

Adding a collection = one generator function + one entry in COLLECTIONS.
"""

import argparse
import base64
import binascii
import datetime as dt
import functools
import gzip
import hashlib
import json
import random
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API_PREFIX = "/v2/usercollection/"
CONTROL_PREFIX = "/_fake/"

# --------------------------------------------------------------------------------------
# Time helpers
# --------------------------------------------------------------------------------------


def _last_sunday(year, month):
    """The last Sunday of a month (month 3 or 10 here)."""
    day = dt.date(year, month + 1, 1) - dt.timedelta(days=1)
    return day - dt.timedelta(days=(day.weekday() - 6) % 7)


def europe_offset_hours(day, hour):
    """UTC offset (1 or 2) of a Central European wall-clock time `day` `hour`:00.

    EU rule: summer time from the last Sunday of March 01:00 UTC to the last Sunday of
    October 01:00 UTC. Real timestamps carry their own offsets, which change with daylight
    saving (sleep__list_2024-10-09_to_2024-11-03 goes from +02:00 to +01:00;
    daily_readiness full history has +01/+02 up to 2021).
    """
    if day.year < 1 or day.year > 9998:
        return 1
    start = dt.datetime.combine(_last_sunday(day.year, 3), dt.time(1))
    end = dt.datetime.combine(_last_sunday(day.year, 10), dt.time(1))
    utc_if_standard = dt.datetime.combine(day, dt.time(hour)) - dt.timedelta(hours=1)
    return 2 if start <= utc_if_standard < end else 1


def local_timestamp(day, hour, millis=False):
    """'YYYY-MM-DDTHH:00:00[.000]+0H:00' with the Europe-style offset of that moment."""
    frac = ".000" if millis else ""
    return "%sT%02d:00:00%s+%02d:00" % (day.isoformat(), hour, frac, europe_offset_hours(day, hour))


def day_range(first, last):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


# --------------------------------------------------------------------------------------
# Deterministic document generators: one per collection, (rng, day, ctx) -> doc or None.
# None means "no document that day" (sparse collections).
# --------------------------------------------------------------------------------------


def doc_uuid(seed, collection, day):
    """A UUIDv4-shaped id derived from seed + collection + day (real ids are UUIDv4,
    see recorded/README.md "What was replaced")."""
    digest = hashlib.sha256(("%s|%s|%s" % (seed, collection, day.isoformat())).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def maybe_null(rng, value, probability):
    return None if rng.random() < probability else value


def gen_daily_activity(rng, day, ctx):
    """PublicDailyActivity (openapi.json). Shape follows daily_activity__list_2024-11-11_to_2024-11-12:
    `timestamp` at 04:00 local, `met` a PublicSample with 1440 items at 60 s whose timestamp has
    `.000`, `class_5_min` 288 chars."""
    met = []
    # The activity day runs from 04:00 to 04:00 local; roughly: sleep until ~07:00, day
    # activity, a possible workout, sleep again after ~23:00.
    wake = rng.randint(150, 240)
    bed = rng.randint(1110, 1230)
    workout_start = rng.randint(wake + 60, bed - 120) if rng.random() < 0.6 else -1
    workout_len = rng.randint(20, 90)
    non_wear_start = rng.randint(wake, bed - 30) if rng.random() < 0.3 else -1
    non_wear_len = rng.randint(5, 60)
    for minute in range(1440):
        if non_wear_start >= 0 and non_wear_start <= minute < non_wear_start + non_wear_len:
            value = 0.1
        elif minute < wake or minute >= bed:
            value = 0.9 if rng.random() < 0.85 else rng.choice((1.0, 1.1, 1.2))
        elif workout_start >= 0 and workout_start <= minute < workout_start + workout_len:
            value = round(rng.uniform(5.0, 11.0), 1)
        else:
            value = round(min(rng.lognormvariate(0.3, 0.4), 8.0), 1)
            value = max(value, 0.9)
        met.append(value)
    classes = []
    for block in range(288):
        chunk = met[block * 5:block * 5 + 5]
        avg = sum(chunk) / 5.0
        if avg < 0.5:
            classes.append("0")  # non-wear
        elif avg < 1.05:
            classes.append("1")  # rest
        elif avg < 1.5:
            classes.append("2")  # inactive
        elif avg < 3.0:
            classes.append("3")  # low
        elif avg < 6.0:
            classes.append("4")  # medium
        else:
            classes.append("5")  # high
    class_5_min = "".join(classes)
    seconds = {c: class_5_min.count(c) * 300 for c in "012345"}

    def met_minutes(low, high):
        return int(round(sum(v for v in met if low <= v < high)))

    steps = rng.randint(2500, 22000)
    walking = int(steps * rng.uniform(1.0, 1.25))
    target_meters = rng.choice((7000, 8000, 10000, 12000, 14000, 17000))
    active_calories = int(sum(max(v - 1.0, 0.0) for v in met) * 1.2)
    target_calories = rng.choice((350, 450, 550, 650, 750, 950))
    score = maybe_null(rng, rng.randint(40, 100), 0.01)
    contributors = {
        "meet_daily_targets": maybe_null(rng, rng.randint(1, 100), 0.02),
        "move_every_hour": rng.randint(40, 100),
        "recovery_time": rng.randint(40, 100),
        "stay_active": rng.randint(30, 100),
        "training_frequency": maybe_null(rng, rng.randint(40, 100), 0.02),
        "training_volume": rng.randint(40, 100),
    }
    return {
        "id": doc_uuid(ctx.seed, "daily_activity", day),
        "class_5_min": class_5_min,
        "score": score,
        "active_calories": active_calories,
        "average_met_minutes": round(sum(met) / len(met), 3),
        "contributors": contributors,
        "equivalent_walking_distance": walking,
        "high_activity_met_minutes": met_minutes(6.0, 100.0),
        "high_activity_time": seconds["5"],
        "inactivity_alerts": rng.choice((0, 0, 0, 1, 2)),
        "low_activity_met_minutes": met_minutes(1.5, 3.0),
        "low_activity_time": seconds["3"],
        "medium_activity_met_minutes": met_minutes(3.0, 6.0),
        "medium_activity_time": seconds["4"],
        "met": {"interval": 60.0, "items": met, "timestamp": local_timestamp(day, 4, millis=True)},
        "meters_to_target": target_meters - walking,
        "non_wear_time": seconds["0"],
        "resting_time": seconds["1"],
        "sedentary_met_minutes": met_minutes(1.05, 1.5),
        "sedentary_time": seconds["2"],
        "steps": steps,
        "target_calories": target_calories,
        "target_meters": target_meters,
        "total_calories": active_calories + rng.randint(1600, 2200),
        "day": day.isoformat(),
        "timestamp": local_timestamp(day, 4),
    }


def gen_daily_sleep(rng, day, ctx):
    """PublicDailySleep. Recorded documents carry `timestamp` at local midnight
    (daily_sleep__single: 2018-10-10 `+02:00`); contributors are nullable in the spec."""
    contributors = {
        name: maybe_null(rng, rng.randint(20, 100), 0.02)
        for name in ("deep_sleep", "efficiency", "latency", "rem_sleep", "restfulness", "timing", "total_sleep")
    }
    return {
        "id": doc_uuid(ctx.seed, "daily_sleep", day),
        "contributors": contributors,
        "day": day.isoformat(),
        "score": maybe_null(rng, rng.randint(45, 95), 0.01),
        "timestamp": local_timestamp(day, 0),
    }


def gen_daily_readiness(rng, day, ctx):
    """PublicDailyReadiness. Null contributors and null temperature deviations happen
    (daily_readiness__list_full_history_start_0024: hrv_balance null 486x of 2141,
    temperature_deviation null 30x, temperature_trend_deviation null 86x)."""
    contributors = {
        "activity_balance": maybe_null(rng, rng.randint(40, 100), 0.01),
        "body_temperature": maybe_null(rng, rng.randint(40, 100), 0.01),
        "hrv_balance": maybe_null(rng, rng.randint(30, 100), 0.2),
        "previous_day_activity": maybe_null(rng, rng.randint(30, 100), 0.01),
        "previous_night": maybe_null(rng, rng.randint(30, 100), 0.01),
        "recovery_index": rng.randint(20, 100),
        "resting_heart_rate": rng.randint(20, 100),
        "sleep_balance": rng.randint(30, 100),
        # In the spec; absent from the 2024 recordings. Served, sometimes null.
        "sleep_regularity": maybe_null(rng, rng.randint(30, 100), 0.1),
    }
    return {
        "id": doc_uuid(ctx.seed, "daily_readiness", day),
        "contributors": contributors,
        "day": day.isoformat(),
        "score": maybe_null(rng, rng.randint(45, 98), 0.01),
        "temperature_deviation": maybe_null(rng, round(rng.uniform(-0.8, 0.8), 2), 0.02),
        "temperature_trend_deviation": maybe_null(rng, round(rng.uniform(-0.5, 0.5), 2), 0.04),
        "timestamp": local_timestamp(day, 0),
    }


def gen_daily_spo2(rng, day, ctx):
    """PublicDailySpO2 (no timestamp). Sparse: some nights have no document. A few documents are
    the placeholder `{"average": 0.0}` with `breathing_disturbance_index: null`
    (daily_spo2__list_full_history_start_0024: 3 of 804)."""
    if rng.random() < 0.05:
        return None
    if rng.random() < 0.01:
        spo2, bdi = {"average": 0.0}, None
    else:
        spo2, bdi = {"average": round(rng.uniform(94.0, 99.5), 3)}, rng.randint(0, 25)
    return {
        "id": doc_uuid(ctx.seed, "daily_spo2", day),
        "day": day.isoformat(),
        "spo2_percentage": spo2,
        "breathing_disturbance_index": bdi,
    }


def gen_daily_stress(rng, day, ctx):
    """PublicDailyStress (no timestamp). Durations in seconds, multiples of 900 as recorded
    (daily_stress__list_2024-11-11_to_2024-11-12). The account's first document is all
    zeros with `day_summary: null` (daily_stress__single)."""
    if day == ctx.first_day:
        return {"id": doc_uuid(ctx.seed, "daily_stress", day), "day": day.isoformat(),
                "stress_high": 0, "recovery_high": 0, "day_summary": None}
    stress_high = rng.randint(0, 24) * 900
    recovery_high = rng.randint(0, 20) * 900
    if stress_high > recovery_high * 2:
        summary = "stressful"
    elif recovery_high > stress_high * 2:
        summary = "restored"
    else:
        summary = "normal"
    return {
        "id": doc_uuid(ctx.seed, "daily_stress", day),
        "day": day.isoformat(),
        "stress_high": stress_high,
        "recovery_high": recovery_high,
        "day_summary": maybe_null(rng, summary, 0.02),
    }


def gen_daily_resilience(rng, day, ctx):
    """DailyResilienceModel: contributors are floats with one decimal (46.2), no score and no
    timestamp (daily_resilience__list_2024-11-11_to_2024-11-12). Sparse."""
    if rng.random() < 0.04:
        return None
    contributors = {
        "sleep_recovery": round(rng.uniform(20.0, 90.0), 1),
        "daytime_recovery": round(rng.uniform(20.0, 90.0), 1),
        "stress": round(rng.uniform(10.0, 80.0), 1),
    }
    mean = (contributors["sleep_recovery"] + contributors["daytime_recovery"]) / 2.0
    level = ("limited" if mean < 35 else "adequate" if mean < 50 else "solid" if mean < 65
             else "strong" if mean < 80 else "exceptional")
    return {
        "id": doc_uuid(ctx.seed, "daily_resilience", day),
        "day": day.isoformat(),
        "contributors": contributors,
        "level": level,
    }


def gen_daily_cardiovascular_age(rng, day, ctx):
    """PublicDailyCardiovascularAge WITHOUT `id`, although the spec requires it: every recorded
    document lacks it (daily_cardiovascular_age__list_full_history_start_0024, 235 of 235).
    `pulse_wave_velocity` (m/s, nullable in the spec) is served; it is absent from the
    recordings. Sparse."""
    if rng.random() < 0.08:
        return None
    return {
        "day": day.isoformat(),
        "pulse_wave_velocity": maybe_null(rng, round(rng.uniform(5.5, 9.5), 1), 0.1),
        "vascular_age": rng.randint(28, 45),
    }


class Collection:
    """One served collection: its generator and its end_date rule."""

    def __init__(self, generator, end_inclusive):
        self.generator = generator
        self.end_inclusive = end_inclusive


# The routing table. end_inclusive: daily_activity's end_date is exclusive
# (daily_activity__list_2024-11-11_to_2024-11-12 returned only 11-11, although recorded on
# 10 Dec); the other daily collections returned both days in the same window (inclusive).
COLLECTIONS = {
    "daily_activity": Collection(gen_daily_activity, end_inclusive=False),
    "daily_sleep": Collection(gen_daily_sleep, end_inclusive=True),
    "daily_readiness": Collection(gen_daily_readiness, end_inclusive=True),
    "daily_spo2": Collection(gen_daily_spo2, end_inclusive=True),
    "daily_stress": Collection(gen_daily_stress, end_inclusive=True),
    "daily_resilience": Collection(gen_daily_resilience, end_inclusive=True),
    "daily_cardiovascular_age": Collection(gen_daily_cardiovascular_age, end_inclusive=True),
}


class Store:
    """Generates and caches documents; same seed, same documents."""

    def __init__(self, seed, first_day, last_day):
        self.seed = seed
        self.first_day = first_day
        self.last_day = last_day
        self._cache = {}
        self._lock = threading.Lock()

    def documents(self, collection, start, end):
        """Documents whose day is in [start, end] (inclusive), oldest first."""
        start = max(start, self.first_day)
        end = min(end, self.last_day)
        docs = []
        if start > end:
            return docs
        for day in day_range(start, end):
            doc = self._document(collection, day)
            if doc is not None:
                docs.append(doc)
        return docs

    def _document(self, collection, day):
        key = (collection, day)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        rng = random.Random("%s|%s|%s" % (self.seed, collection, day.isoformat()))
        doc = COLLECTIONS[collection].generator(rng, day, self)
        with self._lock:
            self._cache[key] = doc
        return doc


# --------------------------------------------------------------------------------------
# Request parsing
# --------------------------------------------------------------------------------------


class BadRequest(Exception):
    def __init__(self, status, detail):
        super().__init__(str(detail))
        self.status = status
        self.detail = detail


def parse_api_date(name, raw):
    """start_date/end_date: the spec allows `date` or `date-time` (openapi.json, parameters
    of /v2/usercollection/daily_*). Like pydantic, an integer is read as Unix seconds:
    `start_date=1&end_date=2` answered 200 with `data: []` (session__list_empty_start_1_end_2).
    Anything else malformed gives 400 (the spec's overview: "400 Query Parameter Validation
    Error: ... invalid or incorrectly formatted") with a FastAPI-style HTTPValidationError body."""
    text = raw.strip()
    try:
        if text.lstrip("-").isdigit():
            return (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(text))).date()
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        # A date-time; an unencoded '+' arrives as a space.
        return dt.datetime.fromisoformat(text.replace(" ", "+").replace("Z", "+00:00")).date()
    except (ValueError, OverflowError):
        raise BadRequest(400, [{
            "loc": ["query", name],
            "msg": "Input should be a valid date or datetime",
            "type": "date_from_datetime_parsing",
            "input": raw,
        }])


def encode_token(state):
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token):
    try:
        padded = token + "=" * (-len(token) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(state, dict) or not {"c", "s", "e", "o", "p"} <= set(state):
            raise ValueError("missing keys")
        return state
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(400, "Invalid next_token.")


# --------------------------------------------------------------------------------------
# Server state: faults, page-size overrides, stats
# --------------------------------------------------------------------------------------

STATUS_TEXT = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 422: "Unprocessable Entity", 426: "Upgrade Required",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}
FAULT_WORDS = ("not_json", "no_data", "repeat_token", "truncated")


def parse_fault(obj):
    """Validate a fault {collection, kind, count, retry_after?, body?}; returns a normalised dict."""
    if not isinstance(obj, dict):
        raise ValueError("fault must be a JSON object")
    collection = obj.get("collection")
    if collection not in COLLECTIONS:
        raise ValueError("unknown collection: %r" % (collection,))
    kind = obj.get("kind")
    if isinstance(kind, str) and kind.isdigit():
        kind = int(kind)
    if isinstance(kind, bool) or not (isinstance(kind, int) and 100 <= kind <= 599 or kind in FAULT_WORDS):
        raise ValueError("kind must be an HTTP status or one of %s" % ", ".join(FAULT_WORDS))
    count = obj.get("count", 1)
    if isinstance(count, str) and count.isdigit():
        count = int(count)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError("count must be a positive integer")
    fault = {"collection": collection, "kind": kind, "count": count}
    if obj.get("retry_after") is not None:
        fault["retry_after"] = str(obj["retry_after"])
    if obj.get("body") is not None:
        fault["body"] = str(obj["body"])
    return fault


def parse_fault_spec(spec):
    """--fault COLLECTION:KIND:COUNT[:RETRY_AFTER]; RETRY_AFTER takes the rest (HTTP dates hold ':')."""
    parts = spec.split(":", 3)
    if len(parts) < 2:
        raise ValueError("expected COLLECTION:KIND[:COUNT[:RETRY_AFTER]]")
    obj = {"collection": parts[0], "kind": parts[1], "count": parts[2] if len(parts) > 2 else 1}
    if len(parts) > 3:
        obj["retry_after"] = parts[3]
    return parse_fault(obj)


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.initial_faults = [parse_fault_spec(s) for s in args.fault]
        self.reset()
        self.apply_initial_faults()

    def reset(self):
        with self.lock:
            self.faults = {}  # collection -> list of [fault, remaining]
            self.page_sizes = {}
            self.latency_ms = self.args.latency_ms
            self.total = 0
            self.per_route = {}
            self.log = []

    def apply_initial_faults(self):
        """--fault options: queued once at start (POST /_fake/reset clears them like any fault)."""
        with self.lock:
            for fault in self.initial_faults:
                self.faults.setdefault(fault["collection"], []).append([fault, fault["count"]])

    def add_fault(self, fault):
        with self.lock:
            self.faults.setdefault(fault["collection"], []).append([fault, fault["count"]])

    def take_fault(self, collection, has_cursor):
        """The fault at the head of the collection's queue, consumed once. A repeat_token fault
        needs a previous page, so it waits for a request that carries a cursor."""
        with self.lock:
            queue = self.faults.get(collection)
            if not queue:
                return None
            entry = queue[0]
            if entry[0]["kind"] == "repeat_token" and not has_cursor:
                return None
            entry[1] -= 1
            if entry[1] <= 0:
                queue.pop(0)
            return entry[0]

    def page_size(self, collection, page_index):
        with self.lock:
            sizes = self.page_sizes.get(collection)
        if sizes:
            return sizes[page_index % len(sizes)]
        return self.args.page_size

    def record(self, path, query, status):
        with self.lock:
            self.total += 1
            self.per_route[path] = self.per_route.get(path, 0) + 1
            self.log.append({"path": path, "query": query, "status": status})

    def stats(self):
        with self.lock:
            return {"total": self.total, "per_route": dict(self.per_route), "log": list(self.log)}


# --------------------------------------------------------------------------------------
# HTTP handler
# --------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    server_version = "fake-oura/1"
    sys_version = ""

    # Set on the class by main().
    state = None
    store = None
    pending_record = None  # (path, query) of the API request being answered

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's signature)
        if not self.state.args.quiet:
            sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))

    # -- responses ---------------------------------------------------------------------

    def send_body(self, status, body, content_type="application/json", headers=None, truncate=False):
        if isinstance(body, str):
            body = body.encode()
        if self.pending_record is not None:
            # Recorded before the answer leaves, so a client that reads /_fake/stats right after
            # its response always finds its request there, in order.
            path, query = self.pending_record
            self.pending_record = None
            self.state.record(path, query, status)
        extra = dict(headers or {})
        # Real responses over about 250 bytes were gzip-encoded (recorded/README.md "File format");
        # only when the client asks for it.
        if (not truncate and not self.state.args.no_gzip and len(body) > 250
                and "gzip" in self.headers.get("Accept-Encoding", "")):
            body = gzip.compress(body, mtime=0)
            extra["Content-Encoding"] = "gzip"
        self.send_response(status, STATUS_TEXT.get(status))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body[:len(body) // 2] if truncate else body)

    def send_json(self, status, obj, headers=None):
        self.send_body(status, json.dumps(obj, separators=(",", ":")), headers=headers)

    # -- dispatch ------------------------------------------------------------------------

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = b""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length)
        if url.path.startswith(CONTROL_PREFIX):
            self.pending_record = None
            self.handle_control(method, url.path, query, body)
            return
        self.pending_record = (url.path, query)
        self.handle_api(method, url.path, query)

    # -- control endpoints (no auth, no latency, not counted) ------------------------------

    def handle_control(self, method, path, query, body):
        name = path[len(CONTROL_PREFIX):]
        try:
            if method == "GET" and name == "documents":
                collection = query.get("collection")
                if collection not in COLLECTIONS:
                    self.send_json(404, {"detail": "unknown collection: %r" % (collection,)})
                    return
                start = parse_api_date("start_date", query["start_date"]) if query.get("start_date") else dt.date.min
                end = parse_api_date("end_date", query["end_date"]) if query.get("end_date") else dt.date.max
                self.send_json(200, self.store.documents(collection, start, end))
            elif method == "GET" and name == "stats":
                self.send_json(200, self.state.stats())
            elif method == "POST" and name == "faults":
                obj = json.loads(body or b"{}")
                faults = [parse_fault(f) for f in (obj if isinstance(obj, list) else [obj])]
                for fault in faults:
                    self.state.add_fault(fault)
                self.send_json(200, {"ok": True})
            elif method == "POST" and name == "config":
                obj = json.loads(body or b"{}")
                if not isinstance(obj, dict):
                    raise ValueError("config must be a JSON object")
                page_sizes = obj.get("page_sizes", {})
                for collection, sizes in page_sizes.items():
                    if collection not in COLLECTIONS:
                        raise ValueError("unknown collection: %r" % (collection,))
                    if isinstance(sizes, int):
                        sizes = [sizes]
                    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
                        raise ValueError("page sizes must be positive integers")
                    page_sizes[collection] = sizes
                latency = obj.get("latency_ms")
                if latency is not None and (not isinstance(latency, (int, float)) or latency < 0):
                    raise ValueError("latency_ms must be a non-negative number")
                with self.state.lock:
                    self.state.page_sizes.update(page_sizes)
                    if latency is not None:
                        self.state.latency_ms = latency
                self.send_json(200, {"ok": True})
            elif method == "POST" and name == "reset":
                self.state.reset()
                self.send_json(200, {"ok": True})
            else:
                self.send_json(404, {"detail": "Not Found"})
        except BadRequest as exc:
            self.send_json(exc.status, {"detail": exc.detail})
        except (ValueError, AttributeError, TypeError) as exc:
            self.send_json(400, {"detail": str(exc)})

    # -- the API ------------------------------------------------------------------------

    def handle_api(self, method, path, query):
        """Answers one API request; returns the status sent."""
        with self.state.lock:
            latency_ms = self.state.latency_ms
        if latency_ms:
            time.sleep(latency_ms / 1000.0)
        collection = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else None
        # Unknown routes answer FastAPI's 404 before any auth check.
        if collection not in COLLECTIONS:
            self.send_json(404, {"detail": "Not Found"})
            return 404
        if method != "GET":
            self.send_json(405, {"detail": "Method Not Allowed"})
            return 405
        expected = "Bearer " + self.state.args.token
        if self.headers.get("Authorization", "") != expected:
            self.send_json(401, {"detail": "Unauthorized access: invalid or expired token."})
            return 401
        cursor = query.get("next_token") or ""  # `next_token=` (empty) means no cursor (recorded/README.md)
        fault = self.state.take_fault(collection, bool(cursor))
        if fault is not None and fault["kind"] not in FAULT_WORDS:
            return self.send_fault(fault)
        try:
            page, next_token = self.page(collection, query, cursor)
        except BadRequest as exc:
            self.send_json(exc.status, {"detail": exc.detail})
            return exc.status
        if fault is not None:
            kind = fault["kind"]
            if kind == "not_json":
                self.send_body(200, fault.get("body", "<html><body>upstream hiccup</body></html>"),
                               content_type="application/json")
                return 200
            if kind == "no_data":
                self.send_json(200, {"next_token": next_token})
                return 200
            if kind == "truncated":
                # A body cut short: the full Content-Length is announced, half is sent, the
                # connection closes (DESIGN.md retries "bodies cut short").
                self.send_body(200, json.dumps({"data": page, "next_token": next_token}, separators=(",", ":")),
                               truncate=True)
                return 200
            if kind == "repeat_token":
                next_token = cursor  # the token the client just used, i.e. the previous page's
        self.send_json(200, {"data": page, "next_token": next_token})
        return 200

    def page(self, collection, query, cursor):
        if cursor:
            state = decode_token(cursor)
            if state["c"] != collection:
                raise BadRequest(400, "Invalid next_token.")
            start = dt.date.fromisoformat(state["s"])
            end = dt.date.fromisoformat(state["e"])
            offset, page_index = int(state["o"]), int(state["p"])
        else:
            # Missing end_date: today; missing start_date: end_date minus one day.
            today = dt.datetime.now(dt.timezone.utc).date()
            end = parse_api_date("end_date", query["end_date"]) if query.get("end_date") else today
            start = (parse_api_date("start_date", query["start_date"]) if query.get("start_date")
                     else end - dt.timedelta(days=1))
            if start > end:
                raise BadRequest(400, "Start date is greater than end date: [start_date: %s; end_date: %s]"
                                 % (start.isoformat(), end.isoformat()))
            offset, page_index = 0, 0
        last = end if COLLECTIONS[collection].end_inclusive else end - dt.timedelta(days=1)
        docs = self.store.documents(collection, start, last) if last >= start else []
        size = self.state.page_size(collection, page_index)
        page = docs[offset:offset + size]
        next_offset = offset + size
        next_token = None
        if next_offset < len(docs):
            next_token = encode_token({"c": collection, "s": start.isoformat(), "e": end.isoformat(),
                                       "o": next_offset, "p": page_index + 1})
        return page, next_token

    def send_fault(self, fault):
        status = fault["kind"]
        headers = {}
        if "retry_after" in fault:
            headers["Retry-After"] = fault["retry_after"]
        if "body" in fault:
            self.send_body(status, fault["body"], content_type="text/plain", headers=headers)
        elif status >= 500:
            # Gateways answer HTML (DESIGN.md: "bodies may be empty or HTML").
            text = STATUS_TEXT.get(status, "Error")
            html = "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>" % (
                status, text, status, text)
            self.send_body(status, html, content_type="text/html", headers=headers)
        else:
            detail = {
                401: "Unauthorized access: invalid or expired token.",
                403: "Access forbidden.",
                404: "Not Found",
                426: "Client needs to upgrade the Oura app.",
                429: "Too Many Requests",
            }.get(status, STATUS_TEXT.get(status, "Error"))
            self.send_json(status, {"detail": detail}, headers=headers)
        return status


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fake Oura API v2 server for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="test-token", help="the accepted bearer token")
    parser.add_argument("--first-day", type=dt.date.fromisoformat, default=dt.date(2024, 1, 1))
    parser.add_argument("--last-day", type=dt.date.fromisoformat, default=dt.date(2024, 12, 31))
    parser.add_argument("--page-size", type=int, default=100, help="documents per page")
    parser.add_argument("--latency-ms", type=float, default=0, help="added to every API response")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--fault", action="append", default=[],
                        help="COLLECTION:KIND:COUNT[:RETRY_AFTER], repeatable (e.g. daily_sleep:503:2)")
    parser.add_argument("--no-gzip", action="store_true", help="never gzip bodies, even when asked")
    parser.add_argument("--quiet", action="store_true", help="no request log on stderr")
    args = parser.parse_args(argv)
    if args.page_size < 1:
        parser.error("--page-size must be at least 1")
    if args.first_day > args.last_day:
        parser.error("--first-day is after --last-day")
    try:
        state = State(args)
    except ValueError as exc:
        parser.error("--fault: %s" % exc)

    Handler.state = state
    Handler.store = Store(args.seed, args.first_day, args.last_day)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer((args.host, args.port), Handler)

    def stop(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    # Both stop the server cleanly; SIGINT explicitly, as a shell may start us with it ignored.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    sys.stdout.write("listening on http://%s:%d\n" % (host, port))
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
