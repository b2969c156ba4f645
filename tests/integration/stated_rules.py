"""The contract test's reading of `x-abierto-rules` (shared.openapi_rules): a generated
request that breaks a stated rule is turned into the nearest one that keeps it, or dropped
when there is none, so every request sent in positive mode obeys the whole document."""
from datetime import date, datetime

from services.registration import checkin_codes

# A stored row each `exists` rule may name: the seeded plan, a commitment KnownCommitments knows.
STORED = {"GET /api/v1/action-plans/{plan_id}": 1,
          "commitments: GET /api/v1/commitments/{ref}": "commitment:1"}
PUBLIC_URL = "https://1.1.1.1/hook"  # a public address; the contract run sends nothing to it


class Unkeepable(Exception):
    """No request near this one keeps the rule: hypothesis drops it."""


class Keeper:
    """Keeps one service's stated rules; `client`, `headers` and `keys` reach its app."""

    def __init__(self, client, headers, keys):
        self.client, self.headers, self.keys = client, headers, keys
        self.codes = {}  # event id -> a check-in code the API issued for it

    def keep(self, case, rules):
        # Orders can chain (starts_at < ends_at, registration_closes_at <= ends_at): a swap
        # for one may break another, so go round until nothing moves.
        for _ in range(3):
            moved = [getattr(self, "_" + rule["rule"].replace("-", "_"))(case, rule)
                     for rule in rules]
            if not any(moved):
                return
        raise Unkeepable("the stated orders cannot all be kept by swapping")

    # ---- each kind -------------------------------------------------------------------

    def _order(self, case, rule):
        """Swap two values sent in the wrong order; True if it did."""
        moved = False
        for target in _targets(case, rule):
            first, then = rule["first"], rule["then"]
            sent = {name: target[name] for name in (first, then) if target.get(name) is not None}
            values = dict(sent)
            if rule["stored"] and len(sent) < 2:
                values = {**self._stored(case), **sent}
            a, b = _moment(values.get(first)), _moment(values.get(then))
            if a is None or b is None or (b > a if rule["strict"] else b >= a):
                continue
            if len(sent) < 2 or a == b:
                raise Unkeepable(rule["en"])
            target[first], target[then] = target[then], target[first]
            moved = True
        return moved

    def _together(self, case, rule):
        target = _where(case, rule["fields"][0])
        given = [name for name in rule["fields"] if name in target]
        if len(given) < len(rule["fields"]):
            for name in given:
                del target[name]

    def _alias(self, case, rule):
        target = _where(case, rule["old"])
        if rule["old"] in target and rule["new"] in target:
            target[rule["old"]] = target[rule["new"]]

    def _alone(self, case, rule):
        if rule["field"] in (case.query or {}):
            for name in rule["excludes"]:
                case.query.pop(name, None)

    def _exists(self, case, rule):
        if isinstance(case.body, dict) and rule["field"] in case.body:
            case.body[rule["field"]] = STORED[rule["refers_to"]]

    def _issued(self, case, rule):
        if isinstance(case.body, dict) and rule["field"] in case.body:
            case.body[rule["field"]] = self._code(case.path_parameters["event_id"])

    def _public_url(self, case, rule):
        if isinstance(case.body, dict) and rule["field"] in case.body:
            case.body[rule["field"]] = PUBLIC_URL

    # ---- what they need ----------------------------------------------------------------

    def _stored(self, case):
        """The resource a PATCH changes, as its GET shows it ({} if there is none)."""
        answer = self.client.get(case.formatted_path, headers=self.headers)
        return answer.get_json() if answer.status_code == 200 else {}

    def _code(self, event_id):
        """A code the API issued for someone registered at `event_id`."""
        if event_id not in self.codes:
            answer = self.client.post(f"/api/v1/events/{event_id}/registrations", headers=self.headers,
                                      json={"name": "Ana", "email": f"door-{event_id}@example.org",
                                            "sector": "citizen", "privacy_consent": True})
            if answer.status_code == 404:
                return "1-0000AA"  # no such event: the request's answer is 404 whatever the code
            if answer.status_code not in (200, 201):
                raise Unkeepable(f"event {event_id} takes no registration ({answer.status_code})")
            self.codes[event_id] = checkin_codes.code(self.keys, event_id, answer.get_json()["id"])
        return self.codes[event_id]


def _targets(case, rule):
    """The objects a rule applies to: the query, the body, or those at its `at` pointer."""
    if "at" not in rule:
        return [_where(case, rule["first"])]
    found = [case.body]
    for step in rule["at"].strip("/").split("/"):
        found = [item for parent in found if isinstance(parent, (dict, list))
                 for item in (parent if step == "*" and isinstance(parent, list)
                              else [parent.get(step)] if isinstance(parent, dict) else [])]
    return [item for item in found if isinstance(item, dict)]


def _where(case, name):
    """The query if `name` is one of the operation's query parameters, else the body."""
    if any(p.name == name for p in case.operation.query):
        if case.query is None:
            case.query = {}
        return case.query
    return case.body if isinstance(case.body, dict) else {}


def _moment(value):
    """A date, date-time or number as something comparable; None for null or unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    for parse in (datetime.fromisoformat, date.fromisoformat):
        try:
            moment = parse(value.replace("z", "Z"))
        except ValueError:
            continue
        return moment if isinstance(moment, datetime) else datetime(moment.year, moment.month,
                                                                     moment.day)
    return None
