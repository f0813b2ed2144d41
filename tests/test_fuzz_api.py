"""schemathesis against the OpenAPI document: every operation, as a visitor, a site token and a signed-in
site lead, must answer with a status, content type and body the document describes, and never a 500.

The document is the file the app serves (app/api/openapi.json); requests go in-process to the WSGI app
over the test's rolled-back transaction. Examples per operation: the hypothesis profile (tests/conftest.py;
`make fuzz` runs the long one)."""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import sign_in
from tests.outcome_fixtures import add_figures, add_measure, months

pytestmark = pytest.mark.fuzz

schema = schemathesis.openapi.from_path("app/api/openapi.json")

#: Examples per operation and caller: the profile's (small) in ordinary runs; under `make fuzz`'s "fuzz"
#: profile FUZZ_API_EXAMPLES (default 200), as each API example costs a request and a transaction.
API_EXAMPLES = (int(os.environ.get("FUZZ_API_EXAMPLES", "200")) if settings.get_current_profile_name() == "fuzz"
                else settings.default.max_examples)

#: Left out: `positive_data_acceptance` (a schema-valid body may still name an unknown site or a future
#: month: the service answers 422 with the row and field, as documented) and `ignored_auth` (every read
#: accepts a token *or* a session, so a spoiled cookie beside a good token is rightly answered 200; bad
#: tokens: test_api_writes_need_a_valid_token and test_fuzz_regressions.py's test_a_bad_token_is_refused_on_every_read).
EXCLUDED = [schemathesis.checks.positive_data_acceptance, schemathesis.checks.ignored_auth]


@pytest.fixture
def api_world(app, db, world):
    """A measure with figures at both sites, a cycle per site and a site token for the own site."""
    from content import pdsa
    from network import outcomes

    measure = add_measure(db)
    for site in (world.own, world.other):
        add_figures(db, site, measure, [(m, 40 + i, 80) for i, m in enumerate(months(2024, 14))])
        pdsa.record(db, world.user("site_lead", "own" if site is world.own else "other"), site,
                    pdsa.CycleFields(title="Huddle", aim="More plans", change="A morning huddle",
                                     prediction="The share rises", start_month="2025-01", end_month="2025-02",
                                     measures=["remission"]))
    _token, secret = outcomes.create_token(db, world.user("site_lead"), world.own, "fuzz")
    client = app.test_client()
    sign_in(client, world.user("site_lead"))
    cookie = client.get_cookie("session")
    return {"anonymous": {}, "token": {"Authorization": f"Bearer {secret}"},
            "session": {"Cookie": f"session={cookie.value}"}}


@pytest.mark.parametrize("who", ["anonymous", "token", "session"])
@schema.parametrize()
@settings(max_examples=API_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_document(case, who, app, api_world):
    case.call_and_validate(app=app, headers=api_world[who], excluded_checks=EXCLUDED)
