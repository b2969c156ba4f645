"""The benchmark's table: each figure beside the machine's limit it is measured against,
and the issue's targets as ratios. Nothing here fails a run on speed; only on lost or
repeated email (`problems`)."""

RSS_LIMIT_MB = 150
SCENARIOS = ("burst", "steady_50", "fan_out", "reminders")  # each one's emails count


def show(results):
    limits = results["limits"]
    print(f"\nAbierto benchmark, {results['when']}, {results['cores']} cores"
          f"{' (smoke: sizes too small to mean anything)' if results['smoke'] else ''}")
    if "api" in results:
        _api(results["api"])
    ran = [name for name in SCENARIOS if name in results]  # `--only` runs some of them
    if "burst" in results or "steady_50" in results:
        _registrations(results)
    if "fan_out" in results:
        _fan_out(results["fan_out"])
    sizes = ", ".join(f"{name} {results[name]['email_bytes'] / 1000:.1f}" for name in ran)
    print("\n4. Limits: SMTP one connection (best of 3 plain and 3 pipelined, right after each scenario, sending "
          f"the last of its emails again: {sizes} kB), Redis XADD {limits['redis_xadd_per_s']}/s"
          f" (one Python client: {limits['redis_xadd_one_client_per_s']}/s)"
          + "".join(f", bare Flask+insert {b} c{c} {r['rps']}/s"
                    for b in _backends(results.get("api", {}))
                    for c, r in results["api"][b]["bare"].items()))
    if "reminders" in results:
        _reminders(results["reminders"])
    print("\nPeak RSS (MB): " + ", ".join(f"{k} {v}" for k, v in results["rss_mb"].items()))
    print("CPU seconds:   " + "; ".join(
        f"{scenario}: " + ", ".join(f"{k} {v}" for k, v in by.items() if v >= 0.1)
        for scenario, by in results["cpu_s"].items()))
    print("\nTargets")
    for line in targets(results):
        print("  " + line)


def _registrations(results):
    print("\n2. Registration -> confirmation email (SQLite)")
    print(f"{'scenario':<12}{'n':>6}{'p50 s':>8}{'p95 s':>8}{'p99 s':>8}{'last s':>8}"
          f"{'emails/s':>10}{'SMTP/s':>8}{'of SMTP':>9}{'dups':>6}")
    for name in ("burst", "steady_50"):
        if name not in results:
            continue
        r = results[name]
        print(f"{name:<12}{r['registrations']:>6}{r['p50_s']:>8}{r['p95_s']:>8}{r['p99_s']:>8}"
              f"{r['last_email_after_s']:>8}{r['emails_per_second']:>10}{r['smtp_limit_per_s']:>8}"
              f"{_of_smtp(r):>9.0%}{r['duplicates']:>6}")


def _fan_out(f):
    print("\n3. Milestone -> alerts (SQLite)")
    print(f"{'followers':<12}{'last s':>8}{'emails/s':>10}{'SMTP/s':>8}{'of SMTP':>9}{'dups':>6}")
    print(f"{f['followers']:<12}{f['last_email_after_s']:>8}{f['emails_per_second']:>10}"
          f"{f['smtp_limit_per_s']:>8}{_of_smtp(f):>9.0%}{f['duplicates']:>6}")


def _reminders(r):
    print("\n5. Event -> reminders (SQLite), from the moment one falls due")
    print(f"{'attendees':<12}{'first s':>8}{'last s':>8}{'emails/s':>10}{'SMTP/s':>8}{'of SMTP':>9}{'dups':>6}")
    print(f"{r['attendees']:<12}{r['first_email_after_s']:>8}{r['last_email_after_s']:>8}"
          f"{r['emails_per_second']:>10}{r['smtp_limit_per_s']:>8}{_of_smtp(r):>9.0%}{r['duplicates']:>6}")


def _api(api):
    print(f"\n1. Registration API (wrk, {api['seconds']} s, {api['web_concurrency']})")
    print(f"{'backend':<12}{'clients':>8}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}"
          f"{'floor req/s':>13}{'of floor':>10}{'bare req/s':>12}{'of bare':>9}")
    for backend in _backends(api):
        for clients, ours in api[backend]["api"].items():
            bare = api[backend]["bare"][clients]
            floor = api[backend].get("floor", {}).get(clients)  # SQLite only
            of_floor = f"{ours['rps'] / floor['rps']:.0%}" if floor else ""
            print(f"{backend:<12}{clients:>8}{ours['rps']:>9}{ours['p50_ms']:>8}{ours['p99_ms']:>8}"
                  f"{ours['errors']:>8}{floor['rps'] if floor else '':>13}{of_floor:>10}"
                  f"{bare['rps']:>12}{ours['rps'] / bare['rps']:>9.0%}")
    print("CPU µs per request, by process (c16 / c64): " + "; ".join(
        f"{backend} {app}: " + ", ".join(
            f"{part} " + " / ".join(str(run[part]) for run in runs)
            for part in runs[0])
        for backend in _backends(api) for app in ("api", "floor", "bare")
        for runs in [[r["cpu_us"] for r in api[backend].get(app, {}).values() if "cpu_us" in r]]
        if runs))


def _of_smtp(scenario):
    return scenario["emails_per_second"] / scenario["smtp_limit_per_s"]


def _backends(api):
    return [name for name in ("sqlite", "postgresql") if name in api]


def targets(results):
    """The issue's targets, each as `ok`/`MISSED` with the figure behind it."""
    rows = [(name, _of_smtp(results[scenario]), goal) for scenario, name, goal in (
        ("burst", "burst emails/s >= 25% of SMTP", 0.25),
        ("fan_out", "fan-out emails/s >= 50% of SMTP", 0.50),
        ("reminders", "reminders emails/s >= 50% of SMTP", 0.50)) if scenario in results]
    lines = [f"{'ok' if value >= goal else 'MISSED':<7}{name}: {value:.0%}" for name, value, goal in rows]
    if "steady_50" in results:
        p99 = results["steady_50"]["p99_s"]
        lines.append(f"{'ok' if p99 <= 0.5 else 'MISSED':<7}p99 at 50/s <= 0.5 s: {p99} s")
    lines += _api_targets(results.get("api", {}))
    rss = dict(results["rss_mb"])
    for backend, apps in results.get("api", {}).get("rss_mb", {}).items():
        rss.update({f"{backend} {app} gunicorn worker": r["worker_max"] for app, r in apps.items()})
    worst = max(rss, key=rss.get)
    lines.append(f"{'ok' if rss[worst] < RSS_LIMIT_MB else 'MISSED':<7}every process < "
                 f"{RSS_LIMIT_MB} MB RSS: largest {worst} {rss[worst]} MB")
    return lines


def _api_targets(api):
    """Issue 18's: api/floor on SQLite, api/bare and p99 at 64 clients on PostgreSQL."""
    lines = []
    for clients, ratio in api.get("sqlite", {}).get("floor_ratio", {}).items():
        lines.append(f"{'ok' if ratio >= 0.8 else 'MISSED':<7}API on SQLite >= 80% of the floor "
                     f"(bench/floor_app.py, c{clients}): {ratio:.0%}")
    postgresql = api.get("postgresql", {})
    for clients, ratio in postgresql.get("ratio", {}).items():
        lines.append(f"{'ok' if ratio >= 0.5 else 'MISSED':<7}API on PostgreSQL >= 50% of bare "
                     f"Flask + one PostgreSQL insert (c{clients}): {ratio:.0%}")
    if "64" in postgresql.get("api", {}):
        p99 = postgresql["api"]["64"]["p99_ms"]
        lines.append(f"{'ok' if p99 <= 100 else 'MISSED':<7}API on PostgreSQL p99 at 64 clients "
                     f"<= 100 ms: {p99} ms")
    return lines


def problems(results):
    """What makes a run fail: lost emails raise earlier; repeated ones are counted here."""
    found = [f"{name}: {results[name]['duplicates']} duplicate emails"
             for name in SCENARIOS if results.get(name, {}).get("duplicates")]
    for backend in _backends(results.get("api", {})):
        for clients, r in results["api"][backend]["api"].items():
            if r["errors"]:
                found.append(f"API {backend} c{clients}: {r['errors']} failed requests")
    return found
