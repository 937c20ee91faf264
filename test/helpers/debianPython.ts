/**
 * Debian's own Python, which has grpcio, grpc_tools and protobuf (tools/ensureTestTools.sh
 * installs them when missing). Tests that run a Python peer use this path, never `python3` from
 * PATH, which may be another Python without them.
 */
export const debianPython = '/usr/bin/python3';
