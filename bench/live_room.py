"""Live learning-session room under load: one room, two server processes sharing Redis and PostgreSQL.

Simulated participants are real python-socketio clients (`socketio.AsyncClient`, asyncio) against real
server processes (`gunicorn -k gevent -w 1 wsgi:app`, as in production), split evenly between the two
processes (websocket transport only, so each client stays on one process without a sticky proxy).
Each room size runs on two fresh server processes, in three phases:
  1. joining: every participant connects and joins (`--join-concurrency` at a time per client process,
     at most `--join-max` seconds), then the run waits (at most `--settle-max` s) until the presence
     broadcasts that joining causes stop arriving, so that the chat figures measure chat;
  2. sending: `--senders` participants (half on each process) send `--rate` messages a second between
     them for `--seconds`; each message carries its send time (`time.time()`, one machine clock) and
     every receiver records its arrival;
  3. draining: until nothing has arrived for 2 s, or `--drain` s after the last send.
For 100, 500 and 1,000 participants it prints chat fan-out latency p50 / p95 / p99; messages lost
(acknowledged messages x joined participants - deliveries received; the size runs never re-join, so a
message that did not arrive live is lost); server memory per connection (each worker's VmRSS after
joining minus before the first connection, over the connections it holds); what joining cost (time,
presence messages and bytes, connections the servers dropped); and the CPU of each server, of the
client processes and of the whole machine, including how busy the machine was before the run: on
this 2-core machine the servers, the clients, Redis, PostgreSQL and anyone else's work share two
cores, and the figures mean little without knowing which was the bottleneck.
Target: 500 participants with p95 <= 250 ms and nothing lost.

The app allows a person 10 chat messages in 10 s (counted in Redis across the processes), so one
sender stays at or below one message a second: the default 20 senders send 0.5 a second each. DESIGN.md's think time (1-5 s between
actions) is for load tests of many users doing many things; this is one room at a fixed message rate,
so there is none.

Fault case (`--fault`, on by default; 100 participants): sending goes on while process A is killed
with SIGKILL (master and worker, 40% into the sending). Its clients fail over to process B, as a load
balancer sends them to the surviving backend (A is not restarted), and join with the last sequence
number up to which they hold every event; a sender whose message was not acknowledged resends it with
the same client id. A client that sees a hole in the sequence for more than --gap-grace seconds
re-joins with its last complete sequence number too (a broadcast is lost when a process dies between
commit and publish). It prints how many messages were acknowledged to their sender but never reached
some participant, live or by replay: that must be 0.

Client processes: one asyncio process holds up to --clients-per-process (500) clients; 1,000 are split
over two processes (multiprocessing), and the output says how many were used and how busy they were.

`--presence light` serves a diagnostic variant of the app instead (bench/live_support.py: presence
broadcasts carry counts only, not even who joined or left as the app's do; coalesced to one a second
per room and process as in the app); its header and every result are marked DIAGNOSTIC.

    .venv/bin/python bench/live_room.py [--participants 100,500,1000] [--seconds 20] [--rate 10]
                                         [--senders 20] [--no-fault | --fault-only] [--presence light]

Needs PostgreSQL (127.0.0.1:5432/test; schema `bench_live_<pid>`, dropped at the end) and Redis
(127.0.0.1:6379). The python-socketio asyncio client needs aiohttp (python-socketio[asyncio_client]).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import os
import resource
import signal
import sys
import time
import traceback
from array import array
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import live_support  # noqa: E402

SECRET = "bench-live-room-secret"
SCHEMA = f"bench_live_{os.getpid()}"  # several people's benchmarks and tests share the database
NS = live_support.NAMESPACE
TARGET_PARTICIPANTS, TARGET_P95_MS = 500, 250.0
REPLAY_PAGE = 500  # network.sessions.events_after's limit: a longer replay is asked for again


# ---------------------------------------------------------------------------------------------
# The client side (runs in the client processes)

@dataclass
class Tally:
    """What one client process saw; sent back to the coordinating process at the end."""

    worker: int
    joined: int = 0
    join_failures: list[str] = field(default_factory=list)
    join_seconds: float = 0.0
    #: presence broadcasts received while the room filled up, and the people listed in them all together
    presence_messages: int = 0
    presence_people: int = 0
    presence_bytes_per_person: float = 0.0
    settle_seconds: float = 0.0
    #: per participant index: the message numbers it received (live, replayed or repaired)
    received: dict[int, list[int]] = field(default_factory=dict)
    latencies: array = field(default_factory=lambda: array("d"))
    #: message number -> (seq, event id) from the acknowledgement its sender got
    acked: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: message number -> (seq) as delivered; two seqs for one number would be a duplicate
    delivered_seq: dict[int, set[int]] = field(default_factory=dict)
    send_errors: list[str] = field(default_factory=list)
    resent: int = 0
    failovers: int = 0
    #: why connections dropped (the client's disconnect reason) and how often
    disconnects: dict[str, int] = field(default_factory=dict)
    #: python-engineio's own account of connections ending (see _CauseCounter)
    connection_causes: dict[str, int] = field(default_factory=dict)
    failover_failures: list[str] = field(default_factory=list)
    failover_seconds: list[float] = field(default_factory=list)
    replayed: int = 0
    #: live events that arrived after one with a higher sequence number (possible across processes)
    out_of_order: int = 0
    repairs: int = 0
    repaired: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    last_presence: float = 0.0


class SimulatedParticipant:
    """One person's socket. It keeps the highest sequence number up to which it holds every event
    (`complete`), which is what it sends as `last_seq` when it (re)joins: sending the highest one seen
    could skip an event that arrived out of order from the other process."""

    def __init__(self, index: int, cookie: str, urls: list[str], session_id: int, tally: Tally, run_tag: str):
        self.index, self.cookie, self.urls, self.session_id = index, cookie, urls, session_id
        self.tally, self.run_tag = tally, run_tag
        self.sio = None
        self.seen: set[int] = set()
        self.complete = 0
        self.highest = 0
        self.gap_since: float | None = None
        #: message numbers received; registered in the tally once the first join succeeded
        self.received: list[int] = []
        self.joined = False
        self.connected = asyncio.Event()
        #: clients of connections that dropped, kept so that close() can release their HTTP sessions
        self.retired: list = []
        self.closing = False
        self.failing_over = False

    # -- receiving
    def _note(self, event: dict, now: float, *, live: bool) -> int:
        """Record one event once; returns 1 if it was new."""
        seq = event["seq"]
        if seq in self.seen:
            return 0
        self.seen.add(seq)
        if seq > self.highest:
            self.highest = seq
        elif live:
            self.tally.out_of_order += 1
        while self.complete + 1 in self.seen:
            self.complete += 1
        self.gap_since = None if self.complete == self.highest else (self.gap_since or now)
        if event.get("kind") != "chat":
            return 1
        try:
            body = json.loads(event["body"])
        except (ValueError, TypeError):
            return 1
        number = body["k"]
        self.received.append(number)
        self.tally.delivered_seq.setdefault(number, set()).add(seq)
        if live:
            self.tally.latencies.append(now - body["t"])
        return 1

    def on_event(self, event: dict) -> None:
        self._note(event, time.time(), live=True)

    def on_presence(self, presence: dict) -> None:
        tally = self.tally
        tally.presence_messages += 1
        tally.presence_people += presence["total"]
        tally.last_presence = time.monotonic()
        if presence["total"] and tally.presence_messages % 500 == 1:  # sample the payload size now and then
            tally.presence_bytes_per_person = len(json.dumps(presence)) / presence["total"]

    # -- connecting and joining
    def _new_client(self):
        import socketio

        sio = socketio.AsyncClient(reconnection=False)
        sio.on("event", self.on_event, namespace=NS)
        sio.on("presence", self.on_presence, namespace=NS)
        sio.on("disconnect", self.on_disconnect, namespace=NS)
        return sio

    async def connect(self, url: str) -> int:
        """Open a socket to `url` and join; returns how many missed events the join replayed."""
        sio = self._new_client()
        try:
            await sio.connect(url, headers={"Cookie": self.cookie}, transports=["websocket"], namespaces=[NS],
                              wait_timeout=20)
            replayed = await self.join(sio)
        except BaseException:
            await _release(sio)
            raise
        if self.sio is not None:
            self.retired.append(self.sio)
        self.sio = sio
        self.connected.set()
        return replayed

    async def join(self, sio=None) -> int:
        """Join (or re-join) with the last complete seq; replays come in pages of REPLAY_PAGE."""
        sio = sio or self.sio
        replayed = 0
        while True:
            ack = await sio.call("join", {"session_id": self.session_id, "last_seq": self.complete},
                                      namespace=NS, timeout=20)
            if "error" in ack:
                raise RuntimeError(f"join refused: {ack['error']}")
            now = time.time()
            for event in ack["events"]:
                replayed += self._note(event, now, live=False)
            if len(ack["events"]) < REPLAY_PAGE:
                return replayed

    def on_disconnect(self, reason=None) -> None:
        """The server went away: fail over to the next server (a load balancer's job in production)."""
        self.connected.clear()
        if self.joined and not self.closing and not self.failing_over:
            self.tally.disconnects[str(reason)] = self.tally.disconnects.get(str(reason), 0) + 1
            self.failing_over = True
            asyncio.get_running_loop().create_task(self.fail_over())

    async def close(self) -> None:
        """Disconnect, and close the HTTP session even when the server already dropped the socket."""
        self.closing = True
        for sio in self.retired + ([self.sio] if self.sio is not None else []):
            await _release(sio)

    async def fail_over(self, within: float = 30.0) -> None:
        started = time.monotonic()
        try:
            for attempt in range(int(within / 0.25)):
                url = self.urls[(attempt + 1) % len(self.urls)]
                try:
                    self.tally.replayed += await self.connect(url)
                    self.tally.failovers += 1
                    self.tally.failover_seconds.append(time.monotonic() - started)
                    return
                except Exception as exc:  # a refused or dropped attempt: try the next server shortly
                    last = f"{type(exc).__name__}: {exc}"
                    await asyncio.sleep(0.25)
            self.tally.failover_failures.append(f"participant {self.index}: {last}")
        finally:
            self.failing_over = False

    async def repair_gap(self) -> None:
        """A hole in the sequence outlived the grace period: ask for what followed the complete part."""
        if not self.connected.is_set():
            return
        self.tally.repairs += 1
        try:
            self.tally.repaired += await self.join()
        except Exception as exc:  # reported, and the next check tries again
            self.tally.send_errors.append(f"repair of participant {self.index}: {exc}")

    # -- sending
    async def send(self, number: int, at: float, resend_within: float) -> None:
        """Send message `number` at time `at`; on a broken connection, resend the same client id."""
        delay = at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        client_id = f"{self.run_tag}-{number}"
        body = json.dumps({"t": time.time(), "k": number, "c": client_id})
        give_up = time.monotonic() + resend_within
        attempt = 0
        while True:
            attempt += 1
            try:
                await asyncio.wait_for(self.connected.wait(), timeout=max(0.1, give_up - time.monotonic()))
                ack = await self.sio.call("chat", {"session_id": self.session_id, "client_id": client_id,
                                                   "body": body}, namespace=NS, timeout=10)
                if "error" in ack:
                    self.tally.send_errors.append(f"message {number}: {ack['error']['message']}")
                    return
                self.tally.acked[number] = (ack["seq"], ack["id"])
                if attempt > 1:
                    self.tally.resent += 1
                return
            except Exception as exc:  # disconnected or timed out: wait for the failover and resend
                if time.monotonic() > give_up:
                    self.tally.send_errors.append(f"message {number}: gave up after {attempt} tries ({exc!r})")
                    return
                await asyncio.sleep(0.1)


async def _release(sio) -> None:
    """Disconnect a client and close its HTTP session, which python-engineio leaves open when the
    server dropped the connection or the handshake failed."""
    try:
        await sio.disconnect()
    finally:
        http = sio.eio.http
        if http is not None and not http.closed:
            await http.close()


async def _run_clients(spec: dict, results, go, start_at, stop) -> None:
    tally = Tally(worker=spec["worker"])
    people = [SimulatedParticipant(p["index"], p["cookie"], p["urls"], spec["session_id"], tally, spec["run_tag"])
              for p in spec["participants"]]
    loop = asyncio.get_running_loop()

    started = time.monotonic()
    limit = asyncio.Semaphore(spec["join_concurrency"])

    join_deadline = started + spec["join_max"]

    async def first_join(person: SimulatedParticipant):
        async with limit:
            if time.monotonic() > join_deadline:
                tally.join_failures.append(f"participant {person.index}: not tried, joining took over "
                                           f"{spec['join_max']:g} s")
                return
            try:
                await person.connect(person.urls[0])
                person.joined = True
                tally.received[person.index] = person.received
                tally.joined += 1
            except Exception as exc:
                tally.join_failures.append(f"participant {person.index}: {type(exc).__name__}: {exc}")
                await person.close()

    await asyncio.gather(*(first_join(p) for p in people))
    tally.join_seconds = time.monotonic() - started
    # Joining makes presence broadcasts (the room's whole list, to everyone in it, at most once per
    # PRESENCE_INTERVAL per process), and some are still queued in the servers when the last join is
    # acknowledged: wait until they have stopped arriving, so the chat figures measure chat and not
    # the tail of the joining.
    settle_until = time.monotonic() + spec["settle_max"]
    while time.monotonic() < settle_until and time.monotonic() - tally.last_presence < spec["settle_quiet"]:
        await asyncio.sleep(0.25)
    tally.settle_seconds = time.monotonic() - started - tally.join_seconds
    results.put(("ready", spec["worker"], tally.joined, dict(tally.__dict__)))

    await loop.run_in_executor(None, go.wait)
    t0 = start_at.value
    cpu0, wall0 = _own_cpu(), time.monotonic()

    by_index = {p.index: p for p in people}
    sends = [by_index[index].send(number, t0 + number / spec["rate"], spec["resend_within"])
             for number, index in spec["schedule"] if index in by_index]
    sending = asyncio.gather(*sends)

    async def watch_gaps():
        while spec["gap_grace"] is not None:
            await asyncio.sleep(0.5)
            now = time.time()
            for person in people:
                if person.gap_since is not None and now - person.gap_since > spec["gap_grace"]:
                    person.gap_since = now
                    loop.create_task(person.repair_gap())

    watcher = loop.create_task(watch_gaps())
    await sending
    last_send = t0 + spec["messages"] / spec["rate"]
    # drain: until nothing new has arrived for `quiet` seconds (at least 1 s after the last send),
    # or `drain` seconds after the last send at most
    quiet, deadline = spec["quiet"], last_send + spec["drain"]
    count = len(tally.latencies) + sum(len(r) for r in tally.received.values())
    last_change = time.time()
    while time.time() < deadline:
        await asyncio.sleep(0.25)
        now_count = len(tally.latencies) + sum(len(r) for r in tally.received.values())
        if now_count != count:
            count, last_change = now_count, time.time()
        elif time.time() - last_change >= quiet and time.time() >= last_send + 1:
            break
    watcher.cancel()
    tally.cpu_seconds, tally.wall_seconds = _own_cpu() - cpu0, time.monotonic() - wall0
    tally.connection_causes = dict(CONNECTION_CAUSES)
    results.put(("result", spec["worker"], dict(tally.__dict__)))  # plain data: the class lives in __mp_main__

    await loop.run_in_executor(None, stop.wait)
    for person in people:
        person.closing = True
    await asyncio.gather(*(p.close() for p in people), return_exceptions=True)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


#: python-engineio's messages about connections ending, counted by their text without the details
CONNECTION_CAUSES: dict[str, int] = {}


class _CauseCounter(logging.Handler):
    """Counts python-engineio's warnings and errors (why a connection ended) by message template."""

    def emit(self, record: logging.LogRecord) -> None:
        template = str(record.msg)
        CONNECTION_CAUSES[template] = CONNECTION_CAUSES.get(template, 0) + 1


def client_process(spec: dict, results, go, start_at, stop) -> None:
    """Entry point of a client process (spawned, so it inherits no database engine or server handle)."""
    live_support.die_with_parent()
    _raise_fd_limit()
    # python-engineio logs why a connection ended (warnings, and an error line even with logging off):
    # count them for the report instead of printing thousands of lines. Not INFO: it logs every packet.
    engineio_log = logging.getLogger("engineio.client")
    engineio_log.setLevel(logging.WARNING)
    engineio_log.propagate = False
    engineio_log.addHandler(_CauseCounter())
    try:
        asyncio.run(_run_clients(spec, results, go, start_at, stop))
    except BaseException:
        results.put(("crash", spec["worker"], traceback.format_exc()))
        raise


# ---------------------------------------------------------------------------------------------
# The coordinating process

def _raise_fd_limit() -> int:
    """A thousand sockets need more than the default 1,024 descriptors; children inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else 65536
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Meter:
    """CPU used over one phase by each server worker and by the whole machine (from /proc), so a
    figure can be read against what was busy: on 2 cores the servers, the clients, Redis, PostgreSQL
    and whatever else runs on the machine share them."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.cpu = {name: live_support.cpu_seconds(pid) for name, pid in pids.items()}
        self.machine = _machine_busy()
        self.wall = time.monotonic()

    def read(self, skip: tuple[str, ...] = ()) -> dict:
        wall = time.monotonic() - self.wall
        busy, total = _machine_busy()
        servers = {name: (live_support.cpu_seconds(pid) - self.cpu[name]) / wall
                   for name, pid in self.pids.items() if name not in skip}
        return {"wall": wall, "servers": servers,
                "machine": (busy - self.machine[0]) / max(1, total - self.machine[1])}


def _background_load(seconds: float = 1.0) -> float:
    """How busy the machine is before a run starts (other people's tests share it)."""
    busy0, total0 = _machine_busy()
    time.sleep(seconds)
    busy1, total1 = _machine_busy()
    return (busy1 - busy0) / max(1, total1 - total0)


def run_room(*, label: str, schema: live_support.Schema, seeded, room_index: int, participants: int, seconds: float,
             rate: float, senders: int, clients_per_process: int, join_concurrency: int, join_max: float,
             settle_max: float,
             fault_after: float | None, gap_grace: float | None, drain: float, keep_logs: bool,
             app_module: str) -> list[str]:
    """One room with `participants` clients on two fresh server processes; returns the lines to print.

    Fresh servers for every size, so each one's memory before the first connection is a clean baseline
    and no earlier room's presence rows or queued broadcasts are in the way.
    """
    crowd = seeded.crowd[:participants]
    room = seeded.rooms[room_index]
    messages = int(round(seconds * rate))
    senders = min(senders, participants)
    if rate / senders > 1.0:
        raise SystemExit(f"--rate {rate:g} over {senders} senders is more than 1 message a second each, past the "
                         "app's chat limit of 10 in 10 s per person")
    workers = max(1, -(-participants // clients_per_process))
    background = _background_load()
    servers = live_support.start_servers(("A", "B"), schema.url, SECRET, worker_connections=4 * participants + 100,
                                         app_module=app_module, extra_env={"SOCKETIO_CHANNEL": SCHEMA})
    a, b = servers
    ctx = mp.get_context("spawn")
    results, go, stop, start_at = ctx.Queue(), ctx.Event(), ctx.Event(), ctx.Value("d", 0.0)
    processes = []
    try:
        pids = {s.name: s.worker_pid for s in servers}
        rss_before = {name: live_support.rss_kb(pid) for name, pid in pids.items()}
        now = time.time()
        specs = [{"worker": w, "session_id": room.session_id, "run_tag": f"{label}{room.session_id}",
                  "rate": rate, "messages": messages, "join_concurrency": join_concurrency,
                  "join_max": join_max, "settle_max": settle_max, "settle_quiet": 2.0, "resend_within": 30.0,
                  "gap_grace": gap_grace, "quiet": 2.0, "drain": drain,
                  # message k goes out at start + k / rate, from sender k mod senders
                  "schedule": [(k, k % senders) for k in range(messages)], "participants": []}
                 for w in range(workers)]
        per_server = {"A": 0, "B": 0}
        for i, person in enumerate(crowd):
            home, other = (a, b) if i % 2 == 0 else (b, a)
            per_server[home.name] += 1
            specs[(i // 2) % workers]["participants"].append(
                {"index": i, "cookie": live_support.login_cookie(SECRET, person.token, now=now),
                 "urls": [home.url, other.url]})

        joining = Meter(pids)
        for spec in specs:
            process = ctx.Process(target=client_process, args=(spec, results, go, start_at, stop), daemon=True)
            process.start()
            processes.append(process)
        ready = []
        for _ in specs:
            kind, worker, *rest = _get(results, join_max + settle_max + 120, "clients to connect and join")
            if kind == "crash":
                raise RuntimeError(f"client process {worker} crashed:\n{rest[0]}")
            ready.append(Tally(**rest[1]))
        join_phase = joining.read()
        joined = sum(t.joined for t in ready)
        rss_after = {name: live_support.rss_kb(pid) for name, pid in pids.items()}

        sending = Meter(pids)
        start_at.value = time.time() + 0.5
        go.set()
        killed_at = None
        if fault_after is not None:
            time.sleep(max(0.0, start_at.value + fault_after - time.time()))
            a_until_kill = sending.read()["servers"]["A"]
            a.kill9()
            killed_at = time.time() - start_at.value
        tallies = []
        for _ in specs:
            kind, worker, payload = _get(results, seconds + drain + 120, "the run to finish")
            if kind == "crash":
                raise RuntimeError(f"client process {worker} crashed:\n{payload}")
            tallies.append(Tally(**payload))
        send_phase = sending.read(skip=("A",) if killed_at is not None else ())
        presence_rows = schema.scalar("SELECT count(*) FROM room_presence WHERE session_id = %s", room.session_id)
        rows_cleared_after = None
        if killed_at is not None:  # the survivor removes the killed process's rows when its heartbeat expires
            wait_until = time.monotonic() + 30
            while presence_rows > joined and time.monotonic() < wait_until:
                time.sleep(0.5)
                presence_rows = schema.scalar("SELECT count(*) FROM room_presence WHERE session_id = %s",
                                              room.session_id)
            if presence_rows <= joined:
                rows_cleared_after = time.time() - start_at.value - killed_at
        if killed_at is not None:
            send_phase["servers"]["A (until killed)"] = a_until_kill
        summary = _summarise(tallies, joined)
        context = {"participants": participants, "joined": joined, "per_server": per_server, "workers": workers,
                   "messages": messages, "background": background, "ready": ready, "settle_max": settle_max,
                   "join_phase": join_phase,
                   "send_phase": send_phase, "rss_before": rss_before, "rss_after": rss_after,
                   "killed_at": killed_at, "presence_rows": presence_rows,
                   "rows_cleared_after": rows_cleared_after}
        return _report(summary, tallies, context)
    finally:
        # servers first (SIGKILL): a polite shutdown would have every disconnect broadcast presence to
        # everyone still in the room, which measures nothing and takes long at 1,000 participants
        for server in servers:
            server.kill9()
            server.stop()
            if keep_logs:
                print(f"    server {server.name} log: {server.log_path}")
            else:
                server.remove_log()
        stop.set()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()


def _get(results, timeout: float, what: str):
    import queue

    try:
        return results.get(timeout=timeout)
    except queue.Empty:
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}") from None


def _summarise(tallies: list[Tally], joined: int) -> dict:
    """Acknowledged messages against what every joined participant received."""
    acked: dict[int, tuple[int, int]] = {}
    for tally in tallies:
        acked.update(tally.acked)
    received = missing = 0
    for tally in tallies:
        for numbers in tally.received.values():
            got = set(numbers) & acked.keys()
            received += len(got)
            missing += len(acked) - len(got)
    latencies = [x for t in tallies for x in t.latencies]
    expected = len(acked) * joined
    return {"acked": acked, "expected": expected, "received": received, "lost": expected - received,
            "missing_acked": missing, "latencies": latencies,
            "p50_ms": 1000 * _percentile(latencies, 0.50), "p95_ms": 1000 * _percentile(latencies, 0.95),
            "p99_ms": 1000 * _percentile(latencies, 0.99)}


def _cpu(phase: dict) -> str:
    return " ".join(f"{name}={100 * v:.0f}%" for name, v in phase["servers"].items())


def _report(summary: dict, tallies: list[Tally], run: dict) -> list[str]:
    """The printed lines of one run: the headline figures first, then what explains them."""
    duplicates = sum(1 for t in tallies for seqs in t.delivered_seq.values() if len(seqs) > 1)
    errors = [e for t in tallies for e in t.send_errors]
    join_failures = [e for t in run["ready"] for e in t.join_failures]
    send_wall = max(t.wall_seconds for t in tallies)
    client_cpu = sum(t.cpu_seconds for t in tallies) / max(1e-9, send_wall)
    per_server, rss_before, rss_after = run["per_server"], run["rss_before"], run["rss_after"]
    rss = {name: (rss_after[name] - rss_before[name]) / max(1, per_server[name]) for name in rss_before}
    presence_messages = sum(t.presence_messages for t in run["ready"])
    presence_bytes = sum(t.presence_people * t.presence_bytes_per_person for t in run["ready"])
    join, send = run["join_phase"], run["send_phase"]
    join_seconds = max(t.join_seconds for t in run["ready"])
    settle_seconds = max(t.settle_seconds for t in run["ready"])
    settled = ("still arriving when the wait ended" if settle_seconds >= run["settle_max"] - 0.5
               else "went on arriving for")
    lines = []
    if run["killed_at"] is None:
        lines.append(f"participants={run['participants']:<5} sent={len(summary['acked'])}/{run['messages']}  "
                     f"deliveries={summary['received']}/{summary['expected']} lost={summary['lost']}  "
                     f"p50={summary['p50_ms']:.0f} ms p95={summary['p95_ms']:.0f} ms p99={summary['p99_ms']:.0f} ms  "
                     f"server RSS per connection: A={rss['A']:.0f} KB B={rss['B']:.0f} KB  "
                     f"client CPU={100 * client_cpu:.0f}%")
    else:
        lines.append(f"fault case: participants={run['participants']} ({per_server['A']} on A, "
                     f"{per_server['B']} on B); "
                     f"A killed with SIGKILL {run['killed_at']:.1f} s into sending; its clients fail over to B")
    lines.append(f"    machine before the run: {100 * run['background']:.0f}% busy (other work on the machine)")
    lines.append(f"    joining: {run['joined']}/{run['participants']} joined in {join_seconds:.1f} s "
                 f"(A {per_server['A']}, "
                 f"B {per_server['B']}), presence broadcasts {settled} {settle_seconds:.1f} s more: "
                 f"{presence_messages} presence messages, ~{presence_bytes / 1e6:.0f} MB of JSON; "
                 f"server CPU {_cpu(join)}, machine {100 * join['machine']:.0f}% busy")
    if run["killed_at"] is None:
        lines.append(f"    server RSS before/after joining: A {rss_before['A'] // 1024}->{rss_after['A'] // 1024} MB, "
                     f"B {rss_before['B'] // 1024}->{rss_after['B'] // 1024} MB")
    drops: dict[str, int] = {}
    for tally in tallies:
        for reason, n in tally.disconnects.items():
            drops[reason] = drops.get(reason, 0) + n
    if drops and run["killed_at"] is None:
        causes: dict[str, int] = {}
        for tally in tallies:
            for cause, n in tally.connection_causes.items():
                causes[cause] = causes.get(cause, 0) + n
        lines.append(f"    connections dropped by a server (each failed over and re-joined): {sum(drops.values())} "
                     f"({', '.join(f'{r}: {n}' for r, n in sorted(drops.items()))}); python-engineio says: "
                     + "; ".join(f"{cause!r} x{n}" for cause, n in sorted(causes.items(), key=lambda x: -x[1])))
    lines.append(f"    sending: server CPU {_cpu(send)}; {run['workers']} client process(es) at "
                 f"{100 * client_cpu:.0f}% "
                 f"of one core in all; machine {100 * send['machine']:.0f}% busy of {os.cpu_count()} cores; "
                 f"duplicates={duplicates} out-of-order={sum(t.out_of_order for t in tallies)}")
    if run["killed_at"] is None and run["participants"] == TARGET_PARTICIPANTS:
        met = summary["p95_ms"] <= TARGET_P95_MS and summary["lost"] == 0 and run["joined"] == run["participants"]
        lines.append(f"    target (500 participants: p95 <= {TARGET_P95_MS:.0f} ms, nothing lost): "
                     f"{'met' if met else 'NOT met'}")
    if run["killed_at"] is not None:
        failover = [x for t in tallies for x in t.failover_seconds]
        lines.append(f"    sent={run['messages']} acknowledged={len(summary['acked'])} (resent after the crash "
                     f"with the same "
                     f"client id: {sum(t.resent for t in tallies)}); failed over: "
                     f"{sum(t.failovers for t in tallies)}/{per_server['A']}"
                     + (f" in {min(failover):.2f}-{max(failover):.2f} s" if failover else "")
                     + f"; events replayed on re-join: {sum(t.replayed for t in tallies)}")
        lines.append(f"    gap repairs: {sum(t.repairs for t in tallies)} re-joins recovered "
                     f"{sum(t.repaired for t in tallies)} events; "
                     f"deliveries={summary['received']}/{summary['expected']}; live p50={summary['p50_ms']:.0f} ms "
                     f"p95={summary['p95_ms']:.0f} ms (from the first attempt to send, so a "
                     f"sender's wait for its failover counts)")
        lines.append(f"    acknowledged-but-missing (acknowledged message x participant, never received live or "
                     f"by replay) = {summary['missing_acked']}")
        cleared = run["rows_cleared_after"]
        lines.append(f"    presence rows in the database afterwards: {run['presence_rows']} for {run['joined']} "
                     f"connected participants; "
                     + (f"the killed process's rows were gone when checked {cleared:.1f} s after the kill" if cleared is not None
                        else "the killed process's rows were still there 30 s after the run")
                     + " (removed when its heartbeat key expires: LIVE_SERVER_TTL 15 s, beat 5 s)")
        for failure in [x for t in tallies for x in t.failover_failures][:5]:
            lines.append(f"    failover failed: {failure}")
    for error in join_failures[:5]:
        lines.append(f"    join failed: {error}")
    if len(join_failures) > 5:
        lines.append(f"    ... {len(join_failures) - 5} more join failures")
    for error in errors[:5]:
        lines.append(f"    send error: {error}")
    if len(errors) > 5:
        lines.append(f"    ... {len(errors) - 5} more send errors")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", default="100,500,1000",
                        help="comma-separated room sizes (default 100,500,1000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="sending time per size (default 20)")
    parser.add_argument("--rate", type=float, default=10.0, help="chat messages a second in the room (default 10)")
    parser.add_argument("--senders", type=int, default=20, help="participants who send (default 20)")
    parser.add_argument("--clients-per-process", type=int, default=500,
                        help="most clients one asyncio client process holds (default 500)")
    parser.add_argument("--join-concurrency", type=int, default=20,
                        help="joins in flight at once per client process (default 20)")
    parser.add_argument("--fault", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the fault case (default on)")
    parser.add_argument("--fault-only", action="store_true", help="run only the fault case")
    parser.add_argument("--fault-participants", type=int, default=100)
    parser.add_argument("--fault-seconds", type=float, default=20.0)
    parser.add_argument("--gap-grace", type=float, default=2.0,
                        help="fault case: seconds a hole in the sequence may last before a client re-joins "
                             "(default 2; the size runs never re-join, so what did not arrive live is lost)")
    parser.add_argument("--presence", choices=("app", "light"), default="app",
                        help="app: serve wsgi:app as shipped (default); light: a diagnostic server "
                             "(bench/live_support.py) whose presence broadcasts carry counts only")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs and print where")
    parser.add_argument("--join-max", type=float, default=75.0,
                        help="participants not yet joined after this many seconds are left out (default 75)")
    parser.add_argument("--settle-max", type=float, default=45.0,
                        help="longest wait for the joining's presence broadcasts to stop (default 45 s)")
    parser.add_argument("--drain", type=float, default=15.0,
                        help="seconds after the last send a message may still arrive (default 15)")
    args = parser.parse_args()

    # SIGTERM (a timeout, a CI runner) ends the run through the finally blocks: servers stopped, schema dropped
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sizes = [] if args.fault_only else [int(x) for x in args.participants.split(",") if x.strip()]
    fault = args.fault or args.fault_only
    problem = live_support.services_problem()
    if problem:
        print(f"live_room: {problem}", file=sys.stderr)
        return 2
    fds = _raise_fd_limit()
    app_module = "wsgi:app" if args.presence == "app" else "bench.live_support:app"
    largest = max(sizes + ([args.fault_participants] if fault else []))
    print(f"live_room: room sizes {sizes} ({args.seconds:g} s each)"
          + (f" and the fault case ({args.fault_participants} participants, {args.fault_seconds:g} s)" if fault else "")
          + f"; {args.rate:g} msg/s from {args.senders} senders; 2 server processes "
          f"(gunicorn -k gevent -w 1 {app_module}) + Redis + PostgreSQL on {os.cpu_count()} cores; "
          f"file descriptors {fds}", flush=True)
    if args.presence == "light":
        print("DIAGNOSTIC, not the app as shipped: presence broadcasts carry counts only, not the list of "
              "people (bench/live_support.py)", flush=True)
    started = time.monotonic()
    schema = live_support.Schema(SCHEMA)
    try:
        schema.create()
        seeded = live_support.seed(schema.url, crowd=largest, rooms=len(sizes) + 1)
        print(f"seeded {largest} participants and {len(sizes) + 1} rooms in {time.monotonic() - started:.1f} s",
              flush=True)
        common = {"schema": schema, "seeded": seeded, "rate": args.rate, "senders": args.senders,
                  "clients_per_process": args.clients_per_process, "join_concurrency": args.join_concurrency,
                  "join_max": args.join_max, "settle_max": args.settle_max, "drain": args.drain,
                  "keep_logs": args.keep_logs, "app_module": app_module}
        runs = [(f"participants={size}", {"label": f"r{n}-", "room_index": n, "participants": size,
                                          "seconds": args.seconds, "fault_after": None, "gap_grace": None})
                for n, size in enumerate(sizes)]
        if fault:
            runs.append(("fault case", {"label": "f-", "room_index": len(sizes),
                                        "participants": args.fault_participants, "seconds": args.fault_seconds,
                                        "fault_after": 0.4 * args.fault_seconds, "gap_grace": args.gap_grace}))
        for name, options in runs:
            try:
                lines = run_room(**options, **common)
            except Exception as exc:  # one size failing must not hide the others' figures
                print(f"{name}: the run failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            if args.presence == "light":
                lines[0] = "DIAGNOSTIC (light presence) " + lines[0]
            print("\n".join(lines), flush=True)
    finally:
        schema.drop()
    print(f"total {time.monotonic() - started:.0f} s; schema {SCHEMA} dropped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
