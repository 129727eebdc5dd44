#!/usr/bin/env python3
"""Build the small demo data set in data/demo/ from the shared public data folder.

Usage: python3 scripts/make_demo_data.py [/path/to/shared/data]
(default: ../shared/data relative to the repository root).

Deterministic: the same input files always give byte-identical outputs (fixed seed 42,
sorted inputs, no timestamps written). Python 3 standard library only.

Outputs (see data/demo/README.md):
  cves.csv  - vulnrichment rows of cve/cve_table.csv.gz that have a CVSS base score: every
              KEV CVE plus 300 random others, a fixed subset of leakage-free columns.
  kev.json  - the KEV catalog (as of 2026-01-30) restricted to the CVEs in cves.csv.
  epss.csv  - the 2026-01-30 EPSS lines for the CVEs in cves.csv, comment and header kept.
"""

import csv
import gzip
import io
import json
import os
import random
import sys

SEED = 42
RANDOM_OTHERS = 300

# Columns kept in cves.csv. Deliberately absent (leakage): ssvc_exploitation, in_kev,
# kev_date_added, kev_ransomware, kev_date_added_adp (written after exploitation was known).
KEEP_COLUMNS = [
    "cve_id",
    "published",
    "cvss_version",
    "cvss_base_score",
    "cvss_vector",
    "cwe",
    "vendor",
    "product",
    "has_exploit_ref",
    "ssvc_automatable",
    "ssvc_technical_impact",
]

CVE_TABLE = os.path.join("cve", "cve_table.csv.gz")
KEV_FILE = os.path.join("kev", "known_exploited_vulnerabilities_asof_2026-01-30.json")
EPSS_FILE = os.path.join("epss", "epss_scores-2026-01-30.csv.gz")


def cve_sort_key(cve_id):
    """Numeric order: CVE-2024-9999 before CVE-2024-10000."""
    parts = cve_id.split("-")
    try:
        return (int(parts[1]), int(parts[2]), cve_id)
    except (IndexError, ValueError):
        return (0, 0, cve_id)


def select_rows(shared):
    with gzip.open(os.path.join(shared, CVE_TABLE), "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    eligible = [
        r for r in rows if r["record_source"] == "vulnrichment" and r["cvss_base_score"].strip()
    ]
    eligible.sort(key=lambda r: cve_sort_key(r["cve_id"]))
    kev = [r for r in eligible if r["in_kev"] == "1"]
    others = [r for r in eligible if r["in_kev"] != "1"]
    picked = random.Random(SEED).sample(others, min(RANDOM_OTHERS, len(others)))
    chosen = sorted(kev + picked, key=lambda r: cve_sort_key(r["cve_id"]))
    return chosen, len(kev), len(picked)


def write_cves(rows, path):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(KEEP_COLUMNS)
        for r in rows:
            w.writerow([r[c] for c in KEEP_COLUMNS])


def write_kev(shared, cves, path):
    with open(os.path.join(shared, KEV_FILE), encoding="utf-8") as f:
        catalog = json.load(f)
    vulns = [v for v in catalog["vulnerabilities"] if v["cveID"] in cves]
    out = {
        "title": catalog["title"],
        "catalogVersion": catalog["catalogVersion"],
        "dateReleased": catalog["dateReleased"],
        "count": len(vulns),
        "vulnerabilities": vulns,
    }
    # One catalog entry per line: still the KEV JSON format, smaller than indented output and
    # diff-friendly. Entries are copied unchanged, in the source's order.
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("{\n")
        for key in ("title", "catalogVersion", "dateReleased", "count"):
            f.write(f" {json.dumps(key)}: {json.dumps(out[key], ensure_ascii=False)},\n")
        f.write(' "vulnerabilities": [\n')
        for i, v in enumerate(vulns):
            sep = "," if i + 1 < len(vulns) else ""
            f.write("  " + json.dumps(v, ensure_ascii=False, separators=(",", ":")) + sep + "\n")
        f.write(" ]\n}\n")
    return len(vulns)


def write_epss(shared, cves, path):
    kept = 0
    with gzip.open(os.path.join(shared, EPSS_FILE), "rt", encoding="utf-8", newline="") as src, open(
        path, "w", encoding="utf-8", newline="\n"
    ) as dst:
        for n, line in enumerate(src):
            line = line.rstrip("\r\n")
            if n == 0 and line.startswith("#"):
                dst.write(line + "\n")
                continue
            if line.startswith("cve,"):
                dst.write(line + "\n")
                continue
            if line.split(",", 1)[0] in cves:
                dst.write(line + "\n")
                kept += 1
    return kept


def main(argv):
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shared = argv[1] if len(argv) > 1 else os.path.join(repo_root, "..", "shared", "data")
    out_dir = os.path.join(repo_root, "data", "demo")
    os.makedirs(out_dir, exist_ok=True)

    rows, n_kev, n_others = select_rows(shared)
    cves = {r["cve_id"] for r in rows}
    write_cves(rows, os.path.join(out_dir, "cves.csv"))
    n_kev_entries = write_kev(shared, cves, os.path.join(out_dir, "kev.json"))
    n_epss = write_epss(shared, cves, os.path.join(out_dir, "epss.csv"))

    print(f"cves.csv: {len(rows)} rows ({n_kev} in KEV, {n_others} random others, seed {SEED})")
    print(f"kev.json: {n_kev_entries} entries")
    print(f"epss.csv: {n_epss} scores ({len(cves) - n_epss} CVEs of cves.csv have no EPSS score)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
