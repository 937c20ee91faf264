"""An enrichment stage in Python, written against proto/ alone (Debian's python3-grpcio,
python3-grpc-tools, python3-protobuf and python3-redis).

It serves mesh.flow.v1.Flow/Exchange to the source and dials join with the same call: credit
counted both ways, batches cut to join's credit and limits, join's acknowledgements passed back
upstream in each upstream link's own offsets, and every upstream link with events still
unacknowledged reset when the link to join is lost, so the source re-delivers them.
Run from the project root: /usr/bin/python3 examples/python-enrichment/enrichment.py
"""
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from collections import deque
from pathlib import Path

import grpc
import redis.asyncio as aioredis
import redis.exceptions
from grpc_tools import protoc

# The message classes, generated from proto/ at start into a temporary folder.
proto = Path(__file__).resolve().parents[2] / 'proto'
generated = tempfile.mkdtemp(prefix='python-enrichment-')
try:
    if protoc.main(['protoc', f'-I{proto}', f'--python_out={generated}',
                    str(proto / 'mesh/flow/v1/flow.proto'), str(proto / 'mesh/events/v1/events.proto')]) != 0:
        sys.exit('enrichment: protoc failed')
    sys.path.insert(0, generated)
    from mesh.events.v1.events_pb2 import DeadLetter, Profile
    from mesh.flow.v1.flow_pb2 import Ack, Batch, Credit, Downstream, Open, Opened, Upstream
finally:
    shutil.rmtree(generated)


def setting(name, default):
    return os.environ.get(name) or default


LISTEN_ADDR = setting('LISTEN_ADDR', '127.0.0.1:50052')
JOIN_ADDR = setting('JOIN_ADDR', '127.0.0.1:50053')
KEY_PREFIX = setting('REDIS_KEY_PREFIX', 'mesh:')
CAPACITY = int(setting('LINK_CAPACITY', '4096'))
MAX_BATCH_EVENTS = int(setting('MAX_BATCH_EVENTS', '500'))
MAX_BATCH_BYTES = int(setting('MAX_BATCH_BYTES', str(4 << 20)))
CHUNK = max(1, CAPACITY // 4)
OPEN_TIMEOUT_S = 2
MAX_NAME_BYTES = 256
if ',' in JOIN_ADDR:
    sys.exit('enrichment: JOIN_ADDR must be one host:port (this example does not route over replicas)')

Code = grpc.StatusCode
store = aioredis.from_url(setting('REDIS_URL', 'redis://127.0.0.1:6379'), decode_responses=True)
links = set()
work = asyncio.Queue()


class Refused(Exception):
    """The upstream broke the contract: end its call with this status."""


class UpstreamLink:
    """One link from the source, as this stage receives it."""

    def __init__(self):
        self.out = asyncio.Queue()  # frames to write; a (code, details) pair aborts, None ends with OK
        self.received = 0           # events received, so the offset the next batch must carry
        self.outstanding = 0        # credit granted and not yet used
        self.freed = 0              # events passed on to join whose space is not yet granted back
        self.acked = 0
        self.closing = False
        self.alive = True

    def grant(self, events):
        self.outstanding += events
        self.out.put_nowait(Downstream(credit=Credit(events=events)))

    def forwarded(self, events):
        self.freed += events
        if self.freed >= CHUNK:
            self.grant(self.freed)
            self.freed = 0

    def acknowledged(self, end):
        self.acked = end
        self.out.put_nowait(Downstream(ack=Ack(offset=end)))
        if self.acked == self.received:  # nothing left here or downstream: grant back the rest, finish a Close
            if self.freed:
                self.grant(self.freed)
                self.freed = 0
            if self.closing:
                self.out.put_nowait(None)

    def fail(self, code, details):
        self.alive = False
        self.out.put_nowait((code, details))


def decode(data):
    try:
        frame = Upstream.FromString(data)
    except Exception:
        raise Refused(Code.INVALID_ARGUMENT, 'a frame that does not decode as Upstream')
    if frame.WhichOneof('frame') is None:
        raise Refused(Code.INVALID_ARGUMENT, 'a frame must carry open, batch or close')
    return frame


async def read_upstream(link, requests):
    frames = aiter(requests)
    try:
        try:
            first = decode(await asyncio.wait_for(anext(frames), OPEN_TIMEOUT_S))
        except asyncio.TimeoutError:
            raise Refused(Code.DEADLINE_EXCEEDED, f'no Open within {OPEN_TIMEOUT_S} s')
        if not first.HasField('open'):
            raise Refused(Code.FAILED_PRECONDITION, 'the first frame must be Open')
        if first.open.protocol_version != 1:
            raise Refused(Code.FAILED_PRECONDITION, f'protocol version {first.open.protocol_version} is not 1')
        if not first.open.link or max(len(first.open.link.encode()), len(first.open.sender.encode())) > MAX_NAME_BYTES:
            raise Refused(Code.INVALID_ARGUMENT, f'the link must be named, in at most {MAX_NAME_BYTES} bytes, and the sender too')
        link.out.put_nowait(Downstream(opened=Opened(receiver='python-enrichment', protocol_version=1,
                                                     max_batch_events=MAX_BATCH_EVENTS, max_batch_bytes=MAX_BATCH_BYTES)))
        link.grant(CAPACITY)
        async for data in frames:
            frame = decode(data)
            if frame.HasField('open'):
                raise Refused(Code.FAILED_PRECONDITION, 'a second Open')
            if link.closing:
                raise Refused(Code.FAILED_PRECONDITION, 'a frame after Close')
            if frame.HasField('close'):
                link.closing = True
                if link.acked == link.received:
                    link.out.put_nowait(None)
                continue
            batch, count = frame.batch, len(frame.batch.events)
            if count == 0:
                raise Refused(Code.INVALID_ARGUMENT, 'a Batch must carry at least one event')
            if count > MAX_BATCH_EVENTS:
                raise Refused(Code.RESOURCE_EXHAUSTED, f'a Batch of {count} events is over the limit of {MAX_BATCH_EVENTS}')
            if batch.offset != link.received:
                raise Refused(Code.INVALID_ARGUMENT, f'offset {batch.offset} does not continue the link at {link.received}')
            if count > link.outstanding:
                raise Refused(Code.RESOURCE_EXHAUSTED, f'{count} events with {link.outstanding} granted')
            link.outstanding -= count
            link.received += count
            work.put_nowait((link, link.received, batch))
    except StopAsyncIteration:  # half-closed before Open
        pass
    except Refused as refusal:
        return link.fail(*refusal.args)
    link.closing = True  # a half-close means what Close means
    if link.acked == link.received:
        link.out.put_nowait(None)


async def exchange(requests, context):
    link = UpstreamLink()
    links.add(link)
    reader = asyncio.create_task(read_upstream(link, requests))
    try:
        while (item := await link.out.get()) is not None:
            if isinstance(item, tuple):
                await context.abort(*item)
            yield item
    finally:
        link.alive = False
        links.discard(link)
        reader.cancel()


class JoinLink:
    """The link to join: one call at a time, dialled again when it ends."""

    def __init__(self):
        self.channel = grpc.aio.insecure_channel(JOIN_ADDR)
        self.exchange = self.channel.stream_stream('/mesh.flow.v1.Flow/Exchange', request_serializer=Upstream.SerializeToString,
                                                   response_deserializer=Downstream.FromString)
        self.call = None         # set once join answered Opened
        self.credit = 0
        self.sent = 0
        self.limits = (1, 1)     # join's max_batch_events, max_batch_bytes
        self.pending = deque()   # (join offset after it, upstream link, upstream offset after it), one per batch passed on
        self.changed = asyncio.Event()

    async def run(self):
        last_failure = None
        while True:
            call = self.exchange()
            self.credit, self.sent = 0, 0
            try:
                await call.write(Upstream(open=Open(link='enrichment->join', sender='python-enrichment', protocol_version=1)))
                while (frame := await call.read()) is not grpc.aio.EOF:
                    self.on_frame(call, frame)
                failure = 'join ended the link'
            except grpc.aio.AioRpcError as error:
                failure = f'the link to join failed: {error.code().name} {error.details()}'
            if failure != last_failure or self.call is not None:
                print(f'enrichment: {failure}', file=sys.stderr)
            last_failure = failure
            self.call = None
            self.pending.clear()
            for link in list(links):  # what join had not acknowledged is lost: the source re-delivers it
                if link.received > link.acked:
                    link.fail(Code.UNAVAILABLE, 'the link to join was lost')
            self.changed.set()
            await asyncio.sleep(0.5)

    def on_frame(self, call, frame):
        if frame.HasField('opened'):
            self.limits = (frame.opened.max_batch_events, frame.opened.max_batch_bytes)
            self.call = call
        elif frame.HasField('credit'):
            self.credit += frame.credit.events
        elif frame.HasField('ack'):
            while self.pending and self.pending[0][0] <= frame.ack.offset:
                _, link, end = self.pending.popleft()
                if link.alive:
                    link.acknowledged(end)
        self.changed.set()

    async def send(self, link, end, batch):
        """Passes the batch on within join's credit and limits; drops it if its link failed meanwhile."""
        events, start = list(batch.events), 0
        while start < len(events):
            while link.alive and (self.call is None or self.credit == 0):
                self.changed.clear()
                await self.changed.wait()
            if not link.alive:
                return
            count = min(self.credit, self.limits[0], len(events) - start)
            while True:
                frame = Upstream(batch=Batch(offset=self.sent, events=events[start:start + count], trace_context=batch.trace_context))
                if count == 1 or frame.ByteSize() <= self.limits[1]:
                    break
                count = (count + 1) // 2
            self.credit -= count
            self.sent += count
            start += count
            try:
                await self.call.write(frame)
            except Exception:
                return  # the call ended: run() resets the upstream links
        self.pending.append((self.sent, link, end))
        link.forwarded(len(events))


async def lookup(user_ids):
    """One MGET; while Redis does not answer, hold (the credit stops, and pressure reaches the edge)."""
    while True:
        try:
            return dict(zip(user_ids, await store.mget([f'{KEY_PREFIX}profile:{user}' for user in user_ids])))
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            print(f'enrichment: redis: {error}; holding', file=sys.stderr)
            await asyncio.sleep(0.5)


def enrich(event, stored):
    if stored is None:
        return event.profile.CopyFrom(Profile(found=False))
    try:
        profile = json.loads(stored)
    except ValueError:
        return event.dead_letter.CopyFrom(DeadLetter(stage='enrichment', reason=f'the stored profile is not JSON (user {event.user_id})'))
    if not isinstance(profile, dict) or not isinstance(profile.get('segment'), str) or not isinstance(profile.get('country'), str):
        return event.dead_letter.CopyFrom(DeadLetter(stage='enrichment', reason=f'the stored profile lacks segment or country (user {event.user_id})'))
    event.profile.CopyFrom(Profile(found=True, segment=profile['segment'], country=profile['country']))


async def enrich_forever(join):
    while True:
        link, end, batch = await work.get()
        if not link.alive:
            continue
        live = [event for event in batch.events if not event.HasField('dead_letter')]  # dead letters pass untouched
        if live:
            profiles = await lookup(list(dict.fromkeys(event.user_id for event in live)))
            for event in live:
                enrich(event, profiles[event.user_id])
        await join.send(link, end, batch)


async def main():
    server = grpc.aio.server(options=[('grpc.max_receive_message_length', MAX_BATCH_BYTES)])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler('mesh.flow.v1.Flow', {
        # Frames are decoded here, so one that does not decode is refused like any other breach.
        'Exchange': grpc.stream_stream_rpc_method_handler(exchange, response_serializer=Downstream.SerializeToString),
    })])
    port = server.add_insecure_port(LISTEN_ADDR)
    await server.start()
    join = JoinLink()
    tasks = [asyncio.create_task(join.run()), asyncio.create_task(enrich_forever(join))]
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    print(f'enrichment listening on {LISTEN_ADDR.rsplit(":", 1)[0]}:{port}', flush=True)
    await stop.wait()
    await server.stop(1)
    for task in tasks:
        task.cancel()
    await join.channel.close()
    await store.close()


asyncio.run(main())
