"""The benchmark's table: each figure beside the machine's limit it is measured against,
and the issue's targets as ratios. Nothing here fails a run on speed; only on lost or
repeated email (`problems`)."""

RSS_LIMIT_MB = 150
SINGLE_SET = ("burst", "steady_50", "fan_out", "reminders")  # one set of the stack, per backend
SCENARIOS = (*SINGLE_SET, "scale_out")  # what --only may name; each one's emails count
SCALED = ("burst", "fan_out", "killed")  # the scale-out's parts


def show(results):
    print(f"\nAbierto benchmark, {results['when']}, {results['cores']} cores"
          f"{' (smoke: sizes too small to mean anything)' if results['smoke'] else ''}")
    if "api" in results:
        _api(results["api"])
    runs = _runs(results)  # (label, that run's figures): each backend, and the scale-out
    if any(name in r for _label, r in runs for name in ("burst", "steady_50")):
        _registrations(runs)
    if any("fan_out" in r for _label, r in runs):
        _fan_out(runs)
    _limits(results, runs)
    if any("reminders" in r for _label, r in runs):
        _reminders(runs)
    if "scale_out" in results:
        _scale_out(results)
    _memory(results)
    print("\nCPU seconds")
    for label, r in runs:
        for scenario, by in r["cpu_s"].items():
            print(f"  {label} {scenario}: " + ", ".join(f"{k} {v}" for k, v in by.items() if v >= 0.1)
                  + f"; in all {sum(by.values()):.1f}")
    print("\nTargets")
    for line in targets(results):
        print("  " + line)


def _runs(results):
    runs = [(backend, r) for backend, r in results.get("backends", {}).items()]
    if "scale_out" in results:
        runs.append((f"postgresql x{results['scale_out']['sets']}", results["scale_out"]))
    return runs


def _registrations(runs):
    print("\n2. Registration -> confirmation email")
    print(f"{'run':<16}{'scenario':<12}{'n':>6}{'p50 s':>8}{'p95 s':>8}{'p99 s':>8}{'last s':>8}"
          f"{'emails/s':>10}{'SMTP/s':>8}{'of SMTP':>9}{'dups':>6}")
    for label, results in runs:
        for name in ("burst", "steady_50"):
            if name in results:
                r = results[name]
                print(f"{label:<16}{name:<12}{r['registrations']:>6}{r['p50_s']:>8}{r['p95_s']:>8}"
                      f"{r['p99_s']:>8}{r['last_email_after_s']:>8}{r['emails_per_second']:>10}"
                      f"{r['smtp_limit_per_s']:>8}{_of_smtp(r):>9.0%}{_dups(r):>6}")
    print("p50 ms from the POST to its registration's row / to its delivery's row (the consumer)"
          " / to the send (the worker) / to the arrival")
    for label, results in runs:
        for name in ("burst", "steady_50"):
            if "stages_p50_ms" in results.get(name, {}):
                print(f"{label:<16}{name:<12}" + " / ".join(
                    f"{ms:>5}" for ms in results[name]["stages_p50_ms"].values()))


def _fan_out(runs):
    print("\n3. Milestone -> alerts")
    print(f"{'run':<16}{'followers':>10}{'last s':>8}{'emails/s':>10}{'SMTP/s':>8}{'of SMTP':>9}"
          f"{'dups':>6}")
    for label, results in runs:
        if "fan_out" in results:
            f = results["fan_out"]
            print(f"{label:<16}{f['followers']:>10}{f['last_email_after_s']:>8}"
                  f"{f['emails_per_second']:>10}{f['smtp_limit_per_s']:>8}{_of_smtp(f):>9.0%}"
                  f"{_dups(f):>6}")


def _limits(results, runs):
    sizes = ", ".join(f"{name} {r[name]['email_bytes'] / 1000:.1f}" for _label, r in runs[:1]
                      for name in dict.fromkeys((*SINGLE_SET, *SCALED))
                      if "email_bytes" in r.get(name, {}))
    bare = "".join(f", bare Flask+insert {b} c{c} {r['rps']}/s"
                   for b in _backends(results.get("api", {}))
                   for c, r in results["api"][b]["bare"].items())
    redis = "".join(f", Redis XADD ({backend} run) {r['limits']['redis_xadd_per_s']}/s (one Python "
                    f"client: {r['limits']['redis_xadd_one_client_per_s']}/s)"
                    for backend, r in results.get("backends", {}).items())
    print("\n4. Limits: SMTP one connection in each row above (best of 3 plain and 3 pipelined, "
          f"right after each scenario, sending the last of its emails again: {sizes} kB)"
          + redis + bare)


def _reminders(runs):
    print("\n5. Event -> reminders, from the moment one falls due")
    print(f"{'run':<16}{'attendees':>10}{'first s':>8}{'last s':>8}{'emails/s':>10}{'SMTP/s':>8}"
          f"{'of SMTP':>9}{'dups':>6}")
    for label, results in runs:
        if "reminders" in results:
            r = results["reminders"]
            print(f"{label:<16}{r['attendees']:>10}{r['first_email_after_s']:>8}"
                  f"{r['last_email_after_s']:>8}{r['emails_per_second']:>10}"
                  f"{r['smtp_limit_per_s']:>8}{_of_smtp(r):>9.0%}{_dups(r):>6}")


def _scale_out(results):
    scaled, single = results["scale_out"], results.get("backends", {}).get("postgresql", {})
    print(f"\n6. Scale-out: {scaled['sets']} sets of every process on PostgreSQL, sharing Redis "
          "and the databases")
    for name in ("burst", "fan_out"):
        if name in single:
            print(f"  {name}: {scaled[name]['emails_per_second']} emails/s with {scaled['sets']} "
                  f"sets, {single[name]['emails_per_second']} with one "
                  f"({scaled[name]['emails_per_second'] / single[name]['emails_per_second']:.2f}x)")
    k = scaled["killed"]
    print(f"  killed mid-run: {k['registrations']} registrations and {k['followers']} followers "
          f"at once; set a's consumer SIGKILLed holding {k['consumer_held_at_kill']} unacknowledged "
          f"entries ({k['consumer_held_after_kill']} still unacknowledged after), set b's worker "
          f"after {k['arrived_at_worker_kill']} emails; {k['retried_after_worker_lost']} "
          f"deliveries found stuck in flight and retried; the last email after "
          f"{k['last_email_after_s']} s; every email arrived, {k['duplicates']} twice"
          + (f" (and {k['repeated_after_cut']} taken by the server as its sender was killed, "
             "sent again: SMTP has no idempotency key)" if k["repeated_after_cut"] else ""))


def _memory(results):
    """Every process's peak RSS, each run's in one line, beside the limit."""
    print(f"\nPeak RSS (MB, limit {RSS_LIMIT_MB})")
    for label, rss in _rss(results).items():
        print(f"  {label}: " + ", ".join(
            f"{k} {v}{'' if v < RSS_LIMIT_MB else ' MISSED'}" for k, v in rss.items()))


def _rss(results):
    """{run label: {process: peak MB}}, the API's gunicorns included."""
    found = {label: r["rss_mb"] for label, r in _runs(results)}
    for backend, apps in results.get("api", {}).get("rss_mb", {}).items():
        found[f"API {backend}"] = {f"{app} gunicorn {part}": mb for app, r in apps.items()
                                   for part, mb in r.items()}
    return found


def _api(api):
    web = "; ".join(f"{backend}: " + (", ".join(f"{k}={v}" for k, v in chosen.items())
                                        if isinstance(chosen, dict) else chosen)
                    for backend, chosen in api.get("web", {}).items())
    print(f"\n1. Registration API (wrk, {api['seconds']} s; {web})")
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


def _dups(scenario):
    """Repeats the stack caused, and after a `+` those of a message its killed sender had
    given the server (see bench/sink.py)."""
    after_cut = scenario.get("repeated_after_cut")
    return f"{scenario['duplicates']}{f'+{after_cut}' if after_cut else ''}"


def _backends(api):
    return [name for name in ("sqlite", "postgresql") if name in api]


def targets(results):
    """The issue's targets, each as `ok`/`MISSED` with the figure behind it."""
    lines = []  # the scale-out's rates are read beside the single set's, not against these
    for label, r in results.get("backends", {}).items():
        rows = [(name, _of_smtp(r[scenario]), goal) for scenario, name, goal in (
            ("burst", "burst emails/s >= 25% of SMTP", 0.25),
            ("fan_out", "fan-out emails/s >= 50% of SMTP", 0.50),
            ("reminders", "reminders emails/s >= 50% of SMTP", 0.50)) if scenario in r]
        lines += [f"{_mark(value >= goal)}{label}: {name}: {value:.0%}" for name, value, goal in rows]
        if "steady_50" in r:
            p99 = r["steady_50"]["p99_s"]
            lines.append(f"{_mark(p99 <= 0.5)}{label}: p99 POST -> email at 50/s <= 0.5 s: {p99} s")
    lines += _api_targets(results.get("api", {}))
    rss = {f"{label} {process}": mb for label, by in _rss(results).items()
           for process, mb in by.items()}
    if rss:
        worst = max(rss, key=rss.get)
        lines.append(f"{_mark(rss[worst] < RSS_LIMIT_MB)}every process < {RSS_LIMIT_MB} MB RSS "
                     f"({len(rss)} sampled): largest {worst} {rss[worst]} MB")
    return lines


def _mark(met):
    return f"{'ok' if met else 'MISSED':<7}"


def _api_targets(api):
    """Issue 18's: api/floor on SQLite, api/bare and p99 at 64 clients on PostgreSQL."""
    lines = []
    for clients, ratio in api.get("sqlite", {}).get("floor_ratio", {}).items():
        lines.append(f"{_mark(ratio >= 0.8)}API on SQLite >= 80% of the floor "
                     f"(bench/floor_app.py, c{clients}): {ratio:.0%}")
    postgresql = api.get("postgresql", {})
    for clients, ratio in postgresql.get("ratio", {}).items():
        lines.append(f"{_mark(ratio >= 0.5)}API on PostgreSQL >= 50% of bare "
                     f"Flask + one PostgreSQL insert (c{clients}): {ratio:.0%}")
    if "64" in postgresql.get("api", {}):
        p99 = postgresql["api"]["64"]["p99_ms"]
        lines.append(f"{_mark(p99 <= 100)}API on PostgreSQL p99 at 64 clients "
                     f"<= 100 ms: {p99} ms")
    return lines


def problems(results):
    """What makes a run fail: lost emails raise earlier; repeated ones are counted here."""
    found = [f"{label} {name}: {r[name]['duplicates']} duplicate emails"
             for label, r in _runs(results) for name in (*SINGLE_SET, *SCALED)
             if r.get(name, {}).get("duplicates")]
    for backend in _backends(results.get("api", {})):
        for clients, r in results["api"][backend]["api"].items():
            if r["errors"]:
                found.append(f"API {backend} c{clients}: {r['errors']} failed requests")
    return found
