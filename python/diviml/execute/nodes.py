"""A run across servers: one node per server of the platform (docs/executor.md, "Across servers").

A node is one process on one server, started by the executor itself (--nnodes N --node-rank I
--rdzv-endpoint HOST:PORT) or by torchrun (--nproc_per_node 1; it reads GROUP_RANK, WORLD_SIZE,
MASTER_ADDR and MASTER_PORT). It forks the device processes of its server, which join one
torch.distributed group (gloo) with every other node's.

The nodes meet through a key-value store:
- started by the executor, node 0 serves it on --listen ADDR at the endpoint's port (StoreServer:
  a small request/reply protocol over TCP, length-prefixed bytes, no pickling), and every process
  of every node is its client (StoreClient, a torch.distributed Store). torch 1.13's TCPStore
  listens on every interface, which is why this one exists;
- under torchrun's static rendezvous, the store of torchrun's own agent (TCPStore as a client).

Through the store, the nodes check that they run the same job (digests of the graph, platform,
plan and model weights: a node that differs from node 0 is refused by name before any tensor
moves), beat every 0.25 s (a node silent for HEARTBEAT_S ends the run, named), say why a run
failed (the key `failed`: every node ends with that line), and hand their device processes'
results (JSON) to the node of the platform's host, which checks and reports.
"""
import ctypes
import fcntl
import hashlib
import json
import os
import signal
import socket
import struct
import threading
import time
from datetime import timedelta

import torch.distributed as dist

HEARTBEAT_S = 5.0  # a node that has not beaten for this long is taken for dead
BEAT_EVERY_S = 0.25
MAX_KEY = 4096
MAX_VALUE = 64 << 20
MAX_FIELDS = 1024


class NodeError(Exception):
    """Bad input across nodes (a refused node, a bad launch): one line, exit status 2."""


class NodeLost(Exception):
    """The run was lost: a node died or never arrived, or the run passed --timeout (exit 4)."""


def servers_of(platform):
    """The platform's servers, in the order of their first device in the file (default 'node0')."""
    out = []
    for d in platform.get("devices", []):
        s = d.get("server", "node0")
        if s not in out:
            out.append(s)
    return out


def interface_of(address):
    """The network interface that holds `address` (an IPv4 address or a name that resolves to one),
    for gloo, which binds its sockets to an interface (GLOO_SOCKET_IFNAME)."""
    try:
        ip = socket.gethostbyname(address)
    except OSError as e:
        raise NodeError(f"--listen {address}: cannot resolve it ({e})")
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _, name in socket.if_nameindex():
            try:
                got = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))  # SIOCGIFADDR
            except OSError:
                continue
            if socket.inet_ntoa(got[20:24]) == ip:
                return name
    finally:
        probe.close()
    raise NodeError(f"--listen {address}: no network interface of this machine has the address {ip}")


def die_with_parent():
    """In a forked device process: end when the node process that started it ends, however."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# --- The store: request = op byte, u32 field count, fields (u32 length + bytes); reply = status
# byte (0 ok, 1 timed out, 2 refused), then fields the same way.

def _send(sock, head, fields):
    parts = [head, struct.pack("!I", len(fields))]
    for f in fields:
        parts += [struct.pack("!I", len(f)), f]
    sock.sendall(b"".join(parts))


def _exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        got = sock.recv(min(n - len(buf), 1 << 20))
        if not got:
            raise ConnectionError("the connection closed")
        buf += got
    return bytes(buf)


def _receive(sock):
    head = _exact(sock, 1)
    count = struct.unpack("!I", _exact(sock, 4))[0]
    if count > MAX_FIELDS:
        raise ConnectionError(f"{count} fields in one message")
    fields = []
    for _ in range(count):
        n = struct.unpack("!I", _exact(sock, 4))[0]
        if n > MAX_VALUE:
            raise ConnectionError(f"a field of {n} bytes")
        fields.append(_exact(sock, n))
    return head, fields


def _b(value):
    return value.encode() if isinstance(value, str) else bytes(value)


class StoreServer:
    """The key-value store node 0 serves on ADDR:PORT for one run. Keys are at most MAX_KEY bytes,
    values MAX_VALUE; a malformed message closes its connection. Nothing is interpreted beyond
    bytes and decimal integers (for add)."""

    def __init__(self, address, port):
        self.data, self.cond = {}, threading.Condition()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((socket.gethostbyname(address), port))
        except OSError as e:
            self.sock.close()
            raise NodeError(f"--rdzv-endpoint: cannot listen on {address}:{port} ({e.strerror or e})")
        self.sock.listen(64)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            while True:
                op, f = _receive(conn)
                if any(len(k) > MAX_KEY for k in f[:1]):
                    raise ConnectionError("key too long")
                status, out = self._do(op, f)
                _send(conn, bytes([status]), out)
        except (ConnectionError, OSError, ValueError, IndexError, struct.error):
            pass
        finally:
            conn.close()

    def _do(self, op, f):
        d, cond = self.data, self.cond
        with cond:
            if op == b"S":
                d[f[0]] = f[1]
                cond.notify_all()
                return 0, []
            if op == b"G":  # key, timeout ms
                ok = cond.wait_for(lambda: f[0] in d, int(f[1]) / 1e3)
                return (0, [d[f[0]]]) if ok else (1, [])
            if op == b"A":
                v = int(d.get(f[0], b"0")) + int(f[1])
                d[f[0]] = str(v).encode()
                cond.notify_all()
                return 0, [d[f[0]]]
            if op == b"W":  # timeout ms, keys
                ok = cond.wait_for(lambda: all(k in d for k in f[1:]), int(f[0]) / 1e3)
                return (0, []) if ok else (1, [])
            if op == b"X":  # key, expected, desired
                cur = d.get(f[0])
                if (cur is None and f[1] == b"") or cur == f[1]:
                    d[f[0]] = f[2]
                    cond.notify_all()
                return 0, [d.get(f[0], f[1])]
            if op == b"D":
                gone = d.pop(f[0], None) is not None
                return 0, [b"1" if gone else b"0"]
            if op == b"N":
                return 0, [str(len(d)).encode()]
        raise ConnectionError(f"unknown request {op!r}")


class StoreClient(dist.Store):
    """A client of StoreServer, usable by torch.distributed (init_process_group(store=...)) and by
    the nodes. Connects, retrying, until `deadline` (time.monotonic)."""

    def __init__(self, host, port, timeout_s, deadline):
        super().__init__()
        self.where, self.timeout_s, self.lock = f"{host}:{port}", timeout_s, threading.Lock()
        while True:
            try:
                self.sock = socket.create_connection((host, port), timeout=5)
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise NodeLost(f"cannot reach the rendezvous at {self.where} (node 0) within --timeout: "
                                   f"{e.strerror or e}")
                time.sleep(0.1)
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _ask(self, op, *fields):
        with self.lock:
            _send(self.sock, op, [_b(x) for x in fields])
            status, out = _receive(self.sock)
        if status == b"\x01":
            raise RuntimeError(f"store at {self.where}: timed out after {self.timeout_s:g} s")
        return out

    def set(self, key, value):
        self._ask(b"S", key, value)

    def get(self, key):
        return self._ask(b"G", key, str(int(self.timeout_s * 1e3)))[0]

    def add(self, key, amount):
        return int(self._ask(b"A", key, str(int(amount)))[0])

    def wait(self, keys, timeout=None):
        ms = int((timeout.total_seconds() if isinstance(timeout, timedelta) else self.timeout_s) * 1e3)
        self._ask(b"W", str(ms), *keys)

    def compare_set(self, key, expected, desired):
        return self._ask(b"X", key, expected, desired)[0]

    def delete_key(self, key):
        return self._ask(b"D", key)[0] == b"1"

    def num_keys(self):
        return int(self._ask(b"N")[0])

    def set_timeout(self, timeout):
        self.timeout_s = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def add_node_arguments(ap):
    ap.add_argument("--nnodes", type=int, help="nodes of the run, one per server of the platform (default: every "
                                               "server on this machine, or torchrun's WORLD_SIZE)")
    ap.add_argument("--node-rank", type=int, help="this node: the index of its server among the platform's servers "
                                                  "(in the order of their first device)")
    ap.add_argument("--rdzv-endpoint", metavar="HOST:PORT", help="where node 0 serves the rendezvous and the "
                                                                  "others find it")
    ap.add_argument("--listen", metavar="ADDR", default="127.0.0.1",
                    help="the address this node's sockets bind to (default 127.0.0.1; a node on another server "
                         "needs the address the others reach it at)")


def launch_of(args):
    """(node, nnodes, host, port, agent_store) of a multi-node run, or None for a run of every
    server on this machine. From --nnodes/--node-rank/--rdzv-endpoint, or from torchrun's
    environment."""
    env = os.environ
    if args.nnodes is not None and args.nnodes > 1:
        if args.node_rank is None or not args.rdzv_endpoint:
            raise NodeError("--nnodes needs --node-rank and --rdzv-endpoint HOST:PORT")
        host, _, port = args.rdzv_endpoint.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise NodeError(f"--rdzv-endpoint '{args.rdzv_endpoint}' is not HOST:PORT")
        if not 0 <= args.node_rank < args.nnodes:
            raise NodeError(f"--node-rank {args.node_rank} is not in 0 .. {args.nnodes - 1}")
        return args.node_rank, args.nnodes, host, int(port), False
    if "TORCHELASTIC_RUN_ID" in env and "GROUP_RANK" in env:
        if env.get("LOCAL_WORLD_SIZE", "1") != "1":
            raise NodeError(f"torchrun started {env['LOCAL_WORLD_SIZE']} processes on this node; start it with "
                            "--nproc_per_node 1: the executor starts the node's device processes itself")
        nnodes = int(env.get("WORLD_SIZE", "1"))
        if nnodes == 1:
            return None
        return (int(env["GROUP_RANK"]), nnodes, env["MASTER_ADDR"], int(env["MASTER_PORT"]),
                env.get("TORCHELASTIC_USE_AGENT_STORE") == "True")
    if args.node_rank is not None or args.rdzv_endpoint:
        raise NodeError("--node-rank and --rdzv-endpoint need --nnodes N (N > 1)")
    return None


def digest_of(doc):
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def model_digest(model):
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


class Cluster:
    """This node's part in a run across servers: its server, its devices' ranks, the store."""

    def __init__(self, launch, platform, devices, args):
        self.node, self.nnodes, self.host, self.port, self.agent_store = launch
        self.servers = servers_of(platform)
        self.timeout_s = args.timeout
        self.deadline = time.monotonic() + args.timeout
        self.listen = args.listen
        if self.nnodes != len(self.servers):
            raise NodeError(f"--nnodes {self.nnodes}: platform '{platform.get('name')}' has {len(self.servers)} "
                            f"server(s) ({', '.join(self.servers)}); start one node per server")
        self.server = self.servers[self.node]
        server_of = {d.get("name"): d.get("server", "node0") for d in platform.get("devices", [])}
        self.node_of_rank = [self.servers.index(server_of[d]) for d in devices]
        self.local_ranks = [r for r, n in enumerate(self.node_of_rank) if n == self.node]
        self.report_node = self.node_of_rank[0]  # the host's node gathers and reports
        self.ifname = interface_of(self.listen)
        self.serving = None
        if self.node == 0 and not self.agent_store:
            try:
                same = socket.gethostbyname(self.host) == socket.gethostbyname(self.listen)
            except OSError as e:
                raise NodeError(f"--rdzv-endpoint {self.host}:{self.port}: cannot resolve it ({e})")
            if not same:
                raise NodeError(f"node 0 serves the rendezvous on its --listen address {self.listen}, but "
                                f"--rdzv-endpoint names {self.host}: give node 0 --listen {self.host}")
            self.serving = StoreServer(self.listen, self.port)
        self.store = self.connect()
        self.beats, self.stop = {}, threading.Event()
        self.beater = None

    def name(self, node):
        return f"node {node} (server '{self.servers[node]}')"

    def connect(self):
        """A new connection to the run's store (one per thread and per process)."""
        try:
            if self.agent_store:
                base = dist.TCPStore(self.host, self.port, None, False, timedelta(seconds=self.timeout_s))
                return dist.PrefixStore(f"diviml/{os.environ.get('TORCHELASTIC_RUN_ID', 'run')}/", base)
            return StoreClient(self.host, self.port, self.timeout_s, self.deadline)
        except RuntimeError as e:
            raise NodeLost(f"cannot reach torchrun's store at {self.host}:{self.port}: {e}")

    def rendezvous(self, rank, world, timeout_s):
        """init_process_group's arguments for a device process of this node (called after fork)."""
        die_with_parent()
        os.environ["GLOO_SOCKET_IFNAME"] = self.ifname
        self.device_store = self.connect()  # kept: the C++ store holds no reference to a Python store's object
        return {"store": dist.PrefixStore("pg/", self.device_store), "rank": rank, "world_size": world,
                "timeout": timedelta(seconds=timeout_s)}

    def _poll(self, key, count=False):
        """The value of `key`, or None if no node has set it (without waiting). Read with
        compare_set, which every store of torch 1.13 has: it leaves a missing key empty, and the
        values set here are never empty. A counter is read by adding 0."""
        try:
            if count:
                return self.store.add(key, 0)
            return self.store.compare_set(key, "", "") or None
        except (RuntimeError, OSError, ConnectionError) as e:
            raise NodeLost(f"{self.name(0)} is gone: the rendezvous at {self.host}:{self.port} closed ({e})")

    def fail(self, message, refused=False):
        """Says why the run failed, once for every node: a refused node is bad input (every node
        exits 2), anything else a lost run (4)."""
        try:
            self.store.compare_set("failed", "", ("refused\t" if refused else "lost\t") + message)
        except (RuntimeError, OSError, ConnectionError):
            pass

    def failure(self):
        """The run's failure as the exception every node raises, or None."""
        got = self._poll("failed")
        if got is None:
            return None
        kind, _, message = got.decode(errors="replace").partition("\t")
        return NodeError(message) if kind == "refused" else NodeLost(message)

    def join(self, digests):
        """Meet every node and compare its job with node 0's; raises NodeError for a node refused,
        NodeLost for one that never arrives."""
        mine = {"server": self.server, "digests": digests}
        try:
            self.store.set(f"node/{self.node}", json.dumps(mine))
        except (RuntimeError, OSError, ConnectionError) as e:
            raise NodeLost(f"{self.name(0)} is gone: the rendezvous at {self.host}:{self.port} closed ({e})")
        if self.node == 0:
            for j in range(1, self.nnodes):
                theirs = self.wait_for(f"node/{j}", f"{self.name(j)} never joined the rendezvous at "
                                                     f"{self.host}:{self.port} within --timeout {self.timeout_s:g} s")
                self.compare(j, json.loads(theirs), mine)
            self.store.set("go", "1")
        else:
            first = json.loads(self.wait_for("node/0", f"{self.name(0)} never joined the rendezvous at "
                                                       f"{self.host}:{self.port} within --timeout {self.timeout_s:g} s"))
            self.compare(self.node, mine, first)
            # Node 0 knows which node is missing: it speaks first, and this node later.
            self.wait_for("go", f"{self.name(0)} did not start the run within --timeout {self.timeout_s:g} s", 3.0)
        self.beater = threading.Thread(target=self._beat, daemon=True)
        self.beater.start()

    def compare(self, j, theirs, first):
        differ = [k for k in first["digests"] if theirs["digests"].get(k) != first["digests"][k]]
        if theirs.get("server") != self.servers[j]:
            differ.insert(0, "platform")
        if differ:
            k = differ[0]
            message = (f"{self.name(j)} was refused: its {' and '.join(differ)} differ{'s' if len(differ) == 1 else ''} "
                       f"from node 0's ({k} digest {theirs['digests'].get(k, '?')[:12]} against "
                       f"{first['digests'][k][:12]})")
            self.fail(message, refused=True)
            raise NodeError(message)

    def wait_for(self, key, why, grace=0.0):
        """The value of `key` once some node sets it; NodeLost on a failure or at the deadline
        (+ grace)."""
        while True:
            got = self._poll(key)
            if got is not None:
                return got
            failed = self.failure()
            if failed is not None:
                raise failed
            if time.monotonic() > self.deadline + grace:
                self.fail(why)
                raise NodeLost(why)
            time.sleep(0.05)

    def _beat(self):
        store = None
        try:
            store = self.connect()
            while not self.stop.is_set():
                store.add(f"beat/{self.node}", 1)
                self.stop.wait(BEAT_EVERY_S)
        except Exception:  # the store is gone: check() says so in the main thread
            pass
        finally:
            del store  # released in this thread, before the interpreter ends

    def check(self):
        """Raises NodeLost if the run has failed anywhere, a node stopped beating, or the deadline
        passed. Called by the node's supervising loop."""
        failed = self.failure()
        if failed is not None:
            raise failed
        now = time.monotonic()
        silent = min(HEARTBEAT_S, max(1.0, self.timeout_s / 2))
        for j in range(self.nnodes):
            if j == self.node:
                continue
            count = self._poll(f"beat/{j}", count=True)
            last = self.beats.get(j)
            if last is None or last[0] != count:
                self.beats[j] = (count, now)
            elif now - last[1] > silent:
                why = f"{self.name(j)} stopped: no heartbeat for {silent:g} s (it died or lost the network)"
                self.fail(why)
                raise NodeLost(why)
        if now > self.deadline:
            why = f"the run did not finish within --timeout {self.timeout_s:g} s"
            self.fail(why)
            raise NodeLost(why)

    def lost_locally(self, message):
        """A device process of this node failed: often because another node died first, so give
        that node's silence time to show before blaming this one."""
        end = time.monotonic() + min(HEARTBEAT_S, max(1.0, self.timeout_s / 2)) + 0.5
        while time.monotonic() < end:
            self.check()
            time.sleep(0.1)
        self.fail(message)
        raise NodeLost(message)

    def put(self, rank, result):
        self.store.set(f"result/{rank}", json.dumps(result))

    def gather(self, ranks):
        out = {}
        for r in ranks:
            while True:
                got = self._poll(f"result/{r}")
                if got is not None:
                    out[r] = json.loads(got)
                    break
                self.check()
                time.sleep(0.05)
        return out  # finish() says "done" to the others

    def finish(self):
        """Waits for the reporting node to have gathered every result, then leaves."""
        if self.node != self.report_node:
            while self._poll("done") is None:
                self.check()
                time.sleep(0.05)
        else:
            self.store.set("done", "1")
        self.close()

    def close(self):
        """Stops beating and says goodbye; node 0 serves the store a little longer, so that the
        others read the outcome (until every node's goodbye, or two seconds). Once."""
        if self.store is None:
            return
        self.stop.set()
        if self.beater is not None:
            # Joined, and the stores dropped here: a torch TCPStore client still alive in a
            # daemon thread at interpreter exit aborted the process once under torchrun
            # ("terminate called without an active exception").
            self.beater.join(timeout=2 * BEAT_EVERY_S + 1)
        try:
            self.store.set(f"bye/{self.node}", "1")
        except (RuntimeError, OSError, ConnectionError):
            pass
        if self.serving is not None:
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                try:
                    if all(self._poll(f"bye/{j}") for j in range(1, self.nnodes)):
                        break
                except NodeLost:
                    break
                time.sleep(0.05)
            self.serving.close()
        self.store = None
