"""A facilitator, a parent and a clinician in one live room: chat, a poll and the agenda move for all."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.browser.conftest import check_accessibility, sign_in

LEADER = "leader@demo.carecommons.test"
PARENT = "parent.riverside-childrens@demo.carecommons.test"
CLINICIAN = "clinician.northgate-ibd@demo.carecommons.test"


def person(browser, live_server, email):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, email)
    return context, page


def create_session_now(page, live_server, title: str) -> str:
    """As the signed-in leader: a session starting now with two modules; returns its slug."""
    page.goto(live_server + "/sessions/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Starts").fill(datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Time zone of the start time").select_option("UTC")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/manage")
    page.get_by_label("Module title").fill("Welcome")
    page.get_by_role("button", name="Add module").click()
    page.get_by_label("Module title").fill("Previsit planning")
    page.get_by_role("button", name="Add module").click()
    return page.url.split("/sessions/")[1].split("/")[0]


def test_three_people_in_one_room(browser, page, live_server, csp_violations):
    sign_in(page, live_server, LEADER)
    slug = create_session_now(page, live_server, "Live test session")
    page.goto(f"{live_server}/sessions/{slug}")
    check_accessibility(browser, page, "session-show")

    others = {}
    for email in (PARENT, CLINICIAN):
        context, other = person(browser, live_server, email)
        other.goto(f"{live_server}/sessions/{slug}")
        other.get_by_role("button", name="Register").click()
        other.wait_for_load_state()
        other.get_by_role("link", name="Enter the live room").click()
        others[email] = (context, other)
    page.goto(f"{live_server}/sessions/{slug}/room")
    for p in [page] + [o for _c, o in others.values()]:
        p.get_by_text("Connected.").wait_for()
    parent, clinician = others[PARENT][1], others[CLINICIAN][1]
    parent.get_by_role("heading", name="Who is here").wait_for()
    parent.locator("#presence").get_by_text("3 here").wait_for()

    parent.get_by_label("Your message").fill("Hello from a *parent*")
    parent.get_by_role("button", name="Send").click()
    clinician.locator("#chat li em", has_text="parent").wait_for()

    page.get_by_label("Open a poll: question").fill("Will you try the plan?")
    page.get_by_label("Options, one per line").fill("Yes\nNo")
    page.get_by_role("button", name="Open poll").click()
    parent.locator(".poll button", has_text="Yes").click()
    clinician.locator(".poll .count", has_text="1").first.wait_for()

    page.get_by_label("Move everyone to").select_option(label="Previsit planning")
    page.get_by_role("button", name="Go").click()
    parent.locator('#agenda li[aria-current="step"]', has_text="Previsit planning").wait_for()

    check_accessibility(browser, parent, "session-room")
    for context, _page in others.values():
        context.close()
    page.goto(f"{live_server}/sessions/{slug}/transcript")
    assert "Hello from a *parent*" in page.content()
    check_accessibility(browser, page, "session-transcript")


def test_a_lost_broadcast_is_fetched_again_in_order(page, live_server, csp_violations):
    """The socket drops one broadcast (as when a server dies between commit and publish): the next
    event shows a gap, the page holds it back, re-joins from the last complete seq after ~2 s and shows
    both messages in order."""
    sign_in(page, live_server, LEADER)
    slug = create_session_now(page, live_server, "Gap test session")
    dropped = []

    def relay(ws):
        server = ws.connect_to_server()
        ws.on_message(lambda message: server.send(message))

        def from_server(message):
            if isinstance(message, str) and '"event"' in message and "lost in transit" in message and not dropped:
                dropped.append(message)
                return
            ws.send(message)
        server.on_message(from_server)

    page.route_web_socket("**/socket.io/**", relay)
    page.goto(f"{live_server}/sessions/{slug}/room")
    page.get_by_text("Connected.").wait_for()
    for text in ("lost in transit", "arrives after the gap"):
        page.get_by_label("Your message").fill(text)
        page.get_by_role("button", name="Send").click()
        page.wait_for_function("() => document.getElementById('chat-input').value === ''")
    assert dropped, "the relay did not see the first broadcast"
    page.locator("#chat li", has_text="lost in transit").wait_for(timeout=8000)
    texts = page.locator("#chat li").all_inner_texts()
    assert "lost in transit" in texts[-2] and "arrives after the gap" in texts[-1], texts


def test_room_state_sequence_and_presence(page, live_server, csp_violations):
    """room_state.js on its own: contiguous sequence with held-back events and gap timing; presence
    diffs and the check against the counts that makes the page ask for the whole list."""
    sign_in(page, live_server, LEADER)
    page.goto(live_server + "/")
    page.add_script_tag(url=live_server + "/static/js/room_state.js")
    result = page.evaluate("""() => {
        const {RoomSequence, PresenceState} = window.CareCommonsRoom;
        const s = new RoomSequence(0), applied = [];
        const feed = (seq, now) => s.accept({seq: seq}, now).forEach(e => applied.push(e.seq));
        feed(1, 1000); feed(2, 1000); feed(4, 1000); feed(4, 1100); feed(2, 1200);
        const held = [applied.slice(), s.complete, s.hasGap()];
        const early = s.gapOutlasted(2000, 2500), late = s.gapOutlasted(2000, 3000), again = s.gapOutlasted(2000, 3500);
        feed(3, 4000); feed(5, 4000);
        const p = new PresenceState();
        const whole = p.replace({counts: {parent: 1}, total: 1, people: {parent: [{id: 1, name: "Pat"}]}});
        const joined = p.change({counts: {parent: 1, clinician: 1}, total: 2, joined: [{id: 2, name: "Cleo", role: "clinician"}], left: []});
        const missed = p.change({counts: {parent: 2, clinician: 1}, total: 3, joined: [], left: []});
        const left = p.change({counts: {parent: 2}, total: 2, joined: [], left: [{id: 2, role: "clinician"}]});
        return {held, early, late, again, applied, complete: s.complete, gap: s.hasGap(), whole, joined, missed,
                left, names: Object.values(p.people).map(x => x.name)};
    }""")
    assert result["held"] == [[1, 2], 2, True]
    assert (result["early"], result["late"], result["again"]) == (False, True, False)
    assert result["applied"] == [1, 2, 3, 4, 5] and result["complete"] == 5 and not result["gap"]
    assert (result["whole"], result["joined"], result["missed"], result["left"]) == (True, True, False, False)
    assert result["names"] == ["Pat"]
