"""What every API operation can answer besides its own success, in the OpenAPI document:
each error it may give, by status, as application/problem+json (shared.errors), so a
client generated from the document expects exactly what the service sends."""
from apispec import BasePlugin

from shared.errors import PROBLEM_JSON

API_PREFIX = "/api/"
PROBLEM = {PROBLEM_JSON: {"schema": "Problem"}}  # shared.errors.ProblemSchema's component

EVERY = {
    "400": "The address holds a NUL character (%00), or the body is not valid JSON.",
    "500": "A fault on our side; it is logged, and nothing was half written.",
    "503": "The database is not answering; nothing was done. See Retry-After.",
}
WITH_PATH_IDS = {"404": "There is nothing at this address."}
WITH_INPUT = {"422": "The request has invalid fields; see `errors`."}
# A change feed's cursor older than the tombstones it keeps (shared.changes.check_kept).
WITH_CURSOR = {"410": "The `changed_since` cursor is older than the deletions this list still "
                      "keeps (FEED_TOMBSTONE_RETENTION): sync again from 0."}
WITH_BODY = {"413": "The request body is too large.",
             "415": "Send the body as application/json."}
WITH_TOKEN = {"401": "A usable bearer token is needed (see WWW-Authenticate).",
              "403": "The token lacks the scope this needs."}


class ErrorAnswersPlugin(BasePlugin):
    """Declares, on every API operation, the errors shared code can answer (NUL in the
    address, bad JSON, unknown ids, tokens, a feed's expired cursor, the database away),
    all as problem+json."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        if not (path or "").startswith(API_PREFIX):
            return
        for operation in (operations or {}).values():
            # Statuses as the document's keys: flask-smorest leaves some as numbers.
            responses = {str(status): response
                         for status, response in operation.get("responses", {}).items()}
            operation["responses"] = responses
            responses.pop("default", None)  # every error is named below instead
            answers = dict(EVERY)
            if "{" in path:
                answers.update(WITH_PATH_IDS)
            if "requestBody" in operation or any(
                    isinstance(p, dict) and p.get("in") == "query"
                    for p in operation.get("parameters", [])):
                answers.update(WITH_INPUT)
            if any(isinstance(p, dict) and p.get("name") == "changed_since"
                   for p in operation.get("parameters", [])):
                answers.update(WITH_CURSOR)
            if "requestBody" in operation:
                answers.update(WITH_BODY)
            if any(requirement for requirement in operation.get("security", [])):
                answers.update(WITH_TOKEN)
            for status, description in answers.items():
                responses.setdefault(status, description)
            for status, response in list(responses.items()):
                if status[0] in "45":
                    responses[status] = {"description": _description(response, status),
                                         "content": PROBLEM}


def _description(response, status):
    if isinstance(response, dict):
        return response.get("description") or EVERY.get(status, "An error.")
    if isinstance(response, str) and not response.isupper():
        return response  # one of ours above
    return WITH_INPUT["422"] if status == "422" else "See `detail`."  # flask-smorest's component
