# A receiver of mesh.flow.v1.Flow/Exchange on Python's grpcio with the server's defaults
# (no options: gRPC's default keepalive enforcement). It answers Open with Opened and a
# Credit, acknowledges every batch and gives its credit back. Prints
# "receiver listening on 127.0.0.1:<port>" once it serves; SIGTERM stops it.
import atexit, shutil, signal, sys, tempfile, threading
from concurrent import futures
from pathlib import Path

import grpc
from grpc_tools import protoc

proto = Path(__file__).resolve().parents[2] / 'proto'
generated = tempfile.mkdtemp(prefix='flow-proto-')
atexit.register(shutil.rmtree, generated, True)
if protoc.main(['protoc', f'-I{proto}', f'--python_out={generated}', f'--grpc_python_out={generated}',
                str(proto / 'mesh/flow/v1/flow.proto'), str(proto / 'mesh/events/v1/events.proto')]) != 0:
    sys.exit('protoc failed')
sys.path.insert(0, generated)
from mesh.flow.v1 import flow_pb2 as flow, flow_pb2_grpc as flow_grpc  # noqa: E402

CAPACITY = 1000


class Receiver(flow_grpc.FlowServicer):
    def Exchange(self, requests, context):
        first = next(requests, None)
        if first is None or not first.HasField('open'):
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, 'the first frame must be Open')
        yield flow.Downstream(opened=flow.Opened(receiver='python-receiver', protocol_version=1,
                                                 max_batch_events=500, max_batch_bytes=4 << 20))
        yield flow.Downstream(credit=flow.Credit(events=CAPACITY))
        received = 0
        for frame in requests:
            if frame.HasField('close'):
                return
            received += len(frame.batch.events)
            yield flow.Downstream(ack=flow.Ack(offset=received))
            yield flow.Downstream(credit=flow.Credit(events=len(frame.batch.events)))


server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
flow_grpc.add_FlowServicer_to_server(Receiver(), server)
port = server.add_insecure_port('127.0.0.1:0')
server.start()
print(f'receiver listening on 127.0.0.1:{port}', flush=True)
stopped = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stopped.set())
stopped.wait()
server.stop(1).wait()
