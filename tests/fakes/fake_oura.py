#!/usr/bin/env python3
"""A fake Oura API v2 server for tests (Python 3 standard library only).

Serves deterministic generated documents for all 19 Oura API v2 collections on loopback (or,
with --recorded DIR, the documents of the recorded responses) and imitates the real API's
quirks. Every quirk names the recording (tests/fixtures/recorded/) or the OpenAPI line
(tests/fixtures/openapi.json) it follows. See tests/fakes/README.md.

Adding a collection = one generator function + one entry in COLLECTIONS.
"""

import argparse
import zlib
import base64
import binascii
import collections
import copy
import datetime as dt
import functools
import glob
import gzip
import hashlib
import json
import math
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import secrets
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit, urlunsplit

API_PREFIX = "/v2/usercollection/"
CONTROL_PREFIX = "/_fake/"
OAUTH_PREFIX = "/oauth/"
# The token URL of applications made in Oura's new developer portal
# (https://moi.ouraring.com/oauth/v2/ext/oauth-token), served on the same host.
NEW_PORTAL_TOKEN_PATH = "/oauth/v2/ext/oauth-token"

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


# --------------------------------------------------------------------------------------
# Generators for the other collections. Helpers first.
# --------------------------------------------------------------------------------------

EPOCH_DATE = dt.date(1970, 1, 1)
UTC = dt.timezone.utc


def doc_uuid_n(seed, collection, day, index):
    """The id of the `index`-th document of a collection on one day (several per day)."""
    return doc_uuid(seed, "%s#%d" % (collection, index), day)


def local_moment(day, secs, millis=False, as_utc=False):
    """The Central European wall-clock moment `secs` seconds after `day` 00:00 local (`secs` may
    be negative or beyond a day): (ISO string with its Europe-style offset, UTC epoch seconds).
    `as_utc` renders the same instant at `+00:00` instead (workout__list_2024-10-09_to_2024-11-03
    has such timestamps for a CET user)."""
    moment_day = day + dt.timedelta(days=secs // 86400)
    sec = secs % 86400
    offset = europe_offset_hours(moment_day, sec // 3600)
    epoch = (moment_day - EPOCH_DATE).days * 86400 + sec - offset * 3600
    if as_utc:
        return utc_iso(epoch, millis), epoch
    frac = ".000" if millis else ""
    return "%sT%02d:%02d:%02d%s+%02d:00" % (moment_day.isoformat(), sec // 3600, sec // 60 % 60, sec % 60,
                                            frac, offset), epoch


def render_local(epoch, millis=False, as_utc=False):
    """The instant `epoch` (UTC seconds) as a Central European wall-clock ISO string with its
    offset (EU rule: +02:00 from the last Sunday of March 01:00 UTC to the last Sunday of October
    01:00 UTC): the end of a period is its start plus its real duration, across a DST change too."""
    if as_utc:
        return utc_iso(epoch, millis)
    utc_day = EPOCH_DATE + dt.timedelta(days=int(epoch // 86400))
    offset = 1
    if 1 <= utc_day.year <= 9998:
        start = (_last_sunday(utc_day.year, 3) - EPOCH_DATE).days * 86400 + 3600
        end = (_last_sunday(utc_day.year, 10) - EPOCH_DATE).days * 86400 + 3600
        offset = 2 if start <= epoch < end else 1
    local = int(epoch) + offset * 3600
    days, sec = divmod(local, 86400)
    return "%sT%02d:%02d:%02d%s+%02d:00" % ((EPOCH_DATE + dt.timedelta(days=days)).isoformat(), sec // 3600,
                                            sec // 60 % 60, sec % 60, ".000" if millis else "", offset)


_DAY_STRINGS = {}


def utc_iso(epoch, millis=False):
    """'YYYY-MM-DDTHH:MM:SS+00:00' of whole UTC epoch seconds (heartrate__list_default_window
    renders every row like this: `+00:00`, no fraction)."""
    days, sec = divmod(int(epoch), 86400)
    text = _DAY_STRINGS.get(days)
    if text is None:
        text = _DAY_STRINGS[days] = (EPOCH_DATE + dt.timedelta(days=days)).isoformat()
    return "%sT%02d:%02d:%02d%s+00:00" % (text, sec // 3600, sec // 60 % 60, sec % 60, ".000" if millis else "")


def utc_date_of(text):
    """The UTC date of an ISO date-time with an offset (None when it is not one)."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def epoch_of(text):
    """UTC epoch seconds (float) of an ISO date-time; naive = UTC; None when unparsable."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def float32(value):
    """A float as the real API serialises its 32-bit ones: 1422.4962158203125
    (workout__list_2024-10-09_to_2024-11-03 distances)."""
    return struct.unpack("f", struct.pack("f", value))[0]


def eighths(value):
    """Recorded sleep averages are multiples of 1/8 (71.25, 72.875, 14.375)."""
    return round(value * 8) / 8.0


def readiness_contributors(rng):
    """PublicReadinessContributors, as gen_daily_readiness serves them."""
    return {
        "activity_balance": maybe_null(rng, rng.randint(40, 100), 0.01),
        "body_temperature": maybe_null(rng, rng.randint(0, 100), 0.01),
        "hrv_balance": maybe_null(rng, rng.randint(30, 100), 0.2),
        "previous_day_activity": maybe_null(rng, rng.randint(30, 100), 0.01),
        "previous_night": maybe_null(rng, rng.randint(1, 100), 0.01),
        "recovery_index": rng.randint(0, 100),
        "resting_heart_rate": rng.randint(0, 100),
        "sleep_balance": rng.randint(30, 100),
        "sleep_regularity": maybe_null(rng, rng.randint(30, 100), 0.1),
    }


# -- sleep -------------------------------------------------------------------------------

SLEEP_ANALYSIS_REASONS = ("foreground_sleep_analysis", "background_sleep_analysis",
                          "background_created_foreground_updated", "bedtime_edit")


def _sleep_phases_5_min(rng, slots, long_sleep):
    """'1' deep, '2' light, '3' REM, '4' awake per 5 minutes; awake at both ends as recorded
    (sleep__list_2024-10-09_to_2024-11-03: 47 of 48 start with '4')."""
    latency = rng.randint(1, 4) if long_sleep else rng.randint(0, 2)
    out = []
    for i in range(slots):
        if i < latency or i >= slots - rng.choice((0, 1, 1, 2)):
            out.append("4")
            continue
        if not long_sleep:
            out.append("2" if rng.random() < 0.75 else rng.choice("144"))
            continue
        cycle, pos = divmod(i - latency, 18)  # ~90-minute cycles
        if pos < 4:
            phase = "2"
        elif pos < 9:
            phase = "1" if cycle < 2 else "2"
        elif pos < 13:
            phase = "2"
        else:
            phase = "3"
        roll = rng.random()
        if roll < 0.04:
            phase = "4"
        elif roll < 0.15:
            phase = rng.choice("123")
        out.append(phase)
    return "".join(out)


def _expand_30_sec(rng, phases5, length):
    """The 30-second classification consistent with the 5-minute one."""
    out = []
    for phase in phases5:
        for _ in range(10):
            out.append(phase if rng.random() > 0.06 else rng.choice("1234"))
    return "".join(out[:length])


def _sleep_document(rng, ctx, day, sleep_type, start, duration, period):
    """One PublicModifiedSleepModel document. Shape: sleep__single and
    sleep__list_2024-10-09_to_2024-11-03 (time_in_bed = bedtime_end - bedtime_start;
    awake_time + total_sleep_duration = time_in_bed; the 5-min string has ceil(tib/300) chars,
    the 30-s strings ceil(tib/30); samples every 300 s, floor(tib/300) items, their timestamp
    with `.000`). Spec properties absent from the recordings (ring_id, app_sleep_phase_5_min,
    sleep_phase_30_sec, sleep_analysis_reason) are served, sometimes null."""
    bedtime_start, start_epoch = local_moment(day, start)
    bedtime_end = render_local(start_epoch + duration)
    long_sleep = sleep_type == "long_sleep"
    phases5 = _sleep_phases_5_min(rng, -(-duration // 300), long_sleep)
    n30 = -(-duration // 30)
    phases30 = _expand_30_sec(rng, phases5, n30)
    counted = phases30[:duration // 30]
    deep, light, rem = (counted.count(c) * 30 for c in "123")
    total = deep + light + rem
    latency = (len(phases30) - len(phases30.lstrip("4"))) * 30
    movement = "".join(rng.choices("1234", weights=(75, 18, 5, 2), k=n30))
    # Short naps have no samples, no average HRV and lowest_heart_rate 255 (a sentinel):
    # sleep__list_2024-10-09_to_2024-11-03, 15 of 48 documents.
    no_samples = duration < 2400 and rng.random() < 0.8
    base_hr = rng.uniform(50, 62) if long_sleep else rng.uniform(60, 80)
    if no_samples:
        heart_rate = hrv = None
        average_hrv = None
        lowest = 255
        average_hr = eighths(base_hr + rng.uniform(2, 10))
    else:
        count = duration // 300
        hr_items, hrv_items = [], []
        hrv_base = rng.uniform(15, 60)
        for i in range(count):
            if rng.random() < 0.08:
                hr_items.append(None)
                hrv_items.append(None)
                continue
            progress = i / max(count - 1, 1)
            hr = base_hr + 12 * (1 - progress) ** 2 + rng.uniform(-2, 2)
            hr_items.append(float(round(hr)))
            hrv_items.append(float(max(5, round(hrv_base * (0.5 + progress) + rng.uniform(-8, 8)))))
        sample_start, _ = local_moment(day, start, millis=True)
        heart_rate = {"interval": 300.0, "items": hr_items, "timestamp": sample_start}
        hrv = {"interval": 300.0, "items": hrv_items, "timestamp": sample_start}
        hr_values = [v for v in hr_items if v is not None] or [round(base_hr)]
        hrv_values = [v for v in hrv_items if v is not None] or [hrv_base]
        average_hr = eighths(sum(hr_values) / len(hr_values) + rng.uniform(-0.5, 0.5))
        lowest = int(min(hr_values)) - rng.choice((0, 0, 1, 2))
        average_hrv = maybe_null(rng, int(round(sum(hrv_values) / len(hrv_values))), 0.05)
    if sleep_type == "deleted" or rng.random() < 0.02:
        readiness = None
    else:
        readiness = {
            "contributors": readiness_contributors(rng),
            "score": maybe_null(rng, rng.randint(40, 98), 0.01),
            "temperature_deviation": maybe_null(rng, round(rng.uniform(-0.8, 0.8), 2), 0.1),
            "temperature_trend_deviation": maybe_null(rng, round(rng.uniform(-0.5, 0.5), 2), 0.05),
        }
    if long_sleep:
        readiness_delta, sleep_delta = 0, 0
    elif sleep_type in ("sleep", "late_nap") and not no_samples and rng.random() < 0.6:
        readiness_delta, sleep_delta = rng.randint(1, 6), rng.randint(1, 6)
    else:
        readiness_delta = sleep_delta = None
    return {
        "id": doc_uuid_n(ctx.seed, "sleep", day, period),
        "average_breath": eighths(rng.uniform(13.5, 18.0)),
        "average_heart_rate": average_hr,
        "average_hrv": average_hrv,
        "awake_time": duration - total,
        "bedtime_end": bedtime_end,
        "bedtime_start": bedtime_start,
        "day": day.isoformat(),
        "deep_sleep_duration": deep,
        "efficiency": max(1, min(100, int(round(100.0 * total / duration)))),
        "heart_rate": heart_rate,
        "hrv": hrv,
        "latency": latency,
        "light_sleep_duration": light,
        "low_battery_alert": rng.random() < 0.02,
        "lowest_heart_rate": lowest,
        "movement_30_sec": movement,
        "period": period,
        "readiness": readiness,
        "readiness_score_delta": readiness_delta,
        "rem_sleep_duration": rem,
        "restless_periods": rng.randint(150, 420) if long_sleep else rng.randint(0, 30),
        "sleep_phase_30_sec": maybe_null(rng, phases30, 0.05),
        "sleep_phase_5_min": phases5,
        "sleep_score_delta": sleep_delta,
        "sleep_algorithm_version": "v2" if day >= dt.date(2023, 1, 1) else "v1",
        "sleep_analysis_reason": maybe_null(
            rng, rng.choices(SLEEP_ANALYSIS_REASONS, weights=(60, 25, 10, 5))[0], 0.05),
        "time_in_bed": duration,
        "total_sleep_duration": total,
        "type": sleep_type,
        "ring_id": ctx.ring_id_for(day),
        "app_sleep_phase_5_min": maybe_null(rng, phases5, 0.1),
    }


def gen_sleep(rng, day, ctx):
    """PublicModifiedSleepModel: every sleep period that counts for `day` (several per day,
    sleep__list_2024-10-09_to_2024-11-03: up to 6). A `long_sleep` (most nights) starts
    21:30-02:30 local, so one starting 23:30 on the 9th has day = the 10th; a `sleep` nap some
    afternoons; rarely a `late_nap` (ended after 18:00 the evening before: counts for this
    day, spec PublicSleepType), a `rest` (rejected by the user) or a `deleted` one. Oldest
    first; `period` numbers them within the day."""
    periods = []  # (start seconds from `day` 00:00 local, duration, type)
    if rng.random() < 0.04:
        periods.append((rng.randint(-25200, -22500), rng.randint(3600, 6000), "rest"))  # ends after 18:00
    elif rng.random() < 0.08:
        periods.append((rng.randint(-18900, -14400), rng.randint(1200, 3600), "late_nap"))
    if rng.random() < 0.95:
        periods.append((rng.randint(-9000, 9000), rng.randint(21600, 34200), "long_sleep"))
    if rng.random() < 0.3:
        nap_type = "deleted" if rng.random() < 0.07 else "sleep"
        periods.append((rng.randint(45000, 57600), rng.randint(900, 5400), nap_type))
    return [_sleep_document(rng, ctx, day, kind, start, duration, index)
            for index, (start, duration, kind) in enumerate(periods)]


def sleep_filter_day(doc):
    """/sleep filters start_date/end_date on the UTC date of bedtime_start, not on `day`."""
    return utc_date_of(doc.get("bedtime_start"))


# -- sleep_time --------------------------------------------------------------------------


def gen_sleep_time(rng, day, ctx):
    """PublicSleepTime, at most one a day (sleep_time__list_2024-10-09_to_2024-11-03: 19 of 24
    days, with gaps). The recordings only have `optimal_bedtime: null` with earlier_bedtime /
    only_recommended_found; the other enum values and a PublicSleepTimeWindow (seconds from
    local midnight, negative before it; day_tz the offset in seconds) come from the spec."""
    if rng.random() < 0.15:
        return None
    roll = rng.random()
    optimal = None
    if roll < 0.55:
        recommendation = rng.choice(("earlier_bedtime", "earlier_bedtime", "later_bedtime"))
        status = "only_recommended_found"
    elif roll < 0.85:
        recommendation, status = "follow_optimal_bedtime", "optimal_found"
        start_offset = rng.randint(-8, 2) * 900
        optimal = {"day_tz": europe_offset_hours(day, 0) * 3600, "end_offset": start_offset + 3600,
                   "start_offset": start_offset}
    elif roll < 0.95:
        recommendation = maybe_null(rng, "improve_efficiency", 0.5)
        status = rng.choice(("not_enough_nights", "not_enough_recent_nights"))
    else:
        recommendation = rng.choice(("improve_efficiency", "earlier_wake_up_time", "later_wake_up_time"))
        status = "bad_sleep_quality"
    return {
        "id": doc_uuid(ctx.seed, "sleep_time", day),
        "day": day.isoformat(),
        "optimal_bedtime": optimal,
        "recommendation": recommendation,
        "status": status,
    }


# -- workout -----------------------------------------------------------------------------

WORKOUT_ACTIVITIES = (  # (activity, weight, minutes range, kcal per minute, has distance)
    ("walking", 50, (10, 70), 3.5, True),
    ("running", 12, (20, 75), 11.0, True),
    ("cycling", 10, (20, 120), 8.0, True),
    ("strength_training", 8, (30, 75), 6.0, False),
    ("yoga", 6, (20, 60), 3.0, False),
    ("hiking", 5, (60, 240), 6.5, True),
    ("swimming", 4, (20, 60), 9.0, True),
    ("dancing", 3, (20, 90), 5.5, False),
    ("other", 2, (10, 60), 4.0, False),
)
WORKOUT_LABELS = ("Morning run", "Commute", "Leg day", "With the dog")


def gen_workout(rng, day, ctx):
    """PublicWorkout, 0-2 a day, oldest first. As in workout__list_2024-10-09_to_2024-11-03:
    `label` mostly null; `distance` null for some; float32 tails on distances; calories with
    three decimals; some timestamps at `+00:00` for a CET user, sometimes only one of the two
    (start and end at different offsets in one document). A few start between 00:05 and 01:30
    local, so their UTC start date is the day before `day` (the recorded 2024-10-23T00:20+02:00)."""
    count = rng.choices((0, 1, 2), weights=(35, 45, 20))[0]
    starts = []
    for _ in range(count):
        if rng.random() < 0.06:
            starts.append(rng.randint(300, 5400) // 60 * 60)
        else:
            starts.append(rng.randint(6 * 3600, 21 * 3600) // 60 * 60)
    docs = []
    for index, start in enumerate(sorted(starts)):
        activity, _, (low, high), kcal, has_distance = rng.choices(
            WORKOUT_ACTIVITIES, weights=[a[1] for a in WORKOUT_ACTIVITIES])[0]
        minutes = rng.randint(low, high)
        intensity = rng.choices(("easy", "moderate", "hard"), weights=(55, 35, 10))[0]
        factor = {"easy": 0.8, "moderate": 1.0, "hard": 1.3}[intensity]
        distance = None
        if has_distance and rng.random() < 0.6:
            speed = {"walking": 80, "running": 170, "cycling": 350, "hiking": 70, "swimming": 30}[activity]
            distance = float32(minutes * speed * rng.uniform(0.7, 1.3))
        start_text, start_epoch = local_moment(day, start, as_utc=rng.random() < 0.06)
        end_text = render_local(start_epoch + minutes * 60, as_utc=rng.random() < 0.06)
        docs.append({
            "id": doc_uuid_n(ctx.seed, "workout", day, index),
            "activity": activity,
            "calories": round(minutes * kcal * factor * rng.uniform(0.8, 1.2), 3),
            "day": day.isoformat(),
            "distance": distance,
            "end_datetime": end_text,
            "intensity": intensity,
            "label": rng.choice(WORKOUT_LABELS) if rng.random() < 0.05 else None,
            "source": rng.choices(("confirmed", "autodetected", "manual", "workout_heart_rate"),
                                  weights=(60, 25, 10, 5))[0],
            "start_datetime": start_text,
        })
    return docs


def workout_filter_day(doc):
    """/workout filters start_date/end_date on the UTC date of start_datetime."""
    return utc_date_of(doc.get("start_datetime"))


# -- session -----------------------------------------------------------------------------


def _session_sample(rng, start_text, count, lead_nulls, make):
    items = []
    for i in range(count):
        if i < lead_nulls or (i >= count - lead_nulls // 2 and rng.random() < 0.5):
            items.append(None)
        else:
            items.append(make(i))
    return {"interval": 5.0, "items": items, "timestamp": start_text}


def gen_session(rng, day, ctx):
    """PublicSession, 0-1 a day. Samples at 5 s (session__single: heart_rate,
    heart_rate_variability and motion_count, 149 items, leading nulls); a breathing session has
    heart_rate and heart_rate_variability null and only motion_count
    (session__list_2024-10-09_to_2024-11-03)."""
    if rng.random() > 0.25:
        return None
    session_type = rng.choices(("breathing", "meditation", "nap", "relaxation", "rest", "body_status"),
                               weights=(25, 30, 10, 15, 10, 10))[0]
    start = rng.randint(7 * 3600, 22 * 3600)
    duration = rng.randint(180, 1200)
    start_text, start_epoch = local_moment(day, start)
    end_text = render_local(start_epoch + duration)
    sample_start, _ = local_moment(day, start, millis=True)
    count = duration // 5 + 1
    if session_type == "breathing" or rng.random() < 0.1:
        heart_rate = variability = None
    else:
        hr0 = rng.uniform(60, 85)
        hrv0 = rng.uniform(15, 60)
        heart_rate = _session_sample(rng, sample_start, count, 4,
                                     lambda i: round(hr0 + 3 * math.sin(i / 25.0) + rng.uniform(-0.2, 0.2), 1))
        variability = _session_sample(rng, sample_start, count, 12,
                                      lambda i: float(round(hrv0 + rng.uniform(-2, 2))))
    motion = None if rng.random() < 0.05 else {
        "interval": 5.0,
        "items": [float(rng.randint(5, 55)) if rng.random() < 0.1 else 0.0 for _ in range(count)],
        "timestamp": sample_start,
    }
    return {
        "id": doc_uuid(ctx.seed, "session", day),
        "day": day.isoformat(),
        "start_datetime": start_text,
        "end_datetime": end_text,
        "type": session_type,
        "heart_rate": heart_rate,
        "heart_rate_variability": variability,
        "mood": maybe_null(rng, rng.choice(("bad", "worse", "same", "good", "great")), 0.3),
        "motion_count": motion,
    }


# -- tag, enhanced_tag, vO2_max ------------------------------------------------------------

TAG_CODES = ("tag_generic_alcohol", "tag_generic_caffeine", "tag_generic_nocaffeine", "tag_sleep_latemeal",
             "tag_generic_late_work", "tag_generic_sauna", "tag_generic_stress", "tag_generic_party",
             "tag_generic_fasting", "tag_generic_dark_bedroom", "tag_generic_cold")


def gen_tag(rng, day, ctx):
    """TagModel (the deprecated tag route), sparse. No real tag response exists (the tag
    cassettes were hand-written mocks, recorded/README.md), so the shape is the spec's."""
    if rng.random() > 0.08:
        return None
    timestamp, _ = local_moment(day, rng.randint(8 * 3600, 23 * 3600))
    return {
        "id": doc_uuid(ctx.seed, "tag", day),
        "day": day.isoformat(),
        "text": rng.choice((None, None, "", "long day", "felt a cold coming")),
        "timestamp": timestamp,
        "tags": rng.sample(TAG_CODES, rng.choice((1, 1, 1, 2))),
    }


def gen_enhanced_tag(rng, day, ctx):
    """EnhancedTagModel, sparse, keyed by start_day; sometimes two on a day
    (enhanced_tag__list_full_history_start_0024: 21 tags, two days with two). As recorded:
    `comment` is "" (not null), `end_time`/`end_day`/`custom_name` null. From the spec: tags with
    a duration (end_time, end_day), `custom` tags with a custom_name, text-only tags
    (tag_type_code null)."""
    if rng.random() > 0.1:
        return None
    count = 2 if rng.random() < 0.15 else 1
    starts = sorted(rng.randint(6 * 3600, 86399) for _ in range(count))
    docs = []
    for index, start in enumerate(starts):
        code, comment, custom, end, end_day = rng.choice(TAG_CODES), "", None, None, None
        roll = rng.random()
        if roll < 0.15:
            length = rng.randint(1800, 2 * 86400)
            end = render_local(local_moment(day, start)[1] + length)
            end_day = end[:10]
        elif roll < 0.22:
            code, custom = "custom", rng.choice(("Sauna", "Cold plunge", "Late espresso"))
        elif roll < 0.25:
            code, comment = None, "felt great"
        start_text, _ = local_moment(day, start)
        docs.append({
            "id": doc_uuid_n(ctx.seed, "enhanced_tag", day, index),
            "tag_type_code": code,
            "start_time": start_text,
            "end_time": end,
            "start_day": day.isoformat(),
            "end_day": end_day,
            "comment": comment,
            "custom_name": custom,
        })
    return docs


def gen_vo2_max(rng, day, ctx):
    """PublicVO2Max (path vO2_max, field vo2_max, an integer), sparse. No real document exists
    (the vO2_max cassettes with data were hand-made, recorded/README.md); the shape is the spec's."""
    if rng.random() > 0.12:
        return None
    trend = 42 + 4 * math.sin(day.toordinal() / 120.0)
    timestamp, _ = local_moment(day, rng.randint(9 * 3600, 20 * 3600))
    return {
        "id": doc_uuid(ctx.seed, "vO2_max", day),
        "day": day.isoformat(),
        "timestamp": timestamp,
        "vo2_max": int(round(trend + rng.uniform(-1.5, 1.5))),
    }


# -- rest_mode_period -----------------------------------------------------------------------

REST_MODE_TAGS = ("tag_generic_cold", "tag_generic_sick", "tag_sleep_alcohol", "tag_generic_headache",
                  "tag_generic_pain", "tag_generic_surgery", "tag_generic_airplane")


def gen_rest_mode_period(rng, day, ctx):
    """PublicRestModePeriod, keyed by start_day: a handful over the account (about one every
    45 days) plus the LAST one, which is still open (end_day and end_time null; it starts within
    the account's last 20 days). As in rest_mode_period__list_full_history_start_0024: most
    have `episodes: []`, some are zero-length (start_time = end_time), some span days; episode
    timestamps have milliseconds (`.000`, `.592`) while start_time/end_time do not."""
    is_open = day == ctx.rest_open_start
    if not is_open and (day >= ctx.rest_open_start - dt.timedelta(days=4) or rng.random() > 1 / 45.0):
        return None
    start = rng.randint(7 * 3600, 18 * 3600)
    if is_open:
        length = None
    elif rng.random() < 0.3:
        length = 0
    else:
        length = rng.randint(600, 3 * 86400)
    start_text, start_epoch = local_moment(day, start)
    episodes = []
    if rng.random() < 0.25 or is_open:
        span = length if length is not None else rng.randint(600, 7200)  # episodes within the period
        for offset in sorted(rng.randint(0, span) for _ in range(rng.choice((1, 1, 2)))):
            stamp = render_local(start_epoch + offset)
            episodes.append({
                "tags": rng.sample(REST_MODE_TAGS, rng.choice((0, 1, 1, 2))),
                "timestamp": stamp[:19] + ".%03d" % rng.choice((0, rng.randint(0, 999))) + stamp[19:],
            })
    if length is None:
        end_text = end_day = None
    else:
        end_text = render_local(start_epoch + length)
        end_day = end_text[:10]
    return {
        "id": doc_uuid(ctx.seed, "rest_mode_period", day),
        "end_day": end_day,
        "end_time": end_text,
        "episodes": episodes,
        "start_day": day.isoformat(),
        "start_time": start_text,
    }


# -- heartrate, ring_battery_level (time series, one UTC day per generator call) ------------------


def gen_heartrate(rng, day, ctx):
    """PublicHeartRateRow rows of one UTC day as (epoch, bpm, source) tuples, oldest first.
    About 300 a day: every 300 s while asleep (source "rest" as in heartrate__list_default_window,
    or "sleep"), a daytime "rest" stretch some days, irregular "awake" rows (minutes apart, or
    bursts 1-7 s apart), and a "workout" stretch every 5 s. Every day one "awake" row and the
    first "workout" row share a timestamp (heartrate__list_default_window: 18:47:08, awake and
    workout)."""
    base = (day - EPOCH_DATE).days * 86400
    wake = rng.randint(16200, 25200)   # 04:30-07:00 UTC
    bed = rng.randint(73800, 82800)    # 20:30-23:00 UTC
    night_source = "rest" if rng.random() < 0.7 else "sleep"
    rows = []  # (second of day, order at equal seconds, bpm, source)
    bpm = rng.randint(52, 62)
    for sec in range(rng.randint(0, 299), 86400, 300):
        if wake <= sec < bed or rng.random() < 0.04:
            continue
        bpm = min(max(bpm + rng.randint(-2, 2), 45), 72)
        rows.append((sec, 1, bpm, night_source))
    workout_start = rng.randint(wake + 3600, bed - 3600)
    workout_end = workout_start + 5 * (rng.randint(36, 96) - 1)
    rest_start = rest_end = -1
    if rng.random() < 0.4:
        rest_start = rng.randint(wake + 1800, bed - 7200)
        rest_end = rest_start + rng.randint(1800, 5400)
        if rest_start <= workout_end + 600 and workout_start - 600 <= rest_end:
            rest_start = rest_end = -1
        for sec in range(rest_start, rest_end, 300):
            rows.append((sec, 1, rng.randint(58, 70), "rest"))
    awake_bpm = rng.randint(65, 85)
    sec = wake + rng.randint(0, 300)
    while sec < bed:
        if not (workout_start - 5 <= sec <= workout_end + 5) and not (rest_start <= sec < rest_end):
            awake_bpm = min(max(awake_bpm + rng.randint(-4, 4), 58), 110)
            rows.append((sec, 0, awake_bpm, "awake"))
        sec += rng.randint(1, 7) if rng.random() < 0.3 else rng.randint(120, 900)
    rows.append((workout_start, 0, awake_bpm, "awake"))  # the shared timestamp
    workout_bpm = rng.randint(100, 120)
    for sec in range(workout_start, workout_end + 1, 5):
        workout_bpm = min(max(workout_bpm + rng.randint(-3, 4), 90), 175)
        rows.append((sec, 2, workout_bpm, "workout"))
    rows.sort()
    return [(base + sec, value, source) for sec, _, value, source in rows]


def build_heartrate(row):
    """The served row: no `timestamp_unix` although the spec requires it
    (heartrate__list_default_window: 1101 of 1101 rows without it); keys as recorded."""
    return {"bpm": row[1], "source": row[2], "timestamp": utc_iso(row[0])}


def encode_heartrate(row):
    """json.dumps(build_heartrate(row), separators=(",", ":")), without the dict."""
    return '{"bpm":%d,"source":%s,"timestamp":"%s"}' % (row[1], json.dumps(row[2]), utc_iso(row[0]))


def gen_ring_battery_level(rng, day, ctx):
    """PublicRingBatteryLevelRow rows of one UTC day, every 15-30 min, as (epoch, level,
    charging, in_charger). The ring drains to ~15 % over a few days, then charges for about an
    hour (in_charger true, charging true until 100 %). No recording exists; the shape is the
    spec's (timestamp_unix in milliseconds is served, as the spec requires)."""
    base = (day - EPOCH_DATE).days * 86400
    rows = []
    sec = rng.randint(0, 899)
    while sec < 86400:
        level, charging, in_charger = ctx.battery_state(base + sec)
        if rng.random() < 0.01:
            charging = None
        if rng.random() < 0.01:
            in_charger = None
        rows.append((base + sec, level, charging, in_charger))
        sec += rng.randint(900, 1800)
    return rows


def build_ring_battery_level(row):
    return {"timestamp": utc_iso(row[0]), "timestamp_unix": row[0] * 1000, "charging": row[2],
            "in_charger": row[3], "level": row[1]}


_JSON_FLAGS = {True: "true", False: "false", None: "null"}


def encode_ring_battery_level(row):
    """json.dumps(build_ring_battery_level(row), separators=(",", ":")), without the dict."""
    return '{"timestamp":"%s","timestamp_unix":%d,"charging":%s,"in_charger":%s,"level":%d}' % (
        utc_iso(row[0]), row[0] * 1000, _JSON_FLAGS[row[2]], _JSON_FLAGS[row[3]], row[1])


# -- snapshots ---------------------------------------------------------------------------


def gen_personal_info(ctx):
    """PersonalInfoResponse: a bare object (personal_info__get); height in metres, weight in kg."""
    rng = random.Random("%s|personal_info" % ctx.seed)
    return {
        "id": doc_uuid(ctx.seed, "personal_info", EPOCH_DATE),
        "age": rng.randint(22, 65),
        "weight": round(rng.uniform(52.0, 100.0), 1),
        "height": round(rng.uniform(1.55, 1.98), 2),
        "biological_sex": rng.choice(("male", "female")),
        "email": "user@example.com",
    }


def gen_ring_configuration(ctx):
    """PublicRingConfiguration, 1-2 rings, oldest first (ring_configuration__list: two gen3
    rings, the older with set_up_at "1970-01-01T00:00:00+00:00", a sentinel)."""
    return [ring["doc"] for ring in ctx.rings]


# --------------------------------------------------------------------------------------
# Edge documents (--edge-offsets): documents whose UTC filter date is not their local day
# --------------------------------------------------------------------------------------

# --edge-offsets: UTC offsets in minutes, one per day in turn (by the day's ordinal); None: off.
EDGE_OFFSETS = None


def parse_offsets(text):
    """'-06:00,-10:00,+09:00,+14:00' -> [-360, -600, 540, 840] (minutes)."""
    out = []
    for part in text.split(","):
        match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", part.strip())
        if not match or int(match.group(2)) > 14 or int(match.group(3)) > 59:
            raise ValueError("expected offsets like -06:00,+14:00, got %r" % part)
        minutes = int(match.group(2)) * 60 + int(match.group(3))
        out.append(-minutes if match.group(1) == "-" else minutes)
    return out


def fixed_moment(day, secs, offset_minutes):
    """The wall-clock moment `secs` after `day` 00:00 at a fixed UTC offset: (ISO text, epoch)."""
    local = (day - EPOCH_DATE).days * 86400 + secs
    days, sec = divmod(local, 86400)
    sign = "-" if offset_minutes < 0 else "+"
    text = "%sT%02d:%02d:%02d%s%02d:%02d" % ((EPOCH_DATE + dt.timedelta(days=days)).isoformat(), sec // 3600,
                                            sec // 60 % 60, sec % 60, sign, abs(offset_minutes) // 60,
                                            abs(offset_minutes) % 60)
    return text, local - offset_minutes * 60


# Collections filtered on the UTC date of a time field, which edge documents are added to.
EDGE_TIME_FIELDS = {"sleep": ("bedtime_start", "bedtime_end"), "workout": ("start_datetime", "end_datetime"),
                    "session": ("start_datetime", "end_datetime")}


def edge_documents(collection, rng, day, ctx, generator):
    """Two more documents of `day` for `collection`, at the edges of the local day (00:05 and
    23:50) at the day's --edge-offsets offset: at -06:00 the late one starts on the next UTC
    date, at +14:00 the early one on the previous UTC date. Built by the collection's own
    generator, then moved to those times (ids made distinct)."""
    offset = EDGE_OFFSETS[day.toordinal() % len(EDGE_OFFSETS)]
    start_field, end_field = EDGE_TIME_FIELDS[collection]
    out = []
    for index, secs in enumerate((5 * 60, 23 * 3600 + 50 * 60)):
        base = None
        for attempt in range(50):  # a generator may return nothing on a day: draw again
            made = generator(random.Random("%s|edge|%s|%d|%d" % (ctx.seed, day, index, attempt)), day, ctx)
            made = [made] if isinstance(made, dict) else list(made or ())
            made = [d for d in made if d.get("type") not in ("deleted", "rest", "late_nap")]
            if made:
                base = copy.deepcopy(made[0])
                break
        if base is None:
            continue
        start_text, start_epoch = fixed_moment(day, secs, offset)
        base["id"] = doc_uuid_n(ctx.seed, collection + "#edge", day, index)
        base["day"] = day.isoformat()
        base[start_field] = start_text
        base[end_field] = fixed_moment(day, secs + 600, offset)[0]
        if collection == "sleep":
            base["type"] = "sleep"
        out.append(base)
    return out


# --------------------------------------------------------------------------------------
# The routing table
# --------------------------------------------------------------------------------------


class Collection:
    """One served collection.

    kind "daily": date-windowed (start_date/end_date), generator(rng, day, ctx) returns the
      documents whose own day (`day_field`) is that day (None, a dict or a list); requests
      filter on `filter_day(doc)` (default: the own day) within [start_date, end_date], the end
      inclusive or not (`end_inclusive`).
    kind "series": datetime-windowed (start_datetime/end_datetime, at most 30 days),
      generator(rng, utc_day, ctx) returns that UTC day's rows as tuples (epoch first), `build`
      turns one into the served dict; a row is kept when start <= timestamp < end.
    kind "snapshot": no dates, generator(ctx) returns the list, paginated as usual.
    kind "object": no dates, generator(ctx) returns one bare object (no envelope).
    """

    def __init__(self, kind, generator, end_inclusive=True, day_field="day", filter_day=None, build=None,
                 time_field=None, encode=None):
        self.kind = kind
        self.generator = generator
        self.end_inclusive = end_inclusive
        self.day_field = day_field
        self.filter_day = filter_day
        self.build = build
        self.time_field = time_field  # orders recorded documents within a day
        self.encode = encode  # item -> the JSON text of build(item), without the dict (series)


# end_inclusive: see the README's quirks table for the source of each rule.
COLLECTIONS = {
    "daily_activity": Collection("daily", gen_daily_activity, end_inclusive=False),
    "daily_sleep": Collection("daily", gen_daily_sleep),
    "daily_readiness": Collection("daily", gen_daily_readiness),
    "daily_spo2": Collection("daily", gen_daily_spo2),
    "daily_stress": Collection("daily", gen_daily_stress),
    "daily_resilience": Collection("daily", gen_daily_resilience),
    "daily_cardiovascular_age": Collection("daily", gen_daily_cardiovascular_age),
    "sleep": Collection("daily", gen_sleep, end_inclusive=False, filter_day=sleep_filter_day,
                        time_field="bedtime_start"),
    "sleep_time": Collection("daily", gen_sleep_time),
    "workout": Collection("daily", gen_workout, end_inclusive=False, filter_day=workout_filter_day,
                          time_field="start_datetime"),
    "session": Collection("daily", gen_session, time_field="start_datetime"),
    "tag": Collection("daily", gen_tag, time_field="timestamp"),
    "enhanced_tag": Collection("daily", gen_enhanced_tag, day_field="start_day", time_field="start_time"),
    "vO2_max": Collection("daily", gen_vo2_max, time_field="timestamp"),
    "rest_mode_period": Collection("daily", gen_rest_mode_period, end_inclusive=False, day_field="start_day",
                                   time_field="start_time"),
    "heartrate": Collection("series", gen_heartrate, build=build_heartrate, encode=encode_heartrate),
    "ring_battery_level": Collection("series", gen_ring_battery_level, build=build_ring_battery_level,
                                     encode=encode_ring_battery_level),
    "personal_info": Collection("object", gen_personal_info),
    "ring_configuration": Collection("snapshot", gen_ring_configuration),
}
SERIES_MAX_WINDOW = 30 * 86400  # seconds; a longer start_datetime..end_datetime answers 400


def own_day_text(collection, doc):
    """The day a client keeps a document under: `day`, `start_day`, or the date part of a
    time-series row's `timestamp`."""
    if COLLECTIONS[collection].kind == "series":
        value = doc.get("timestamp")
        return value[:10] if isinstance(value, str) else None
    value = doc.get(COLLECTIONS[collection].day_field)
    return value if isinstance(value, str) else None


class LruDays:
    """A bounded day -> value cache (the generators are deterministic, so an evicted day is
    simply generated again)."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.entries = collections.OrderedDict()

    def get(self, key):
        value = self.entries.get(key, _MISSING)
        if value is not _MISSING:
            self.entries.move_to_end(key)
        return value

    def put(self, key, value):
        self.entries[key] = value
        self.entries.move_to_end(key)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)


_MISSING = object()
DAY_CACHE_DAYS = 400     # per collection: a year's window plus its margins
WINDOW_CACHE_SIZE = 4    # per collection: the last filtered windows, so a page walk filters once


class Page:
    """One page's items of a collection: its documents (dicts, built on demand) or straight its
    JSON text (`data`'s elements joined by commas) through the collection's encoder."""

    def __init__(self, collection, store, items):
        self.collection, self.store, self.items = collection, store, items

    def documents(self):
        return self.store.materialize(self.collection, self.items)

    def encoded(self):
        return self.store.encode(self.collection, self.items)


def encode_documents(documents):
    """`data`'s elements as JSON text joined by commas (what json.dumps puts between [ and ])."""
    return ",".join(json.dumps(doc, separators=(",", ":")) for doc in documents)


class Store:
    """Generates documents lazily per day and caches them; same seed, same documents.
    Nothing is generated at start: a 5-year account costs only the days asked for."""

    def __init__(self, seed, first_day, last_day):
        self.seed = seed
        self.first_day = first_day
        self.last_day = last_day
        self._days = {name: LruDays(DAY_CACHE_DAYS) for name in COLLECTIONS}
        self._windows = {name: LruDays(WINDOW_CACHE_SIZE) for name in COLLECTIONS}
        self._charges = {}
        self._lock = threading.Lock()
        self._snapshots = {}
        rng = random.Random("%s|account" % seed)
        span = (last_day - first_day).days
        self.rest_open_start = last_day - dt.timedelta(days=rng.randint(0, min(20, span)))
        self.battery_cycle = rng.randint(4, 6)
        self.battery_phase = rng.randint(0, 5)
        self.rings = self._make_rings(rng)

    # -- account-wide facts the generators share --------------------------------------------

    def _make_rings(self, rng):
        hardware = rng.choice(("gen3", "gen3", "or5", "gen4"))
        color = rng.choice(("silver", "stealth_black", "brushed_silver", "glossy_gold", "rose", "titanium"))
        rings = []
        count = 2 if rng.random() < 0.5 and (self.last_day - self.first_day).days >= 60 else 1
        for index in range(count):
            if index == 0:
                set_up_day = self.first_day
                set_up_at = ("1970-01-01T00:00:00+00:00" if rng.random() < 0.4
                             else utc_iso((set_up_day - EPOCH_DATE).days * 86400 + rng.randint(28800, 79200)))
            else:
                span = (self.last_day - self.first_day).days
                set_up_day = self.first_day + dt.timedelta(days=rng.randint(span // 2, span))
                set_up_at = utc_iso((set_up_day - EPOCH_DATE).days * 86400 + rng.randint(28800, 79200))
            ring_id = doc_uuid(self.seed, "ring_configuration#%d" % index, EPOCH_DATE)
            rings.append({
                "since": set_up_day,
                "ring_id": hashlib.sha256(("%s|ring|%s" % (self.seed, ring_id)).encode()).hexdigest()[:40],
                "doc": {
                    "id": ring_id,
                    "color": color,
                    "design": rng.choice(("heritage", "horizon", "balance")),
                    "firmware_version": "%d.%d.%d" % (rng.randint(2, 3), rng.randint(0, 9), rng.randint(0, 30)),
                    "hardware_type": hardware,
                    "set_up_at": set_up_at,
                    "size": rng.randint(6, 13),
                },
            })
        return rings

    def ring_id_for(self, day):
        """The `ring_id` of the sleep documents of a day (the newest ring set up by then)."""
        ring_id = self.rings[0]["ring_id"]
        for ring in self.rings:
            if ring["since"] <= day:
                ring_id = ring["ring_id"]
        return ring_id

    def _charge_window(self, day_number):
        window = self._charges.get(day_number)
        if window is None:
            rng = random.Random("%s|charge|%d" % (self.seed, day_number))
            start = day_number * 86400 + rng.randint(6 * 3600, 9 * 3600)
            window = self._charges[day_number] = (start, start + rng.randint(3000, 5400))
        return window

    def battery_state(self, epoch):
        """(level %, charging, in_charger) at a moment: charged every battery_cycle days."""
        cycle = self.battery_cycle
        day_number = epoch // 86400
        last = day_number - (day_number + self.battery_phase) % cycle
        start, end = self._charge_window(last)
        drain = 85.0 / (cycle * 24 * 3600)  # % per second
        previous_end = self._charge_window(last - cycle)[1]
        if epoch < start:  # before today's charge: still draining since the previous one
            return max(1, int(round(100 - drain * (epoch - previous_end)))), False, False
        if epoch >= end:
            return max(1, int(round(100 - drain * (epoch - end)))), False, False
        before = max(1.0, 100 - drain * (start - previous_end))
        level = int(round(before + (100 - before) * (epoch - start) / float(end - start)))
        return min(level, 100), level < 100, True

    # -- documents ------------------------------------------------------------------------

    def _day(self, collection, day):
        with self._lock:
            cached = self._days[collection].get(day)
        if cached is not _MISSING:
            return cached
        rng = random.Random("%s|%s|%s" % (self.seed, collection, day.isoformat()))
        result = COLLECTIONS[collection].generator(rng, day, self)
        if result is None:
            result = ()
        elif isinstance(result, dict):
            result = (result,)
        if EDGE_OFFSETS and collection in EDGE_TIME_FIELDS:
            result = tuple(result) + tuple(edge_documents(collection, rng, day, self,
                                                          COLLECTIONS[collection].generator))
        with self._lock:
            self._days[collection].put(day, result)
        return result

    def _days_between(self, collection, first, last):
        first = max(first, self.first_day)
        last = min(last, self.last_day)
        items = []
        if first <= last:
            for day in day_range(first, last):
                items.extend(self._day(collection, day))
        return items

    def window(self, collection, lo, hi):
        """What a request selects, oldest first: for "daily" the documents whose filter day is
        in [lo, hi] (dates, inclusive); for "series" the rows with lo <= epoch < hi."""
        key = (lo, hi)
        with self._lock:
            cached = self._windows[collection].get(key)
        if cached is not _MISSING:
            return cached
        spec = COLLECTIONS[collection]
        if spec.kind == "series":
            first, last = day_of_epoch(lo), day_of_epoch(hi)
            items = [row for row in self._days_between(collection, first, last) if lo <= row[0] < hi]
        elif spec.filter_day is None:
            items = self._days_between(collection, lo, hi)
        else:
            # The filter day is the own day, the day before (a UTC date of a local moment of
            # that day or the evening before, or east of UTC) or the day after (west of UTC),
            # so one day more on each side is enough.
            items = [doc for doc in self._days_between(collection, lo - ONE_DAY, hi + ONE_DAY)
                     if (lambda d: d is not None and lo <= d <= hi)(spec.filter_day(doc))]
        with self._lock:
            self._windows[collection].put(key, items)
        return items

    def materialize(self, collection, items):
        build = COLLECTIONS[collection].build
        return [build(item) for item in items] if build else list(items)

    def encode(self, collection, items):
        """The JSON text of materialize(items) joined by commas; generated series rows straight
        from their tuples (Collection.encode), without building their dicts."""
        encode = COLLECTIONS[collection].encode
        if encode is not None:
            return ",".join(map(encode, items))
        return encode_documents(self.materialize(collection, items))

    def own_days(self, collection, start, end):
        """/_fake/documents: what a client keeps for days [start, end] by the document's own day."""
        kind = COLLECTIONS[collection].kind
        if kind in ("snapshot", "object"):
            return self.snapshot(collection)
        return self.materialize(collection, self._days_between(collection, start, end))

    def snapshot(self, collection):
        """The documents of a snapshot collection (a one-element list for an object)."""
        if collection not in self._snapshots:
            result = COLLECTIONS[collection].generator(self)
            self._snapshots[collection] = [result] if isinstance(result, dict) else list(result)
        return self._snapshots[collection]


ONE_DAY = dt.timedelta(days=1)


def day_of_epoch(epoch):
    """The UTC date of epoch seconds, clamped to the dates Python knows."""
    try:
        return EPOCH_DATE + dt.timedelta(days=int(epoch // 86400))
    except OverflowError:
        return dt.date.min if epoch < 0 else dt.date.max


def _safe_day(value):
    try:
        return dt.date.fromisoformat(value[:10])
    except (TypeError, ValueError):
        return None


class RecordedStore:
    """--recorded DIR: the union of the documents in the recorded 200 responses (list and
    single files), de-duplicated by id, else by (timestamp, source) for heartrate, else by day
    (else by timestamp), served with the same filters, paging and /_fake/documents rules.
    --first-day/--last-day do not limit it; a collection without a recording serves nothing."""

    def __init__(self, directory):
        found = {name: collections.OrderedDict() for name in COLLECTIONS}
        for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
            with open(path, encoding="utf-8") as handle:
                try:
                    recording = json.load(handle)
                except ValueError as exc:
                    raise ValueError("%s: not JSON (%s)" % (path, exc))
            if not isinstance(recording, dict) or recording.get("status") != 200:
                continue
            route = (recording.get("request") or {}).get("path", "")
            if not route.startswith(API_PREFIX):
                continue
            collection = route[len(API_PREFIX):].split("/")[0]
            if collection not in COLLECTIONS:
                continue
            body = recording.get("body")
            if isinstance(body, dict) and isinstance(body.get("data"), list):
                docs = body["data"]
            elif isinstance(body, dict):
                docs = [body]
            else:
                continue
            for doc in docs:
                if isinstance(doc, dict):
                    found[collection].setdefault(self._key(collection, doc), doc)
        self._docs = {}
        self._series = {}
        for name, docs in found.items():
            spec = COLLECTIONS[name]
            docs = list(docs.values())
            if spec.kind == "series":
                rows = [(epoch_of(doc.get("timestamp")), doc) for doc in docs]
                rows = [row for row in rows if row[0] is not None]
                rows.sort(key=lambda row: row[0])
                self._series[name] = rows
            elif spec.kind == "daily":
                def order(doc, spec=spec):
                    moment = epoch_of(doc.get(spec.time_field)) if spec.time_field else None
                    return (str(doc.get(spec.day_field)), moment if moment is not None else 0.0)
                docs.sort(key=order)
                self._docs[name] = docs
            elif spec.kind == "object":
                self._docs[name] = docs[-1:]
            else:
                self._docs[name] = docs

    @staticmethod
    def _key(collection, doc):
        if "id" in doc and collection != "heartrate":
            return ("id", doc["id"])
        if collection == "heartrate":
            return ("row", doc.get("timestamp"), doc.get("source"))
        if "day" in doc:
            return ("day", doc["day"])
        if "timestamp" in doc:
            return ("timestamp", doc["timestamp"])
        return ("doc", json.dumps(doc, sort_keys=True))

    def window(self, collection, lo, hi):
        spec = COLLECTIONS[collection]
        if spec.kind == "series":
            return [row for row in self._series[collection] if lo <= row[0] < hi]
        pick = spec.filter_day or (lambda doc: _safe_day(doc.get(spec.day_field)))
        return [doc for doc in self._docs[collection]
                if (lambda d: d is not None and lo <= d <= hi)(pick(doc))]

    def materialize(self, collection, items):
        if COLLECTIONS[collection].kind == "series":
            return [row[1] for row in items]
        return list(items)

    def encode(self, collection, items):
        return encode_documents(self.materialize(collection, items))

    def own_days(self, collection, start, end):
        spec = COLLECTIONS[collection]
        if spec.kind in ("snapshot", "object"):
            return self.snapshot(collection)
        low, high = start.isoformat(), end.isoformat()
        if spec.kind == "series":
            docs = [row[1] for row in self._series[collection]]
        else:
            docs = self._docs[collection]
        result = []
        for doc in docs:
            day = own_day_text(collection, doc)
            if day is not None and low <= day <= high:
                result.append(doc)
        return result

    def snapshot(self, collection):
        return list(self._docs[collection])


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


def parse_api_datetime(name, raw):
    """start_datetime/end_datetime (heartrate, ring_battery_level; spec: `date-time`) as UTC
    epoch seconds. An offset is honoured (`%2B01:00`); an unencoded `+` that arrives as a space
    is tolerated; `Z` and naive values are UTC; a bare date is its UTC midnight; an integer is
    Unix seconds (as parse_api_date). Anything else: 400 with an HTTPValidationError body."""
    text = raw.strip()
    try:
        if text.lstrip("-").isdigit():
            moment = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=int(text))
        elif len(text) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), UTC)
        else:
            moment = dt.datetime.fromisoformat(text.replace(" ", "+").replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (ValueError, OverflowError):
        raise BadRequest(400, [{
            "loc": ["query", name],
            "msg": "Input should be a valid datetime",
            "type": "datetime_parsing",
            "input": raw,
        }])


def epoch_text(epoch):
    """An epoch as the ISO date-time kept in a next_token."""
    return (dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=epoch)).isoformat()


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
FAULT_WORDS = ("not_json", "no_data", "repeat_token", "truncated", "reset", "delay",
               "drip", "endless", "gzip_bomb", "huge_string", "huge_token", "poison")
# Hostile bodies (docs/retries.md "Caps and deadlines"): "drip" announces a body and sends one
# byte every 0.2 s until the client hangs up; "endless" is a chunked body that never ends;
# "gzip_bomb" is a small gzip body inflating to `size` bytes (default 256 MiB) of JSON
# whitespace; "huge_string" is a page whose one document has an `id` of `size` bytes (default
# 200 MB), streamed; "huge_token" is the normal page with a next_token of `size` characters
# (default 10 MB).
HOSTILE_DEFAULT_SIZE = {"gzip_bomb": 256 << 20, "huge_string": 200 * 1000 * 1000,
                        "huge_token": 10 * 1000 * 1000}
DEFAULT_DELAY_MS = 2000  # a "delay" fault without delay_ms: longer than a 1 s client timeout


def _positive_int(obj, key):
    value = obj.get(key)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("%s must be a positive integer" % key)
    return value


def parse_fault(obj, default_seed="1"):
    """Validate a fault {collection, kind, count?, probability?, every?, seed?, retry_after?,
    body?, delay_ms?}; returns a normalised dict.

    Without probability or every, the fault answers the next `count` (default 1) requests.
    With `probability` (0 < p <= 1) each request gets it with that chance, drawn from a
    random.Random seeded by `seed` (default "<--seed>|<collection>|<kind>"), so the same
    requests get the same faults; with `every` N, the Nth, 2Nth, ... request after it was set.
    Then `count`, when given, caps how often it fires (else it never wears off). With `after`
    K the fault lets the first K requests it would see pass (a fault in the middle of a walk)."""
    if not isinstance(obj, dict):
        raise ValueError("fault must be a JSON object")
    unknown = set(obj) - {"collection", "kind", "count", "probability", "every", "seed",
                          "retry_after", "body", "delay_ms", "after", "gzip", "size"}
    if unknown:
        raise ValueError("unknown fault field(s): %s" % ", ".join(sorted(unknown)))
    collection = obj.get("collection")
    if collection not in COLLECTIONS:
        raise ValueError("unknown collection: %r" % (collection,))
    kind = obj.get("kind")
    if isinstance(kind, str) and kind.isdigit():
        kind = int(kind)
    if isinstance(kind, bool) or not (isinstance(kind, int) and 100 <= kind <= 599 or kind in FAULT_WORDS):
        raise ValueError("kind must be an HTTP status or one of %s" % ", ".join(FAULT_WORDS))
    fault = {"collection": collection, "kind": kind, "after": 0}
    if obj.get("after") is not None:
        after = obj["after"]
        if isinstance(after, str) and after.isdigit():
            after = int(after)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError("after must be a non-negative integer")
        fault["after"] = after
    periodic = obj.get("probability") is not None or obj.get("every") is not None
    if obj.get("probability") is not None and obj.get("every") is not None:
        raise ValueError("probability and every exclude each other")
    if obj.get("probability") is not None:
        p = obj["probability"]
        if isinstance(p, str):
            try:
                p = float(p)
            except ValueError:
                raise ValueError("probability must be a number in (0, 1]")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
            raise ValueError("probability must be a number in (0, 1]")
        fault["probability"] = float(p)
        fault["seed"] = str(obj["seed"]) if obj.get("seed") is not None else "%s|%s|%s" % (
            default_seed, collection, kind)
    elif obj.get("seed") is not None:
        raise ValueError("seed needs probability")
    if obj.get("every") is not None:
        fault["every"] = _positive_int(obj, "every")
    if obj.get("count") is not None or not periodic:
        fault["count"] = _positive_int(dict(obj, count=obj.get("count", 1)), "count")
    else:
        fault["count"] = None  # periodic and never wearing off
    if obj.get("gzip") is not None:
        if obj["gzip"] not in (True, False, "true", "false"):
            raise ValueError("gzip must be true or false")
        if kind != "truncated":
            raise ValueError("gzip applies to truncated only")
        fault["gzip"] = obj["gzip"] in (True, "true")
    if obj.get("retry_after") is not None:
        fault["retry_after"] = str(obj["retry_after"])
    if obj.get("body") is not None:
        fault["body"] = str(obj["body"])
    if obj.get("delay_ms") is not None:
        delay = obj["delay_ms"]
        if isinstance(delay, str):
            try:
                delay = float(delay)
            except ValueError:
                raise ValueError("delay_ms must be a non-negative number")
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise ValueError("delay_ms must be a non-negative number")
        fault["delay_ms"] = float(delay)
    elif kind == "delay":
        fault["delay_ms"] = float(DEFAULT_DELAY_MS)
    if obj.get("size") is not None:
        fault["size"] = _positive_int(obj, "size")
    elif kind in HOSTILE_DEFAULT_SIZE:
        fault["size"] = HOSTILE_DEFAULT_SIZE[kind]
    return fault


def parse_fault_spec(spec, default_seed="1"):
    """--fault COLLECTION:KIND[:COUNT[:RETRY_AFTER]] or COLLECTION:KIND[,key=value...]
    (keys: count, probability, every, seed, retry_after, delay_ms, body, after; the value of the last
    key takes the rest, so `retry_after=Wed, 21 Oct 2015 07:28:00 GMT` works when it is last).
    In the colon form RETRY_AFTER takes the rest (HTTP dates hold ':')."""
    head, sep, options = spec.partition(",")
    if sep and "=" in options.split(",")[0] and head.count(":") == 1:
        collection, kind = head.split(":")
        obj = {"collection": collection, "kind": kind}
        rest = options
        while rest:
            key, eq, rest = rest.partition("=")
            if not eq:
                raise ValueError("expected key=value in %r" % spec)
            key = key.strip()
            if key in ("retry_after", "body"):
                # Free text: up to the next ",key=" with a known key, else the rest.
                m = re.search(r",(count|probability|every|seed|retry_after|delay_ms|body|after)=", rest)
                value, rest = (rest[:m.start()], rest[m.start() + 1:]) if m else (rest, "")
            else:
                value, _, rest = rest.partition(",")
            obj[key] = value
        return parse_fault(obj, default_seed)
    parts = spec.split(":", 3)
    if len(parts) < 2:
        raise ValueError("expected COLLECTION:KIND[:COUNT[:RETRY_AFTER]] or COLLECTION:KIND,key=value,...")
    obj = {"collection": parts[0], "kind": parts[1], "count": parts[2] if len(parts) > 2 else 1}
    if len(parts) > 3:
        obj["retry_after"] = parts[3]
    return parse_fault(obj, default_seed)


def max_in_window(times, window):
    """The most of the (unsorted) instants `times` inside any half-open interval [t, t + window):
    exact, by two pointers over the sorted instants (a maximal interval starts at an instant)."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.initial_faults = [parse_fault_spec(s, args.seed) for s in args.fault]
        self.oauth = None  # OAuthState, set by main()
        self.reset()
        self.apply_initial_faults()

    def reset(self):
        with self.lock:
            self.faults = {}  # collection -> list of armed entries (see arm())
            self.page_sizes = {}
            self.latency_ms = self.args.latency_ms
            self.rate_limit = self.args.rate_limit  # (requests, window seconds) or None
            self.total = 0
            self.per_route = {}
            self.statuses = {}  # path -> {status: n}
            self.times = []  # (arrival instant, path) of every API request, time.monotonic()
            self.limited = []  # arrival instants of requests the rate limit emulation answered 429
            self.faults_fired = 0
            self.log = []
        if self.oauth is not None:
            with self.oauth.lock:
                self.oauth.reset_counters()

    @staticmethod
    def arm(fault):
        entry = {"fault": fault, "remaining": fault["count"], "seen": 0, "arrived": 0, "rng": None}
        if "probability" in fault:
            entry["rng"] = random.Random(fault["seed"])
        return entry

    def apply_initial_faults(self):
        """--fault options: queued once at start (POST /_fake/reset clears them like any fault)."""
        for fault in self.initial_faults:
            self.add_fault(fault)

    def add_fault(self, fault):
        with self.lock:
            self.faults.setdefault(fault["collection"], []).append(self.arm(fault))

    def take_fault(self, collection, has_cursor):
        """The fault this request gets, or None. Counted faults queue first in first out (the
        head answers); every periodic fault (probability, every) sees each request and draws
        for it, in the order they were set, whether or not another fault answers; the first
        counted fault, else the first periodic one that fires, wins. A repeat_token fault needs
        a previous page: requests without a cursor pass it by (not seen, nothing drawn)."""
        with self.lock:
            queue = self.faults.get(collection)
            if not queue:
                return None
            chosen = None
            head = next((e for e in queue if "probability" not in e["fault"] and "every" not in e["fault"]), None)
            if head is not None and not (head["fault"]["kind"] == "repeat_token" and not has_cursor):
                head["arrived"] += 1
                if head["arrived"] > head["fault"]["after"]:
                    chosen = head
            for entry in queue:
                fault = entry["fault"]
                if entry is head or (fault["kind"] == "repeat_token" and not has_cursor):
                    continue
                if "probability" in fault or "every" in fault:
                    entry["arrived"] += 1
                    if entry["arrived"] <= fault["after"]:
                        continue  # still dormant: the first `after` requests pass it by
                if "probability" in fault:
                    fires = entry["rng"].random() < fault["probability"]
                elif "every" in fault:
                    entry["seen"] += 1
                    fires = entry["seen"] % fault["every"] == 0
                else:
                    continue  # a counted fault behind the head waits its turn
                if fires and chosen is None:
                    chosen = entry
            if chosen is None:
                return None
            if chosen["remaining"] is not None:
                chosen["remaining"] -= 1
                if chosen["remaining"] <= 0:
                    queue.remove(chosen)
            self.faults_fired += 1
            return chosen["fault"]

    def rate_limited(self, now):
        """The rate limit emulation (--rate-limit, /_fake/config rate_limit): seconds until a
        request is allowed again when `rate_limit[0]` requests already arrived in the last
        `rate_limit[1]` seconds (this one not counted), else None. Called after record_arrival."""
        with self.lock:
            if not self.rate_limit:
                return None
            limit, window = self.rate_limit
            recent = [t for t, _ in self.times[-(limit + 1):] if now - t < window]
            # self.times holds this request last; the others inside the window came before it.
            if len(recent) - 1 < limit:
                return None
            self.limited.append(now)
            oldest = recent[-(limit + 1)]
            return max(1, math.ceil(window - (now - oldest)))

    def record_arrival(self, path):
        now = time.monotonic()
        with self.lock:
            self.times.append((now, path))
        return now

    def page_size(self, collection, page_index):
        with self.lock:
            sizes = self.page_sizes.get(collection)
        if sizes:
            return sizes[page_index % len(sizes)]
        if COLLECTIONS[collection].kind == "series":
            return self.args.series_page_size
        return self.args.page_size

    def record(self, path, query, arrival, status):
        """One API request in the log: its path, query and status, when it arrived and when
        its answer was ready (time.monotonic(), seconds: which requests were in flight at once)."""
        answered = time.monotonic()
        with self.lock:
            self.total += 1
            self.per_route[path] = self.per_route.get(path, 0) + 1
            by_status = self.statuses.setdefault(path, {})
            by_status[str(status)] = by_status.get(str(status), 0) + 1
            self.log.append({"path": path, "query": query, "status": status,
                             "arrived": arrival, "answered": answered})

    def stats(self, window=None):
        with self.lock:
            window = float(window if window is not None else self.args.stats_window)
            times = [t for t, _ in self.times]
            per_route_times = {}
            for t, path in self.times:
                per_route_times.setdefault(path, []).append(t)
            per_route_429 = {p: s.get("429", 0) for p, s in self.statuses.items() if s.get("429")}
            out = {"total": self.total, "per_route": dict(self.per_route),
                   "arrivals": len(times),
                   "arrivals_per_route": {p: len(ts) for p, ts in per_route_times.items()},
                   "status_per_route": {p: dict(s) for p, s in self.statuses.items()},
                   "served_429": sum(per_route_429.values()), "per_route_429": per_route_429,
                   "rate_limited": len(self.limited), "faults_fired": self.faults_fired,
                   "window_seconds": window, "max_in_window": max_in_window(times, window),
                   "max_in_window_per_route": {p: max_in_window(ts, window) for p, ts in per_route_times.items()},
                   "log": list(self.log)}
        if self.oauth is not None:
            with self.oauth.lock:
                out["token_calls"] = self.oauth.token_calls
                out["refresh_calls"] = self.oauth.refresh_calls
        return out


# --------------------------------------------------------------------------------------
# OAuth2 (authorization-code and refresh grants, revocation): Oura's documented endpoints
# https://cloud.ouraring.com/oauth/authorize, https://api.ouraring.com/oauth/token and
# .../oauth/revoke, served here on one host. Refresh tokens are single-use, as Oura's are.
# --------------------------------------------------------------------------------------

ALL_SCOPES = "email personal daily heartrate workout tag session spo2Daily"

# --scope-gating: the scope each collection needs on the live server (docs/DESIGN.md "Oura API
# facts"), which the OpenAPI export does not say: daily_resilience needs `stress`,
# daily_cardiovascular_age and vO2_max `heart_health`, ring_configuration and ring_battery_level
# `ring_configuration`, daily_spo2 `spo2` (granted under that name; the export's `spo2Daily` is
# the same scope). New-portal applications see every name with an `extapi:` prefix.
LIVE_SCOPES = {
    "daily_activity": "daily", "daily_sleep": "daily", "daily_readiness": "daily",
    "daily_stress": "daily", "daily_spo2": "spo2", "daily_resilience": "stress",
    "daily_cardiovascular_age": "heart_health", "vO2_max": "heart_health",
    "sleep": "daily", "sleep_time": "daily", "rest_mode_period": "daily",
    "workout": "workout", "session": "session", "tag": "tag", "enhanced_tag": "tag",
    "heartrate": "heartrate", "ring_configuration": "ring_configuration",
    "ring_battery_level": "ring_configuration", "personal_info": "personal",
}
SCOPE_ALIASES = {"spo2Daily": "spo2"}


def scope_allows(granted, collection):
    """Whether a space-separated scope string grants `collection` (aliases and `extapi:`)."""
    names = set()
    for name in (granted or "").split():
        if name.startswith("extapi:"):
            name = name[len("extapi:"):]
        names.add(SCOPE_ALIASES.get(name, name))
    return LIVE_SCOPES.get(collection) in names


class OAuthState:
    """Issued codes and tokens, counters and switches of the fake's OAuth2 endpoints."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.client_id = args.client_id
        self.client_secret = args.client_secret
        self.lifetime = args.token_lifetime
        self.granted_scopes = args.granted_scopes  # None: the scopes asked for
        self.token_delay_ms = args.token_delay_ms
        self.token_delay_count = args.token_delay_count  # None: every token request
        self.omit_refresh_token = False
        # An application of Oura's new developer portal: the legacy token URL answers 400
        # invalid_request, NEW_PORTAL_TOKEN_PATH serves it. Otherwise (a legacy application) the
        # new-portal URL answers 401 invalid_client.
        self.new_portal = args.new_portal
        self.token_faults = []  # [[fault, remaining]]
        self.authorize_error = None
        self.codes = {}    # code -> {client_id, redirect_uri, scope, challenge}
        self.access = {}   # access token -> {"expires_at", "scope", "family"}
        self.refresh = {}  # refresh token -> {"scope", "family", "valid"}
        self.reset_counters()

    def reset_counters(self):
        self.token_calls = 0
        self.refresh_calls = 0
        self.authorize_calls = 0
        self.revoke_calls = 0
        self.legacy_token_calls = 0
        self.new_portal_token_calls = 0
        self.log = []  # [{"endpoint", "grant_type", "status", "error"}]

    def issue(self, scope, family=None):
        """A new pair (caller holds the lock): (access token, refresh token)."""
        family = family or secrets.token_hex(4)
        access = "fake-at-" + secrets.token_urlsafe(24)
        refresh = "fake-rt-" + secrets.token_urlsafe(24)
        self.access[access] = {"expires_at": time.time() + self.lifetime, "scope": scope, "family": family}
        self.refresh[refresh] = {"scope": scope, "family": family, "valid": True}
        return access, refresh

    def access_scope(self, token):
        """The scope (space-separated) an access token was issued with, or None."""
        with self.lock:
            entry = self.access.get(token)
            return entry["scope"] if entry is not None else None

    def access_valid(self, token):
        with self.lock:
            entry = self.access.get(token)
            return entry is not None and entry["expires_at"] > time.time()

    def valid_refresh_tokens(self):
        return [t for t, e in self.refresh.items() if e["valid"]]

    def valid_access_tokens(self):
        now = time.time()
        return [t for t, e in self.access.items() if e["expires_at"] > now]

    def snapshot(self):
        with self.lock:
            return {
                "token_calls": self.token_calls,
                "refresh_calls": self.refresh_calls,
                "authorize_calls": self.authorize_calls,
                "revoke_calls": self.revoke_calls,
                "legacy_token_calls": self.legacy_token_calls,
                "new_portal_token_calls": self.new_portal_token_calls,
                "new_portal": self.new_portal,
                "refresh_tokens": self.valid_refresh_tokens(),
                "access_tokens": self.valid_access_tokens(),
                "lifetime": self.lifetime,
                "granted_scopes": self.granted_scopes,
                "log": list(self.log),
            }

    def configure(self, obj):
        """POST /_fake/oauth. Returns the answer (with `issued` when a pair was seeded)."""
        if not isinstance(obj, dict):
            raise ValueError("oauth config must be a JSON object")
        answer = {"ok": True}
        with self.lock:
            if "lifetime" in obj:
                value = obj["lifetime"]
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError("lifetime must be a whole number of seconds")
                self.lifetime = value
            if "granted_scopes" in obj:
                value = obj["granted_scopes"]
                if value is not None and not isinstance(value, str):
                    raise ValueError("granted_scopes must be a space-separated string or null")
                self.granted_scopes = value
            if "token_delay_ms" in obj:
                value = obj["token_delay_ms"]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError("token_delay_ms must be a non-negative number")
                self.token_delay_ms = value
            if "token_delay_count" in obj:
                value = obj["token_delay_count"]
                if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                    raise ValueError("token_delay_count must be a non-negative integer or null")
                self.token_delay_count = value
            if "new_portal" in obj:
                self.new_portal = bool(obj["new_portal"])
            if "omit_refresh_token" in obj:
                self.omit_refresh_token = bool(obj["omit_refresh_token"])
            if "authorize_error" in obj:
                value = obj["authorize_error"]
                if value is not None and not isinstance(value, str):
                    raise ValueError("authorize_error must be a string or null")
                self.authorize_error = value
            for fault in obj.get("token_faults", []):
                if not isinstance(fault, dict) or not isinstance(fault.get("status"), int):
                    raise ValueError("a token fault is {\"status\": N, \"error\": \"...\", \"count\": n}")
                if "body" in fault and not isinstance(fault["body"], str):
                    raise ValueError("a token fault's body must be a string")
                if "override" in fault and not isinstance(fault["override"], dict):
                    raise ValueError("a token fault's override must be a JSON object")
                count = fault.get("count", 1)
                if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                    raise ValueError("count must be a positive integer")
                self.token_faults.append([fault, count])
            if obj.get("invalidate_refresh_tokens"):
                for entry in self.refresh.values():
                    entry["valid"] = False
            if obj.get("invalidate_access_tokens"):
                self.access.clear()
            if obj.get("seed"):
                scope = self.granted_scopes if self.granted_scopes is not None else ALL_SCOPES
                access, refresh = self.issue(scope)
                answer["issued"] = {"access_token": access, "refresh_token": refresh,
                                    "expires_in": self.lifetime, "scope": scope}
        return answer

    def take_delay(self):
        """The delay of this token request in seconds (caller holds the lock)."""
        if not self.token_delay_ms:
            return 0
        if self.token_delay_count is not None:
            if self.token_delay_count <= 0:
                return 0
            self.token_delay_count -= 1
        return self.token_delay_ms / 1000.0

    def take_token_fault(self):
        if not self.token_faults:
            return None
        entry = self.token_faults[0]
        entry[1] -= 1
        if entry[1] <= 0:
            self.token_faults.pop(0)
        return entry[0]


def pkce_s256(verifier):
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


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
    pending_record = None  # (path, query, arrival) of the API request being answered

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's signature)
        if not self.state.args.quiet:
            sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))

    # -- responses ---------------------------------------------------------------------

    def send_body(self, status, body, content_type="application/json", headers=None, truncate=False,
                  gzip_truncated=False):
        if isinstance(body, str):
            body = body.encode()
        api_answer = self.pending_record is not None
        if self.pending_record is not None:
            # Recorded before the answer leaves, so a client that reads /_fake/stats right after
            # its response always finds its request there, in order.
            path, query, arrival = self.pending_record
            self.pending_record = None
            self.state.record(path, query, arrival, status)
        extra = dict(headers or {})
        if api_answer and self.state.args.rate_limit_headers:
            extra.update(self.rate_limit_headers())
        # Real responses over about 250 bytes were gzip-encoded (recorded/README.md "File format");
        # only when the client asks for it.
        if ((not truncate or gzip_truncated) and not self.state.args.no_gzip and len(body) > 250
                and "gzip" in self.headers.get("Accept-Encoding", "")):
            # The fastest level: the fake serves every page of a backfill on one core
            # (tests/bench/backfill_bench.sh reports its CPU).
            body = gzip.compress(body, compresslevel=1, mtime=0)
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

    def rate_limit_headers(self):
        """--rate-limit-headers: X-RateLimit-Limit (N of --rate-limit or /_fake/config's
        rate_limit), -Remaining (N less the requests that arrived in the last SECONDS, this one
        included, at least 0) and -Reset (whole seconds, rounded up, until the oldest of those
        leaves the window; 0 when none is in it). Nothing without a rate limit."""
        now = time.monotonic()
        with self.state.lock:
            if not self.state.rate_limit:
                return {}
            limit, window = self.state.rate_limit
            recent = [t for t, _ in self.state.times if now - t < window]
        reset = math.ceil(window - (now - recent[0])) if recent else 0
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, limit - len(recent))),
                "X-RateLimit-Reset": str(reset)}

    _bombs = {}

    def send_hostile(self, fault):
        """A body meant to exhaust the client (see HOSTILE_DEFAULT_SIZE). Stops when the client
        hangs up; the request is recorded as a 200."""
        kind = fault["kind"]
        self.close_connection = True
        try:
            self.send_response(200, "OK")
            self.send_header("Content-Type", "application/json")
            if kind == "drip":
                body = b'{"data":[],"next_token":null}' + b" " * 1000000
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for byte in body:
                    self.wfile.write(bytes((byte,)))
                    self.wfile.flush()
                    time.sleep(0.2)
            elif kind == "endless":
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b'3\r\n{"d\r\n')
                chunk = b" " * 65536
                frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
                while True:
                    self.wfile.write(frame)
            elif kind == "gzip_bomb":
                size = fault["size"]
                body = self._bombs.get(size)
                if body is None:
                    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
                    parts = [packer.compress(b'{"data":[')]
                    block = b" " * (1 << 20)
                    for _ in range(size >> 20):
                        parts.append(packer.compress(block))
                    parts.append(packer.compress(b'],"next_token":null}'))
                    parts.append(packer.flush())
                    body = b"".join(parts)
                    self._bombs[size] = body
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:  # huge_string
                size = fault["size"]
                head, tail = b'{"data":[{"id":"', b'","day":"2024-01-01"}],"next_token":null}'
                self.send_header("Content-Length", str(len(head) + size + len(tail)))
                self.end_headers()
                self.wfile.write(head)
                block = b"a" * (1 << 20)
                left = size
                while left > 0:
                    self.wfile.write(block[:min(left, len(block))])
                    left -= min(left, len(block))
                self.wfile.write(tail)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            pass
        return 200

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
        if url.path.startswith(OAUTH_PREFIX):
            self.pending_record = None
            self.handle_oauth(method, url.path, query, body)
            return
        arrival = self.state.record_arrival(url.path)
        self.pending_record = (url.path, query, arrival)
        try:
            self.handle_api(method, url.path, query, arrival)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout, during a "delay" fault): nothing more to send.
            self.close_connection = True

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
                self.send_json(200, self.store.own_days(collection, start, end))
            elif method == "GET" and name == "stats":
                window = query.get("window")
                if window is not None:
                    try:
                        window = float(window)
                    except ValueError:
                        raise ValueError("window must be a number of seconds > 0")
                    if not window > 0:
                        raise ValueError("window must be a number of seconds > 0")
                self.send_json(200, self.state.stats(window))
            elif method == "POST" and name == "faults":
                obj = json.loads(body or b"{}")
                faults = [parse_fault(f, self.state.args.seed) for f in (obj if isinstance(obj, list) else [obj])]
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
                rate_limit = obj.get("rate_limit", False)
                if rate_limit is not False and rate_limit is not None:
                    if (not isinstance(rate_limit, dict) or set(rate_limit) != {"requests", "window"}
                            or isinstance(rate_limit["requests"], bool)
                            or not isinstance(rate_limit["requests"], int) or rate_limit["requests"] < 1
                            or not isinstance(rate_limit["window"], (int, float)) or rate_limit["window"] <= 0):
                        raise ValueError('rate_limit must be {"requests": n >= 1, "window": seconds > 0} or null')
                    rate_limit = (rate_limit["requests"], float(rate_limit["window"]))
                with self.state.lock:
                    self.state.page_sizes.update(page_sizes)
                    if latency is not None:
                        self.state.latency_ms = latency
                    if rate_limit is not False:
                        self.state.rate_limit = rate_limit
                self.send_json(200, {"ok": True})
            elif method == "GET" and name == "oauth":
                self.send_json(200, self.state.oauth.snapshot())
            elif method == "POST" and name == "oauth":
                self.send_json(200, self.state.oauth.configure(json.loads(body or b"{}")))
            elif method == "POST" and name == "reset":
                self.state.reset()
                self.send_json(200, {"ok": True})
            else:
                self.send_json(404, {"detail": "Not Found"})
        except BadRequest as exc:
            self.send_json(exc.status, {"detail": exc.detail})
        except (ValueError, AttributeError, TypeError) as exc:
            self.send_json(400, {"detail": str(exc)})

    # -- OAuth2 endpoints (not counted in the API stats; /_fake/oauth has their counters) ----

    def oauth_error(self, status, error, description, headers=None):
        self.send_json(status, {"error": error, "error_description": description}, headers=headers)

    def client_credentials(self, form):
        """client_id and client_secret from HTTP Basic auth (RFC 6749 2.3.1) or the form body."""
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode()
                client_id, _, client_secret = decoded.partition(":")
                return unquote_plus(client_id), unquote_plus(client_secret)
            except (binascii.Error, UnicodeDecodeError):
                return None, None
        return form.get("client_id"), form.get("client_secret")

    def handle_oauth(self, method, path, query, body):
        oauth = self.state.oauth
        name = path[len(OAUTH_PREFIX):]
        if name == "authorize" and method == "GET":
            return self.oauth_authorize(oauth, query)
        if name == "token" and method == "POST":
            with oauth.lock:
                oauth.legacy_token_calls += 1
                new_portal = oauth.new_portal
            if new_portal:
                # What Oura's legacy token URL tells applications of the new developer portal.
                return self.oauth_error(400, "invalid_request", "Invalid client or client credentials.")
            return self.oauth_token(oauth, body)
        if path == NEW_PORTAL_TOKEN_PATH and method == "POST":
            with oauth.lock:
                oauth.new_portal_token_calls += 1
                new_portal = oauth.new_portal
            if not new_portal:
                return self.oauth_error(401, "invalid_client", "Client authentication failed.")
            return self.oauth_token(oauth, body)
        if name == "revoke" and method in ("POST", "GET"):
            return self.oauth_revoke(oauth, query, body)
        self.send_json(404, {"detail": "Not Found"})

    def oauth_authorize(self, oauth, query):
        """The user's consent, granted at once: 302 to redirect_uri with code and state."""
        with oauth.lock:
            oauth.authorize_calls += 1
            authorize_error = oauth.authorize_error
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != oauth.client_id or not redirect_uri:
            # Oura shows an error page instead of redirecting to an unknown client's URI.
            self.send_body(400, "<html><body>Invalid client_id or redirect_uri</body></html>",
                           content_type="text/html")
            return
        params = {}
        if query.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif authorize_error:
            params["error"] = authorize_error
        else:
            code = "fake-code-" + secrets.token_urlsafe(16)
            scope = query.get("scope", "")
            with oauth.lock:
                granted = oauth.granted_scopes if oauth.granted_scopes is not None else scope
                oauth.codes[code] = {"client_id": query["client_id"], "redirect_uri": redirect_uri,
                                     "scope": granted, "challenge": query.get("code_challenge"),
                                     "method": query.get("code_challenge_method", "plain")}
            params["code"] = code
            params["scope"] = granted
        if "state" in query:
            params["state"] = query["state"]
        parts = urlsplit(redirect_uri)
        joined = (parts.query + "&" if parts.query else "") + urlencode(params)
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, joined, ""))
        self.send_response(302, "Found")
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def oauth_token(self, oauth, body):
        try:
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        except UnicodeDecodeError:
            form = {}
        grant_type = form.get("grant_type", "")
        with oauth.lock:
            oauth.token_calls += 1
            if grant_type == "refresh_token":
                oauth.refresh_calls += 1
            delay = oauth.take_delay()
        if delay:
            time.sleep(delay)

        def answer(status, error=None, description="", obj=None):
            with oauth.lock:
                oauth.log.append({"endpoint": "token", "grant_type": grant_type, "status": status, "error": error})
            if obj is not None:
                self.send_json(status, obj, headers={"Cache-Control": "no-store"})
            elif status >= 500:
                self.send_body(status, "<html><body><h1>%d</h1></body></html>" % status, content_type="text/html")
            else:
                self.oauth_error(status, error, description)

        with oauth.lock:
            fault = oauth.take_token_fault()
        override = None
        if fault is not None and fault["status"] == 200:
            if "override" in fault:
                override = fault["override"]  # the grant is processed; these members replaced
                fault = None
            else:
                # A raw 200 body (HTML, not an object, ...). With "spend" the refresh token sent
                # is spent all the same, as a server that rotated it and then failed would have.
                if fault.get("spend"):
                    with oauth.lock:
                        entry = oauth.refresh.get(form.get("refresh_token") or "")
                        if entry is not None:
                            entry["valid"] = False
                with oauth.lock:
                    oauth.log.append({"endpoint": "token", "grant_type": grant_type,
                                      "status": 200, "error": None})
                self.send_body(200, fault.get("body", ""),
                               content_type=fault.get("content_type", "text/html"))
                return
        if fault is not None:
            headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else None
            if fault["status"] >= 500 or fault["status"] == 429 and not fault.get("error"):
                with oauth.lock:
                    oauth.log.append({"endpoint": "token", "grant_type": grant_type,
                                      "status": fault["status"], "error": None})
                self.send_body(fault["status"], "<html><body>%d</body></html>" % fault["status"],
                               content_type="text/html", headers=headers)
                return
            return answer(fault["status"], fault.get("error", "invalid_request"), "fault injected")
        client_id, client_secret = self.client_credentials(form)
        if client_id != oauth.client_id or client_secret != oauth.client_secret:
            return answer(401, "invalid_client", "Client authentication failed.")
        with oauth.lock:
            if grant_type == "authorization_code":
                code = form.get("code")
                if not code:
                    error = ("invalid_request", "Missing code.")
                else:
                    entry = oauth.codes.pop(code, None)  # single-use
                    error = None
                    if entry is None:
                        error = ("invalid_grant", "Invalid authorization code.")
                    elif form.get("redirect_uri") != entry["redirect_uri"]:
                        error = ("invalid_grant", "redirect_uri does not match the authorization request.")
                    elif entry["challenge"]:
                        verifier = form.get("code_verifier", "")
                        expected = pkce_s256(verifier) if entry["method"] == "S256" else verifier
                        if expected != entry["challenge"]:
                            error = ("invalid_grant", "PKCE verification failed.")
                if error is None:
                    scope = entry["scope"]
                    access, refresh = oauth.issue(scope)
            elif grant_type == "refresh_token":
                token = form.get("refresh_token")
                entry = oauth.refresh.get(token or "")
                if not token:
                    error = ("invalid_request", "Missing refresh_token.")
                elif entry is None or not entry["valid"]:
                    error = ("invalid_grant", "Invalid refresh token.")
                else:
                    error = None
                    scope = entry["scope"]
                    if oauth.omit_refresh_token:
                        access, _ = oauth.issue(scope, entry["family"])
                        refresh = None
                    else:
                        entry["valid"] = False  # single-use: rotated
                        access, refresh = oauth.issue(scope, entry["family"])
            elif not grant_type:
                error = ("invalid_request", "Missing grant_type.")
            else:
                error = ("unsupported_grant_type", "Unsupported grant_type.")
            lifetime = oauth.lifetime
        if error is not None:
            return answer(400, error[0], error[1])
        obj = {"access_token": access, "token_type": "bearer", "expires_in": lifetime, "scope": scope}
        if refresh is not None:
            obj["refresh_token"] = refresh
        if override is not None:
            obj.update(override)
        answer(200, obj=obj)

    def oauth_revoke(self, oauth, query, body):
        """RFC 7009 (POST token=...) or Oura's documented GET ?access_token=...: 200 either way."""
        try:
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        except UnicodeDecodeError:
            form = {}
        token = form.get("token") or query.get("access_token") or query.get("token") or ""
        with oauth.lock:
            oauth.revoke_calls += 1
            family = None
            if token in oauth.refresh:
                family = oauth.refresh[token]["family"]
            elif token in oauth.access:
                family = oauth.access[token]["family"]
            if family is not None:
                for entry in oauth.refresh.values():
                    if entry["family"] == family:
                        entry["valid"] = False
                for key in [k for k, e in oauth.access.items() if e["family"] == family]:
                    del oauth.access[key]
            oauth.log.append({"endpoint": "revoke", "grant_type": None, "status": 200, "error": None})
        self.send_json(200, {})

    # -- the API ------------------------------------------------------------------------

    def handle_api(self, method, path, query, arrival):
        """Answers one API request; returns the status sent (0: the connection was reset)."""
        with self.state.lock:
            latency_ms = self.state.latency_ms
        if latency_ms:
            time.sleep(latency_ms / 1000.0)
        wait = self.state.rate_limited(arrival)
        if wait is not None:
            headers = {"Retry-After": str(wait)}
            mode = self.state.args.rate_limit_429_headers
            if mode is not None:
                # Only the 429 says the budget: Limit, the reset and (mode "window") the window.
                limit, window = self.state.rate_limit
                headers.update({"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                                "X-RateLimit-Reset": str(wait)})
                if mode == "window":
                    headers["X-RateLimit-Window"] = ("%g" % window)
            self.send_json(429, {"detail": "Too Many Requests"}, headers=headers)
            return 429
        collection = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else None
        # Unknown routes answer FastAPI's 404 before any auth check.
        if collection not in COLLECTIONS:
            self.send_json(404, {"detail": "Not Found"})
            return 404
        if method != "GET":
            self.send_json(405, {"detail": "Method Not Allowed"})
            return 405
        authorization = self.headers.get("Authorization", "")
        if self.state.args.require_oauth:
            accepted = (authorization.startswith("Bearer ")
                        and self.state.oauth.access_valid(authorization[len("Bearer "):]))
        else:
            accepted = authorization == "Bearer " + self.state.args.token
        if not accepted:
            self.send_json(401, {"detail": "Unauthorized access: invalid or expired token."})
            return 401
        if self.state.args.scope_gating:
            if self.state.args.require_oauth:
                granted = self.state.oauth.access_scope(authorization[len("Bearer "):])
            else:
                granted = self.state.args.granted_scopes
                if granted is None:
                    granted = ALL_SCOPES
            if not scope_allows(granted, collection):
                # The live server answers a scope not granted like an expired token: 401, the
                # same body (optionally RFC 6750's insufficient_scope, --insufficient-scope-header).
                headers = None
                if self.state.args.insufficient_scope_header:
                    headers = {"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="%s"'
                                                   % LIVE_SCOPES[collection]}
                self.send_json(401, {"detail": "Unauthorized access: invalid or expired token."},
                               headers=headers)
                return 401
        cursor = query.get("next_token") or ""  # `next_token=` (empty) means no cursor (recorded/README.md)
        fault = self.state.take_fault(collection, bool(cursor))
        if fault is not None and fault["kind"] == "reset":
            return self.reset_connection()
        if fault is not None and fault["kind"] == "delay":
            # Slower than the client's timeout: the normal answer, late (sent into a closed
            # connection when the client gave up; the request is recorded with its status).
            time.sleep(fault["delay_ms"] / 1000.0)
            fault = None
        if fault is not None and fault["kind"] in ("drip", "endless", "gzip_bomb", "huge_string"):
            return self.send_hostile(fault)
        if fault is not None and fault["kind"] not in FAULT_WORDS:
            return self.send_fault(fault)
        if COLLECTIONS[collection].kind == "object":
            return self.send_object(collection, fault)
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
                self.send_body(200, json.dumps({"data": page.documents(), "next_token": next_token},
                                               separators=(",", ":")),
                               truncate=True, gzip_truncated=fault.get("gzip", False))
                return 200
            if kind == "poison":
                # Bad documents beside good ones: `body` is the raw text of one or more elements
                # (comma-separated), put before the page's documents byte for byte. A lone
                # surrogate escape in the fault's JSON (\udc80-\udcff) becomes that raw byte
                # (invalid UTF-8), via Python's surrogateescape.
                element = fault.get("body", '{"id":"poison","note":"\\ud800"}')
                elements = [element.encode("utf-8", "surrogateescape")]
                encoded = page.encoded()
                if encoded:
                    elements.append(encoded.encode())
                body = (b'{"data":[' + b",".join(elements)
                        + b'],"next_token":' + json.dumps(next_token).encode() + b"}")
                self.send_body(200, body)
                return 200
            if kind == "repeat_token":
                next_token = cursor  # the token the client just used, i.e. the previous page's
            if kind == "huge_token":
                next_token = "t" * fault["size"]
        # The usual answer, encoded without building the page's documents as dicts first where
        # the collection can (time series: Page.encoded); the same bytes json.dumps would give.
        self.send_body(200, '{"data":[' + page.encoded() + '],"next_token":'
                       + json.dumps(next_token) + "}")
        return 200

    def send_object(self, collection, fault):
        """A bare object (personal_info, no envelope, no dates); faults apply as elsewhere
        (no_data gives `{}`, repeat_token never fires: there is no cursor)."""
        docs = self.store.snapshot(collection)
        if not docs:
            self.send_json(404, {"detail": "Document not found."})
            return 404
        kind = fault["kind"] if fault is not None else None
        if kind == "not_json":
            self.send_body(200, fault.get("body", "<html><body>upstream hiccup</body></html>"),
                           content_type="application/json")
        elif kind == "no_data":
            self.send_json(200, {})
        elif kind == "truncated":
            self.send_body(200, json.dumps(docs[0], separators=(",", ":")), truncate=True,
                           gzip_truncated=fault.get("gzip", False))
        else:
            self.send_json(200, docs[0])
        return 200

    def page(self, collection, query, cursor):
        spec = COLLECTIONS[collection]
        if cursor:
            state = decode_token(cursor)
            if state["c"] != collection:
                raise BadRequest(400, "Invalid next_token.")
            try:
                if spec.kind == "series":
                    start, end = epoch_of(state["s"]), epoch_of(state["e"])
                    if start is None or end is None:
                        raise ValueError("bad window")
                elif spec.kind == "daily":
                    start = dt.date.fromisoformat(state["s"])
                    end = dt.date.fromisoformat(state["e"])
                else:
                    start = end = None
                offset, page_index = int(state["o"]), int(state["p"])
            except (TypeError, ValueError):
                raise BadRequest(400, "Invalid next_token.")
        elif spec.kind == "series":
            # Missing end_datetime: now; missing start_datetime: end minus one day
            # (heartrate__list_default_window, no dates sent: the preceding 24 h).
            now = time.time()
            end = parse_api_datetime("end_datetime", query["end_datetime"]) if query.get("end_datetime") else now
            start = (parse_api_datetime("start_datetime", query["start_datetime"]) if query.get("start_datetime")
                     else end - 86400)
            if start > end:
                raise BadRequest(400, "Start datetime is greater than end datetime: [start_datetime: %s; "
                                      "end_datetime: %s]" % (epoch_text(start), epoch_text(end)))
            if end - start > SERIES_MAX_WINDOW:
                raise BadRequest(400, "The requested time range exceeds the maximum allowed of 30 days: "
                                      "[start_datetime: %s; end_datetime: %s]" % (epoch_text(start), epoch_text(end)))
            offset, page_index = 0, 0
        elif spec.kind == "daily":
            # Missing end_date: today; missing start_date: end_date minus one day.
            today = dt.datetime.now(dt.timezone.utc).date()
            end = parse_api_date("end_date", query["end_date"]) if query.get("end_date") else today
            start = (parse_api_date("start_date", query["start_date"]) if query.get("start_date")
                     else end - dt.timedelta(days=1))
            if start > end:
                raise BadRequest(400, "Start date is greater than end date: [start_date: %s; end_date: %s]"
                                 % (start.isoformat(), end.isoformat()))
            offset, page_index = 0, 0
        else:  # a snapshot: no dates (ring_configuration's spec parameters are fields and next_token)
            start = end = None
            offset, page_index = 0, 0
        if spec.kind == "series":
            docs = self.store.window(collection, start, end)
            window = {"s": epoch_text(start), "e": epoch_text(end)}
        elif spec.kind == "daily":
            last = end if spec.end_inclusive else end - dt.timedelta(days=1)
            docs = self.store.window(collection, start, last) if last >= start else []
            window = {"s": start.isoformat(), "e": end.isoformat()}
        else:
            docs = self.store.snapshot(collection)
            window = {"s": "", "e": ""}
        size = self.state.page_size(collection, page_index)
        page = Page(collection, self.store, docs[offset:offset + size])
        next_offset = offset + size
        next_token = None
        if next_offset < len(docs):
            next_token = encode_token(dict(window, c=collection, o=next_offset, p=page_index + 1))
        return page, next_token

    def reset_connection(self):
        """Closes the connection with a TCP reset (SO_LINGER 0) before any byte of an answer."""
        if self.pending_record is not None:
            path, query, arrival = self.pending_record
            self.pending_record = None
            self.state.record(path, query, arrival, 0)
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())
        except OSError:
            pass
        return 0

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
    parser.add_argument("--series-page-size", type=int, default=1000,
                        help="rows per page for heartrate and ring_battery_level")
    parser.add_argument("--recorded", metavar="DIR",
                        help="serve the documents of the recorded responses in DIR instead of generated ones")
    parser.add_argument("--latency-ms", type=float, default=0, help="added to every API response")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--fault", action="append", default=[],
                        help="COLLECTION:KIND[:COUNT[:RETRY_AFTER]] or COLLECTION:KIND,key=value,... (count, probability, "
                             "every, seed, retry_after, delay_ms, body), repeatable (e.g. daily_sleep:503:2, "
                             "sleep:500,probability=0.3,seed=7)")
    parser.add_argument("--rate-limit", metavar="N/SECONDS", default=None,
                        help="answer 429 (with Retry-After) to a request when N requests arrived in the last SECONDS")
    parser.add_argument("--rate-limit-headers", action="store_true",
                        help="send X-RateLimit-Limit/-Remaining/-Reset of the rate limit with every API answer")
    parser.add_argument("--rate-limit-429-headers", choices=("window", "reset"), default=None,
                        help="a 429 of --rate-limit also sends X-RateLimit-Limit, -Remaining 0 and "
                             "-Reset, and with 'window' X-RateLimit-Window (its SECONDS); other "
                             "answers send none (unless --rate-limit-headers)")
    parser.add_argument("--stats-window", type=float, default=300.0,
                        help="seconds of the sliding window of /_fake/stats max_in_window (default 300)")
    parser.add_argument("--no-gzip", action="store_true", help="never gzip bodies, even when asked")
    parser.add_argument("--quiet", action="store_true", help="no request log on stderr")
    parser.add_argument("--edge-offsets", metavar="OFFSETS", default=None,
                        help="add to every day of sleep, workout and session two documents at 00:05 "
                             "and 23:50 local time, at these UTC offsets one day after another "
                             "(e.g. --edge-offsets=-06:00,-10:00,+09:00,+14:00: with =, as it starts with a minus)")
    parser.add_argument("--client-id", default="test-client", help="the OAuth2 client id accepted")
    parser.add_argument("--client-secret", default="test-secret", help="the OAuth2 client secret accepted")
    parser.add_argument("--new-portal", action="store_true",
                        help="the client is an application of Oura's new developer portal: "
                             "/oauth/token answers 400 invalid_request, " + NEW_PORTAL_TOKEN_PATH +
                             " issues its tokens (without it that URL answers 401 invalid_client)")
    parser.add_argument("--token-lifetime", type=int, default=86400,
                        help="seconds an issued access token is valid (expires_in)")
    parser.add_argument("--granted-scopes", default=None,
                        help='scopes granted, space-separated (default: the scopes asked for)')
    parser.add_argument("--token-delay-ms", type=float, default=0,
                        help="delay before answering each POST /oauth/token")
    parser.add_argument("--token-delay-count", type=int, default=None,
                        help="delay only the first N token requests (default: every one)")
    parser.add_argument("--scope-gating", action="store_true",
                        help="answer 401 to a collection whose live scope (LIVE_SCOPES) the token "
                             "was not granted (OAuth tokens: their scope; --token: --granted-scopes, "
                             "default the OpenAPI export's 8)")
    parser.add_argument("--insufficient-scope-header", action="store_true",
                        help="with --scope-gating, the 401 carries WWW-Authenticate: Bearer "
                             "error=\"insufficient_scope\"")
    parser.add_argument("--require-oauth", action="store_true",
                        help="API routes accept only access tokens issued by /oauth/token and not expired")
    args = parser.parse_args(argv)
    if args.page_size < 1:
        parser.error("--page-size must be at least 1")
    if args.series_page_size < 1:
        parser.error("--series-page-size must be at least 1")
    if args.first_day > args.last_day:
        parser.error("--first-day is after --last-day")
    if args.stats_window <= 0:
        parser.error("--stats-window must be > 0")
    if args.rate_limit is not None:
        try:
            n, _, w = args.rate_limit.partition("/")
            args.rate_limit = (int(n), float(w))
            if args.rate_limit[0] < 1 or args.rate_limit[1] <= 0:
                raise ValueError
        except ValueError:
            parser.error("--rate-limit: expected N/SECONDS, e.g. 200/10")
    if args.edge_offsets is not None:
        global EDGE_OFFSETS
        try:
            EDGE_OFFSETS = parse_offsets(args.edge_offsets)
        except ValueError as exc:
            parser.error("--edge-offsets: %s" % exc)
    try:
        state = State(args)
    except ValueError as exc:
        parser.error("--fault: %s" % exc)

    state.oauth = OAuthState(args)
    Handler.state = state
    if args.recorded:
        if not os.path.isdir(args.recorded):
            parser.error("--recorded: not a folder: %s" % args.recorded)
        try:
            Handler.store = RecordedStore(args.recorded)
        except (OSError, ValueError) as exc:
            parser.error("--recorded: %s" % exc)
    else:
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
