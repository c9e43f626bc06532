#!/usr/bin/env python3
"""Checks the shipped Grafana files without a Grafana (ctest: grafana_files_test).

- every dashboard of etc/grafana/dashboards/ against tests/grafana/dashboard.schema.json, and the
  alert rules of etc/grafana/provisioning/alerting/ against tests/grafana/alert-rules.schema.json
  (python3-jsonschema, Draft 2020-12);
- the dashboards are what tests/tools/grafana_dashboards.py generates (nobody edited the JSON
  alone);
- six dashboards with distinct uids, each linking to the other five;
- panel ids are unique per dashboard and panels do not overlap on the grid;
- the provisioning fits together: the dashboard provider's path is where CMake installs the
  dashboards, the alert rules query the provisioned data source's uid.

Every problem is printed; the exit status is 1 when there is any.
"""
import json
import pathlib
import re
import sys

import jsonschema
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "tools"))
import grafana_dashboards  # noqa: E402

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def validate(schema_path, document, where):
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path)):
        path = "/".join(str(p) for p in error.path)
        problem(where, f"{path or '(top)'}: {error.message}")


def main():
    dash_dir = ROOT / "etc" / "grafana" / "dashboards"
    files = sorted(dash_dir.glob("*.json"))
    if len(files) != 6:
        problem(dash_dir, f"expected 6 dashboards, found {len(files)}")
    generated = grafana_dashboards.render()
    dashboards = {}
    for f in files:
        text = f.read_text(encoding="utf-8")
        if generated.get(f.name) != text:
            problem(f, "differs from what tests/tools/grafana_dashboards.py generates "
                       "(edit the generator and run it)")
        d = json.loads(text)
        validate(ROOT / "tests" / "grafana" / "dashboard.schema.json", d, f.name)
        dashboards[f.name] = d
        ids = [p.get("id") for p in d.get("panels", [])]
        if len(ids) != len(set(ids)):
            problem(f.name, "panel ids repeat")
        cells = {}
        for p in d.get("panels", []):
            g = p.get("gridPos", {})
            for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
                for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
                    if (x, y) in cells:
                        problem(f.name, f"panels '{cells[(x, y)]}' and '{p.get('title')}' overlap")
                    cells[(x, y)] = p.get("title")
                    if x > 23:
                        problem(f.name, f"panel '{p.get('title')}' is wider than the grid")
    uids = {d["uid"] for d in dashboards.values() if "uid" in d}
    if len(uids) != len(dashboards):
        problem(dash_dir, "dashboard uids repeat")
    for name, d in dashboards.items():
        linked = {link["url"][len("/d/"):] for link in d.get("links", [])}
        if linked != uids - {d.get("uid")}:
            problem(name, f"links to {sorted(linked)}, not to the other dashboards "
                          f"{sorted(uids - {d.get('uid')})}")
        for p in d.get("panels", []):
            for link in p.get("fieldConfig", {}).get("defaults", {}).get("links", []):
                m = re.match(r"^/d/([a-z-]+)\?", link.get("url", ""))
                if not m or m.group(1) not in uids:
                    problem(name, f"panel '{p.get('title')}' links to {link.get('url')}")

    prov = ROOT / "etc" / "grafana" / "provisioning"
    rules_file = prov / "alerting" / "oura.yaml"
    rules = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    validate(ROOT / "tests" / "grafana" / "alert-rules.schema.json", rules, rules_file.name)
    sources = yaml.safe_load((prov / "datasources" / "oura.yaml").read_text(encoding="utf-8"))
    ds_uids = {s.get("uid") for s in sources.get("datasources", [])}
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            refs = {q.get("refId") for q in rule.get("data", [])}
            if rule.get("condition") not in refs:
                problem(rules_file.name, f"rule {rule.get('uid')}: condition is not one of its queries")
            for q in rule.get("data", []):
                uid = q.get("datasourceUid")
                if uid != "__expr__" and uid not in ds_uids:
                    problem(rules_file.name, f"rule {rule.get('uid')} queries data source {uid}, "
                                             f"not the provisioned {sorted(ds_uids)}")
                expr = q.get("model", {}).get("expression")
                if uid == "__expr__" and expr not in refs:
                    problem(rules_file.name, f"rule {rule.get('uid')}: expression of {expr}")
    for s in sources.get("datasources", []):
        if s.get("user") != "oura_reader":
            problem("datasources/oura.yaml", "connects as another role than the reader oura_reader")
        tls = s.get("jsonData", {})
        if tls.get("sslmode") not in ("verify-ca", "verify-full"):
            problem("datasources/oura.yaml", "does not verify the server's certificate")
        elif not tls.get("sslRootCertFile") or tls.get("tlsConfigurationMethod") != "file-path":
            problem("datasources/oura.yaml", "verifies without a root certificate file")
        if "password" in s or "password" in s.get("jsonData", {}):
            problem("datasources/oura.yaml", "a password outside secureJsonData")

    provider = yaml.safe_load((prov / "dashboards" / "oura.yaml").read_text(encoding="utf-8"))
    paths = [p.get("options", {}).get("path") for p in provider.get("providers", [])]
    cmake = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    m = re.search(r"install\(DIRECTORY etc/grafana/ DESTINATION \$\{CMAKE_INSTALL_DATADIR\}/([^)\s]+)\)",
                  cmake)
    if not m:
        problem("CMakeLists.txt", "no install rule for etc/grafana/")
    else:
        installed = f"/usr/share/{m.group(1)}/dashboards"
        if paths != [installed]:
            problem("provisioning/dashboards/oura.yaml", f"path {paths}, but the package installs "
                                                         f"the dashboards to {installed}")

    for p in problems:
        print(p, file=sys.stderr)
    print(f"{len(dashboards)} dashboards, "
          f"{sum(len(g.get('rules', [])) for g in rules.get('groups', []))} alert rules: "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
