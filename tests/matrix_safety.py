"""Access-matrix entries for safeguarding (flags, the urgent queue, crisis guidance, leaders' settings)
and contact between members (requests, a parent's approval, threads, reports, blocks)."""
from __future__ import annotations

from datetime import date

from tests.matrix_core import ACTORS, LEADERS_GET, MEMBERS, Route, leaders

TODAY = date(2026, 11, 26)


def _world(db, world):
    """Network and site-only stories, a flag in the urgent queue, the own clinician as safeguarding
    contact; an adult clinician at each site in the directory; a pending request to the own clinician,
    an adult's request to the own teen waiting for the parent, an accepted thread between the own parent
    and the other clinician, and a block by the own parent."""
    from content import contact, narratives, safeguarding

    leader, moderator = world.user("network_leader", "network"), world.user("moderator", "network")
    base = dict(body="A story.", tags=["school"], byline_choice="first")
    world.story = narratives.tell(db, world.user("parent"), title="Published", visibility="network", **base)
    narratives.moderate(db, moderator, world.story.id, decision="approve")
    world.site_stories = {}
    for where in ("own", "other"):
        story = narratives.tell(db, world.user("parent", where), title="Site only", visibility="site", **base)
        narratives.moderate(db, moderator, story.id, decision="approve")
        world.site_stories[where] = story
    world.flag = safeguarding.flag(db, world.user("patient", "other"), object_type="story", object_id=world.story.id,
                                   concern="self_harm")
    safeguarding.set_contact(db, leader, email=world.user("clinician").email, designated=True)
    for where in ("own", "other"):
        helper = world.user("clinician", where)
        helper.birth_year, helper.in_directory, helper.offers = 1980, True, "Ask me about clinic."
    teen = world.user("patient")
    teen.in_directory = True
    db.commit()
    world.pending = contact.ask(db, world.user("parent", "other"), world.user("clinician").id, today=TODAY)
    world.awaiting = contact.ask(db, leader, teen.id, today=TODAY)
    world.thread = contact.ask(db, world.user("parent"), world.user("clinician", "other").id, today=TODAY)
    contact.answer(db, world.user("clinician", "other"), world.thread.id, accept=True)
    world.message = contact.send(db, world.user("parent"), world.thread.id, body="Hello")
    contact.block(db, world.user("parent"), world.user("patient", "other").id)


def _site_story(w, s):
    return w.site_stories["own" if s is w.own else "other"].id


def _where(w, s):
    return "own" if s is w.own else "other"


HANDLERS = {**{a: 403 for a in ACTORS}, "anonymous": 302, "clinician": 200, "moderator": 200}


def handlers(status):
    return {**HANDLERS, "clinician": status, "moderator": status}


MEMBERS_422 = {"anonymous": 302, **{a: 422 for a in ACTORS[1:]}}
SITE_SEEN = {"anonymous": 302, "patient": (200, 404), "parent": (200, 404), "clinician": (200, 404),
             "site_lead": (200, 404), "network_leader": 200, "moderator": 200}
ONLY = lambda who, status: {**{a: 404 for a in ACTORS}, "anonymous": 302, who: status}  # noqa: E731

ROUTES = [
    Route("GET", "safety.guidance", lambda w, s: "/safety/help", MEMBERS),
    Route("GET", "safety.flag", lambda w, s: f"/safety/flag/story/{w.story.id}", MEMBERS),
    Route("GET", "safety.flag", lambda w, s: f"/safety/flag/story/{_site_story(w, s)}", SITE_SEEN),
    Route("GET", "safety.flag", lambda w, s: "/safety/flag/nonsense/1", {**{a: 404 for a in ACTORS}, "anonymous": 302}),
    Route("POST", "safety.flag", lambda w, s: f"/safety/flag/story/{w.story.id}", MEMBERS_422),
    Route("POST", "safety.flag", lambda w, s: f"/safety/flag/story/{_site_story(w, s)}",
          {a: ((422, 404) if v == (200, 404) else (422 if v == 200 else v)) for a, v in SITE_SEEN.items()},
          data={"concern": ""}),
    Route("GET", "safety.queue", lambda w, s: "/safety/queue", HANDLERS),
    Route("GET", "safety.show_flag", lambda w, s: f"/safety/flags/{w.flag.id}", HANDLERS),
    Route("POST", "safety.acknowledge", lambda w, s: f"/safety/flags/{w.flag.id}/acknowledge", handlers(302)),
    Route("POST", "safety.record_action", lambda w, s: f"/safety/flags/{w.flag.id}/actions", handlers(422)),
    Route("GET", "safety.settings", lambda w, s: "/safety/settings", LEADERS_GET),
    Route("POST", "safety.settings", lambda w, s: "/safety/settings", leaders(422), data={"crisis_guidance": ""}),
    Route("POST", "safety.add_contact", lambda w, s: "/safety/contacts", leaders(422)),
    Route("POST", "safety.remove_contact", lambda w, s: f"/safety/contacts/{w.user('clinician').id}/remove",
          leaders(302)),
    Route("GET", "contact.overview", lambda w, s: "/connections/", MEMBERS),
    Route("GET", "contact.ask", lambda w, s: f"/connections/ask/{w.user('clinician', _where(w, s)).id}",
          {**MEMBERS, "clinician": (403, 200)}),
    Route("GET", "contact.ask", lambda w, s: f"/connections/ask/{w.user('site_lead', _where(w, s)).id}",
          {**{a: 403 for a in ACTORS}, "anonymous": 302}),
    Route("POST", "contact.ask", lambda w, s: f"/connections/ask/{w.user('clinician', _where(w, s)).id}",
          {"anonymous": 302, "patient": 302, "parent": (302, 409), "clinician": (403, 302), "site_lead": 302,
           "network_leader": 302, "moderator": 302}),
    Route("POST", "contact.answer", lambda w, s: f"/connections/requests/{w.pending.id}/answer",
          {**ONLY("clinician", 302), "parent": 404}),
    Route("POST", "contact.approve", lambda w, s: f"/connections/requests/{w.awaiting.id}/approve",
          ONLY("parent", 302)),
    Route("GET", "contact.thread", lambda w, s: f"/connections/{w.thread.id}", ONLY("parent", 200)),
    Route("POST", "contact.send", lambda w, s: f"/connections/{w.thread.id}/messages", ONLY("parent", 422)),
    Route("POST", "contact.report", lambda w, s: f"/connections/messages/{w.message.id}/report", ONLY("parent", 422)),
    Route("POST", "contact.block", lambda w, s: f"/connections/block/{w.user('site_lead', _where(w, s)).id}",
          {**{a: 302 for a in ACTORS}, "site_lead": (404, 302)}),
    Route("POST", "contact.unblock", lambda w, s: f"/connections/unblock/{w.user('patient', 'other').id}",
          ONLY("parent", 302)),
]

WORLDS = {("safety.", "contact."): _world}
