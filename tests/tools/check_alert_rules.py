#!/usr/bin/env python3
"""Schema check of a Prometheus alerting rules file (the rule-file format of
https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/), for CI machines
without promtool (Debian's `prometheus` package needs ~330 MB):

  check_alert_rules.py RULES.yml [METRICS.prom]

Checks the structure (groups with unique names, each rule an alert with a non-empty expr, a
duration `for`, string labels and annotations, valid label names, balanced brackets and braces,
Go-template braces balanced in annotations) and, given a metrics file written by
`oura-collector scrape --metrics-file`, that every oura_collector_* metric an expression names
is one the program writes. Exits 1 with one line per problem."""
import re
import sys

import yaml

DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC = re.compile(r"\boura_collector_[a-zA-Z0-9_]+")


def balanced(text, pairs):
    stack = []
    for c in text:
        if c in pairs:
            stack.append(pairs[c])
        elif c in pairs.values():
            if not stack or stack.pop() != c:
                return False
    return not stack


def check(rules_path, metrics_path=None):
    problems = []
    with open(rules_path) as f:
        doc = yaml.safe_load(f)
    known = None
    if metrics_path:
        with open(metrics_path) as f:
            known = {line.split()[2] for line in f if line.startswith("# TYPE ")}
    if not isinstance(doc, dict) or set(doc) != {"groups"} or not isinstance(doc["groups"], list):
        return ["the file must be a mapping with one key, groups (a list)"]
    names = set()
    for g, group in enumerate(doc["groups"]):
        where = "groups[%d]" % g
        if not isinstance(group, dict) or not isinstance(group.get("name"), str) or not group["name"]:
            problems.append(where + ": needs a name")
            continue
        if group["name"] in names:
            problems.append(where + ": duplicate group name " + group["name"])
        names.add(group["name"])
        unknown = set(group) - {"name", "interval", "limit", "rules"}
        if unknown:
            problems.append(where + ": unknown keys " + ", ".join(sorted(unknown)))
        if "interval" in group and not DURATION.match(str(group["interval"])):
            problems.append(where + ": interval is not a duration")
        if not isinstance(group.get("rules"), list) or not group["rules"]:
            problems.append(where + ": needs a list of rules")
            continue
        for r, rule in enumerate(group["rules"]):
            at = "%s.rules[%d]" % (where, r)
            if not isinstance(rule, dict):
                problems.append(at + ": must be a mapping")
                continue
            unknown = set(rule) - {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
            if unknown:
                problems.append(at + ": unknown keys " + ", ".join(sorted(unknown)))
            if not isinstance(rule.get("alert"), str) or not LABEL.match(rule["alert"]):
                problems.append(at + ": alert must be a name ([a-zA-Z_][a-zA-Z0-9_]*)")
            expr = rule.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                problems.append(at + ": expr must be a non-empty string")
                continue
            if not balanced(expr, {"(": ")", "{": "}", "[": "]"}):
                problems.append(at + ": unbalanced brackets in expr")
            for name in METRIC.findall(expr):
                if known is not None and name not in known:
                    problems.append(at + ": expr names " + name + ", which the program does not write")
            if "for" in rule and not DURATION.match(str(rule["for"])):
                problems.append(at + ": for is not a duration")
            for key in ("labels", "annotations"):
                value = rule.get(key, {})
                if not isinstance(value, dict):
                    problems.append(at + ": " + key + " must be a mapping")
                    continue
                for k, v in value.items():
                    if not isinstance(k, str) or not LABEL.match(k):
                        problems.append(at + ": " + key + " name " + repr(k) + " is not valid")
                    if not isinstance(v, str):
                        problems.append(at + ": " + key + "." + str(k) + " must be a string")
                    elif v.count("{{") != v.count("}}"):
                        problems.append(at + ": " + key + "." + k + ": unbalanced {{ }}")
    return problems


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    found = check(*sys.argv[1:])
    for p in found:
        print(p)
    sys.exit(1 if found else 0)
