#!/usr/bin/env python3
# sat_hostile.py GROUP:PORT TSI ROUNDS — a hostile packet stream for
# sat_recv.sh, written independently of ferry's C (from RFC 5651/5775/6726
# and RFC 6330's OTI layout), so it also checks the wire format from the
# outside.  Each round sends: datagrams of wrong lengths and random bytes;
# packets with absurd parameters (F over 1 TiB, T of 0, Z of 0, N of 2,
# SBN beyond Z, wrong LCT version, wrong codepoint); a foreign session;
# and forged file tables (FDT, TOI 0) — one listing a pack whose decoded
# bytes do not hash to what the table claims, one listing a pack whose name
# is not its hash, one naming a path outside any repository — followed by
# the symbols of those forged files.  Files of one source symbol need no
# RaptorQ encoder: with K = 1 the only source symbol is the file itself.
import hashlib
import os
import random
import socket
import struct
import sys
import time

T = 1436


def oti(f, t=T, z=1, n=1, al=4):
    return f.to_bytes(5, "big") + b"\0" + struct.pack(">HBHB", t, z, n, al)


def packet(tsi, toi, o, sbn, esi, symbol, fdt_instance=None, version=1, cp=6):
    ext = bytes([64, 4]) + o + b"\0\0"
    if fdt_instance is not None:
        ext += bytes([192]) + ((2 << 20) | fdt_instance).to_bytes(3, "big")
    hdr_words = (16 + len(ext)) // 4
    head = bytes([version << 4, 0x80 | 0x20, hdr_words, cp]) + struct.pack(">III", 0, tsi, toi)
    return head + ext + struct.pack(">I", (sbn << 24) | esi) + symbol


def pad(b):
    return b + b"\0" * (T - len(b))


def fdt(files):
    rows = "".join(
        '<File TOI="%d" Content-Location="%s" Content-Length="%d" ferry:sha256="%s"/>\n'
        % (toi, loc, length, sha) for toi, loc, length, sha in files)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<FDT-Instance xmlns="urn:IETF:metadata:2005:FLUTE:FDT" '
            'xmlns:ferry="urn:ferry:fdt:1" Expires="3980000000">\n'
            + rows + "</FDT-Instance>\n").encode()


def send_fdt(s, dest, tsi, instance, xml):
    assert len(xml) <= T
    s.sendto(packet(tsi, 0, oti(len(xml)), 0, 0, pad(xml), fdt_instance=instance), dest)


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    dest, tsi, rounds = (host, int(port)), int(sys.argv[2]), int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
    rnd = random.Random(7)
    # A pack the table says hashes to X, whose symbols decode to other bytes.
    claimed = bytes(rnd.getrandbits(8) for _ in range(700))
    sent = bytes(rnd.getrandbits(8) for _ in range(700))
    hx = hashlib.sha256(claimed).hexdigest()
    lie = (4000001, "packs/%s/%s.pack" % (hx[:2], hx), 700, hx)
    # A pack whose bytes hash right but whose name is another hash.
    body = bytes(rnd.getrandbits(8) for _ in range(500))
    hb = hashlib.sha256(body).hexdigest()
    wrong = "%s%s" % (hb[:2], "0" * 62 if hb[2:] != "0" * 62 else "1" * 62)
    misnamed = (4000002, "packs/%s/%s.pack" % (wrong[:2], wrong), 500, hb)
    outside = (4000003, "../../etc/cron.d/evil", 10, hashlib.sha256(b"x" * 10).hexdigest())
    stray = (4000004, "notes/readme.txt", 10, hashlib.sha256(b"y" * 10).hexdigest())
    for r in range(rounds):
        for n in (0, 1, 3, 15, 35, 36, 100, 1471, 1473, 9000):
            s.sendto(bytes(rnd.getrandbits(8) for _ in range(n)), dest)
        good = packet(tsi, 4000001, oti(700), 0, 0, pad(sent))
        for mutate in (
                lambda p: p[:18] + b"\xff" + p[19:],                  # F over 1 TiB
                lambda p: packet(tsi, 5, oti(700, t=0), 0, 0, b""),   # T of 0
                lambda p: packet(tsi, 5, oti(700, z=0), 0, 0, pad(b"")),
                lambda p: packet(tsi, 5, oti(700, n=2), 0, 0, pad(b"")),
                lambda p: packet(tsi, 5, oti(700), 3, 0, pad(b"")),   # SBN >= Z
                lambda p: packet(tsi, 5, oti(700), 0, 0, pad(b""), version=2),
                lambda p: packet(tsi, 5, oti(700), 0, 0, pad(b""), cp=1),
                lambda p: p[:-1],                                     # short symbol
                lambda p: p + b"junk",                                # trailing bytes
                lambda p: packet(tsi + 1, 1, oti(700), 0, 0, pad(b""))):  # foreign
            s.sendto(mutate(good), dest)
        send_fdt(s, dest, tsi, 0xabcd0 + r % 2, fdt([lie, misnamed, stray]))
        send_fdt(s, dest, tsi, 0xabce0, fdt([outside]))
        s.sendto(good, dest)
        s.sendto(packet(tsi, 4000002, oti(500), 0, 0, pad(body)), dest)
        s.sendto(packet(tsi, 4000004, oti(10), 0, 0, pad(b"y" * 10)), dest)
        time.sleep(0.05)


if __name__ == "__main__":
    main()
