"""A producer on the gateway's gRPC ingest in Python, written against proto/ alone (Debian's
python3-grpcio, python3-grpc-tools and python3-protobuf).

It streams EVENTS generated events over one mesh.flow.v1.Flow/Exchange link: never more than the
credit granted (Credit frames minus events sent), batches cut to Opened's max_batch_events and
max_batch_bytes, offsets consecutive from 0; then it waits for the Ack covering everything, sends
Close and expects OK. Where an HTTP client is answered 429 when the mesh is full, this one is
simply granted less credit, and waits for it.
Run from the project root: /usr/bin/python3 examples/python-producer/producer.py
"""
import asyncio
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import grpc
from grpc_tools import protoc

# The message classes, generated from proto/ at start into a temporary folder.
proto = Path(__file__).resolve().parents[2] / 'proto'
generated = tempfile.mkdtemp(prefix='python-producer-')
try:
    if protoc.main(['protoc', f'-I{proto}', f'--python_out={generated}',
                    str(proto / 'mesh/flow/v1/flow.proto'), str(proto / 'mesh/events/v1/events.proto')]) != 0:
        sys.exit('producer: protoc failed')
    sys.path.insert(0, generated)
    from mesh.events.v1.events_pb2 import Event
    from mesh.flow.v1.flow_pb2 import Batch, Close, Downstream, Open, Upstream
finally:
    shutil.rmtree(generated)

KINDS = ['view', 'click', 'cart', 'purchase']
SEEDED_USERS = 1000
SEEDED_PRODUCTS = 500


def read_settings():
    problems = []

    def integer(name, default, low, high):
        text = os.environ.get(name) or str(default)
        if not re.fullmatch('[0-9]+', text) or not low <= int(text) <= high:
            problems.append(f'{name} must be an integer from {low} to {high}, not "{text}"')
            return default
        return int(text)

    address = os.environ.get('INGEST_ADDR') or '127.0.0.1:50050'
    port = re.fullmatch(r'\S+:(\d+)', address)
    if not port or not 1 <= int(port.group(1)) <= 65535:
        problems.append(f'INGEST_ADDR must be host:port, not "{address}"')
    token = os.environ.get('INGEST_TOKEN') or None
    if token is not None and not re.fullmatch(r'\S+', token):
        problems.append("INGEST_TOKEN must be one word: the token of one of the gateway's GATEWAY_API_KEYS (name:token)")
    priority_class = os.environ.get('PRIORITY_CLASS') or None
    if priority_class is not None and not re.fullmatch(r'[a-z][a-z0-9_-]{0,31}', priority_class):
        problems.append(f'PRIORITY_CLASS must be a class name (a-z, then up to 31 of a-z 0-9 _ -), not "{priority_class}"')
    id_prefix = os.environ.get('ID_PREFIX') or f'python-producer-{secrets.token_hex(4)}'
    if not re.fullmatch(r'[A-Za-z0-9._-]{1,64}', id_prefix):
        problems.append('ID_PREFIX must be 1..64 of A-Z a-z 0-9 . _ -')
    events = integer('EVENTS', 10000, 1, 100_000_000)
    batch = integer('BATCH', 500, 1, 100_000)
    if problems:
        for problem in problems:
            print(f'producer: {problem}', file=sys.stderr)
        sys.exit(2)
    return address, token, priority_class, id_prefix, events, batch


ADDRESS, TOKEN, PRIORITY_CLASS, ID_PREFIX, EVENTS, BATCH = read_settings()
# A batch's class is that of its lowest event: asking for a kind's class, send only that kind.
ONLY_KIND = PRIORITY_CLASS if PRIORITY_CLASS in KINDS else None


def generate(start, count):
    return [Event(id=f'{ID_PREFIX}-{start + i + 1}', user_id=f'user-{random.randint(1, SEEDED_USERS)}',
                  item_id=f'item-{random.randint(1, SEEDED_PRODUCTS)}',
                  kind=ONLY_KIND or ('view' if random.random() < 0.7 else random.choice(KINDS[1:])),
                  event_time_ms=int(time.time() * 1000), price_cents=100 * random.randint(1, 200) - 1)
            for i in range(count)]


class Link:
    """What this producer knows of its link: the limits, the credit, the acknowledgements."""

    def __init__(self):
        self.limits = None      # Opened's (max_batch_events, max_batch_bytes)
        self.credit = 0         # granted by Credit frames and not yet used
        self.sent = 0           # events sent, so the offset of the next batch
        self.acknowledged = 0
        self.batches = 0
        self.credit_wait = 0.0  # seconds spent with the link open and no credit
        self.changed = asyncio.Event()

    async def read(self, call):
        """Reads the gateway's frames until the call ends (its status says how)."""
        try:
            while (frame := await call.read()) is not grpc.aio.EOF:
                if frame.HasField('opened'):
                    self.limits = (frame.opened.max_batch_events, frame.opened.max_batch_bytes)
                    print(f'opened: "{frame.opened.receiver}" takes at most {self.limits[0]} events and {self.limits[1]} bytes a batch', flush=True)
                elif frame.HasField('credit'):
                    self.credit += frame.credit.events
                elif frame.HasField('ack'):
                    self.acknowledged = frame.ack.offset
                self.changed.set()
        except grpc.aio.AioRpcError:
            pass
        finally:
            self.changed.set()

    async def wait(self, ready):
        while not ready():
            self.changed.clear()
            await self.changed.wait()


async def report(link):
    last = 0
    while True:
        await asyncio.sleep(1)
        print(f'sent={link.sent} acknowledged={link.acknowledged} acknowledged_per_s={link.acknowledged - last} credit={link.credit}', flush=True)
        last = link.acknowledged


async def produce(call, link, ended):
    """Sends every event within credit and limits, waits for the Ack of the last one, then closes."""
    await call.write(Upstream(open=Open(link='producer->gateway', sender='python-producer', protocol_version=1)))
    while link.sent < EVENTS:
        waited = time.monotonic()
        was_open = link.limits is not None
        await link.wait(lambda: ended.done() or (link.limits and link.credit > 0))
        if ended.done():
            return
        if was_open:
            link.credit_wait += time.monotonic() - waited
        # Within credit (rule 2) and Opened's limits (rule 9), offsets continuing from 0 (rule 5).
        max_events, max_bytes = link.limits
        events = generate(link.sent, min(link.credit, max_events, BATCH, EVENTS - link.sent))
        frame = Upstream(batch=Batch(offset=link.sent, events=events))
        while frame.ByteSize() > max_bytes and len(events) > 1:
            events = events[:(len(events) + 1) // 2]
            frame = Upstream(batch=Batch(offset=link.sent, events=events))
        link.credit -= len(events)
        link.sent += len(events)
        link.batches += 1
        await call.write(frame)
    await link.wait(lambda: ended.done() or link.acknowledged >= link.sent)
    if not ended.done():
        await call.write(Upstream(close=Close(reason='python-producer finished')))
        await call.done_writing()


async def main():
    metadata = []
    if TOKEN:
        metadata.append(('authorization', f'Bearer {TOKEN}'))
    if PRIORITY_CLASS:
        metadata.append(('x-priority-class', PRIORITY_CLASS))
    print(f'python-producer: {EVENTS} events (ids {ID_PREFIX}-1..{EVENTS}) to {ADDRESS}'
          f'{f", class {PRIORITY_CLASS}" if PRIORITY_CLASS else ""}, at most {BATCH} a batch', flush=True)
    started = time.monotonic()
    async with grpc.aio.insecure_channel(ADDRESS) as channel:
        exchange = channel.stream_stream('/mesh.flow.v1.Flow/Exchange', request_serializer=Upstream.SerializeToString,
                                         response_deserializer=Downstream.FromString)
        call = exchange(metadata=metadata)
        link = Link()
        ended = asyncio.create_task(link.read(call))
        reporter = asyncio.create_task(report(link))
        try:
            await produce(call, link, ended)
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            pass  # the call ended while writing: its status says why
        await ended
        reporter.cancel()
        code, details = await call.code(), await call.details()
    seconds = time.monotonic() - started
    if code == grpc.StatusCode.OK and link.acknowledged == EVENTS:
        print(f'done: {link.acknowledged} events acknowledged in {seconds:.1f} s ({round(link.acknowledged / seconds)} events/s), '
              f'{link.batches} batches, {round(link.credit_wait * 1000)} ms waiting for credit', flush=True)
        return 0
    print(f'link ended early: {code.name} {details} ({link.sent} events sent, {link.acknowledged} acknowledged)', file=sys.stderr)
    return 1


sys.exit(asyncio.run(main()))
