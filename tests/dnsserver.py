"""A real name server on loopback for tests: UDP and TCP on one port, answering from
a zone the test writes. Names listed as ``silent`` never get an answer (timeouts);
``servfail`` names get SERVFAIL; other names under no record get NXDOMAIN, names with
records of another type get an empty answer (NODATA)."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Record = tuple[str, str, str] | tuple[str, str, str, int]  # name, type, rdata[, ttl]


@dataclass
class Zone:
    records: dict[tuple[dns.name.Name, int], list[tuple[int, dns.rdata.Rdata]]] = field(default_factory=dict)
    names: set[dns.name.Name] = field(default_factory=set)
    silent: set[dns.name.Name] = field(default_factory=set)
    servfail: set[dns.name.Name] = field(default_factory=set)
    queries: Counter[tuple[str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, rdtype: str, rdata: str, ttl: int = 300) -> None:
        owner = dns.name.from_text(name)
        kind = dns.rdatatype.from_text(rdtype)
        value = dns.rdata.from_text(dns.rdataclass.IN, kind, rdata, origin=dns.name.root,
                                    relativize=False)
        with self.lock:
            self.records.setdefault((owner, kind), []).append((ttl, value))
            self.names.add(owner)

    def add_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.add(*record)

    def answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return None
        if not query.question:
            return None
        question = query.question[0]
        name, kind = question.name, question.rdtype
        with self.lock:
            self.queries[(name.to_text(omit_final_dot=True).lower(), dns.rdatatype.to_text(kind))] += 1
            if name in self.silent:
                return None
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            if name in self.servfail:
                response.set_rcode(dns.rcode.SERVFAIL)
                return response.to_wire()
            found = self.records.get((name, kind), [])
            cname = self.records.get((name, dns.rdatatype.CNAME), [])
            if found:
                rrset = dns.rrset.RRset(name, dns.rdataclass.IN, kind)
                for ttl, value in found:
                    rrset.add(value, ttl)
                response.answer.append(rrset)
            elif cname and kind != dns.rdatatype.CNAME:
                rrset = dns.rrset.RRset(name, dns.rdataclass.IN, dns.rdatatype.CNAME)
                for ttl, value in cname:
                    rrset.add(value, ttl)
                response.answer.append(rrset)
            elif not any(n == name or n.is_subdomain(name) for n in self.names):
                response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    def count(self, name: str, rdtype: str | None = None) -> int:
        with self.lock:
            return sum(n for (qname, qtype), n in self.queries.items()
                       if qname == name.lower() and rdtype in (None, qtype))

    def total(self) -> int:
        with self.lock:
            return sum(self.queries.values())


class _UDP(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True


class _TCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


Handler = type[socketserver.BaseRequestHandler]


def _handlers(zone: Zone) -> tuple[Handler, Handler]:
    class UDPHandler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            reply = zone.answer(data)
            if reply is not None:
                sock.sendto(reply, self.client_address)

    class TCPHandler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            while True:
                head = conn.recv(2)
                if len(head) < 2:
                    return
                size = int.from_bytes(head, "big")
                data = b""
                while len(data) < size:
                    chunk = conn.recv(size - len(data))
                    if not chunk:
                        return
                    data += chunk
                reply = zone.answer(data)
                if reply is None:
                    return
                conn.sendall(len(reply).to_bytes(2, "big") + reply)

    return UDPHandler, TCPHandler


@contextmanager
def dns_server(records: Iterable[Record] = (), *, silent: Iterable[str] = (),
               servfail: Iterable[str] = ()) -> Iterator[tuple[Zone, str]]:
    """Yield the zone (add more records any time) and the server as 'host:port'."""
    zone = Zone()
    zone.add_all(records)
    zone.silent = {dns.name.from_text(n) for n in silent}
    zone.servfail = {dns.name.from_text(n) for n in servfail}
    udp_handler, tcp_handler = _handlers(zone)
    for _ in range(20):
        udp = _UDP(("127.0.0.1", 0), udp_handler)
        port = udp.server_address[1]
        try:
            tcp = _TCP(("127.0.0.1", port), tcp_handler)
            break
        except OSError:
            udp.server_close()
    else:
        raise RuntimeError("no free port for UDP and TCP together")
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
               for s in (udp, tcp)]
    for t in threads:
        t.start()
    try:
        yield zone, f"127.0.0.1:{port}"
    finally:
        for s in (udp, tcp):
            s.shutdown()
            s.server_close()
