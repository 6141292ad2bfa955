#!/usr/bin/env python3
"""A Python service using opsledger's C ABI (include/opsledger/opsledger.h) through ctypes.

    python3 opsledger_service.py --db DIR [--lib PATH/libopsledger.so] [--nosync]

It registers a tenant, asks the start gate for an inventory sync (accepted), asks again
(deduped onto the same run), runs the accepted run to completion as a worker would, and
then reacts to what happened by reading the events after the seq it started from — the
same JSON lines `opsledger tail` prints.

The library is found with --lib, else $OPSLEDGER_LIB, else the system's library path
(ctypes.util.find_library).
"""
import argparse
import ctypes
import ctypes.util
import json
import os
import sys

OPSLEDGER_OK = 0
OPSLEDGER_NOSYNC = 1


class OpsledgerOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("durability", ctypes.c_uint32),
        ("initial_map_size_bytes", ctypes.c_uint64),
        ("max_map_size_bytes", ctypes.c_uint64),
    ]


class OpsledgerError(Exception):
    pass


def load_library(path=None):
    path = path or os.environ.get("OPSLEDGER_LIB") or ctypes.util.find_library("opsledger")
    if not path:
        raise OpsledgerError("libopsledger.so not found: pass --lib or set OPSLEDGER_LIB")
    lib = ctypes.CDLL(path)
    # Strings the library returns are owned by us and must go back through opsledger_free:
    # declare them c_void_p so ctypes keeps the pointer instead of copying and dropping it.
    lib.opsledger_version.restype = ctypes.c_char_p
    lib.opsledger_version.argtypes = []
    lib.opsledger_options_init.restype = None
    lib.opsledger_options_init.argtypes = [ctypes.POINTER(OpsledgerOptions)]
    lib.opsledger_open.restype = ctypes.c_int
    lib.opsledger_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(OpsledgerOptions), ctypes.POINTER(ctypes.c_void_p)]
    lib.opsledger_close.restype = None
    lib.opsledger_close.argtypes = [ctypes.c_void_p]
    lib.opsledger_execute.restype = ctypes.c_void_p
    lib.opsledger_execute.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.opsledger_execute_batch.restype = ctypes.c_int
    lib.opsledger_execute_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                                            ctypes.POINTER(ctypes.POINTER(ctypes.c_void_p))]
    lib.opsledger_read_events.restype = ctypes.c_int
    lib.opsledger_read_events.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_size_t,
                                          ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_uint64)]
    lib.opsledger_last_seq.restype = ctypes.c_uint64
    lib.opsledger_last_seq.argtypes = [ctypes.c_void_p]
    lib.opsledger_free.restype = None
    lib.opsledger_free.argtypes = [ctypes.c_void_p]
    lib.opsledger_free_answers.restype = None
    lib.opsledger_free_answers.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t]
    lib.opsledger_last_error.restype = ctypes.c_char_p
    lib.opsledger_last_error.argtypes = []
    return lib


class Opsledger:
    """One open database. Thread-safe, as the C ABI is: share one instance per process."""

    def __init__(self, lib, directory, nosync=False):
        self._lib = lib
        options = OpsledgerOptions()
        lib.opsledger_options_init(ctypes.byref(options))
        if nosync:
            options.durability = OPSLEDGER_NOSYNC
        handle = ctypes.c_void_p()
        rc = lib.opsledger_open(directory.encode(), ctypes.byref(options), ctypes.byref(handle))
        if rc != OPSLEDGER_OK:
            raise OpsledgerError(f"cannot open {directory} ({rc}): {lib.opsledger_last_error().decode()}")
        self._db = handle

    def close(self):
        if self._db:
            self._lib.opsledger_close(self._db)
            self._db = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _take(self, pointer):
        """Copies a library-owned string and frees it."""
        if not pointer:
            raise MemoryError("opsledger could not allocate an answer")
        try:
            return ctypes.string_at(pointer).decode()
        finally:
            self._lib.opsledger_free(pointer)

    def execute(self, command):
        """Sends one command (a dict) and returns the answer (a dict)."""
        text = json.dumps(command, separators=(",", ":")).encode()
        return json.loads(self._take(self._lib.opsledger_execute(self._db, text)))

    def execute_batch(self, commands):
        """Sends commands in one transaction and one commit; returns the answers in order."""
        texts = (ctypes.c_char_p * len(commands))(
            *[json.dumps(c, separators=(",", ":")).encode() for c in commands])
        answers = ctypes.POINTER(ctypes.c_void_p)()
        rc = self._lib.opsledger_execute_batch(self._db, texts, len(commands), ctypes.byref(answers))
        if rc != OPSLEDGER_OK:
            raise OpsledgerError(f"batch failed ({rc}): {self._lib.opsledger_last_error().decode()}")
        try:
            return [json.loads(ctypes.string_at(answers[i]).decode()) for i in range(len(commands))]
        finally:
            self._lib.opsledger_free_answers(answers, len(commands))

    def events_after(self, seq, max_events=0):
        """The events after `seq` (dicts) and the seq to continue from."""
        lines = ctypes.c_void_p()
        last = ctypes.c_uint64()
        rc = self._lib.opsledger_read_events(self._db, seq, max_events, ctypes.byref(lines), ctypes.byref(last))
        if rc != OPSLEDGER_OK:
            raise OpsledgerError(f"read_events failed ({rc}): {self._lib.opsledger_last_error().decode()}")
        text = self._take(lines.value)
        return [json.loads(line) for line in text.splitlines()], last.value

    def last_seq(self):
        return self._lib.opsledger_last_seq(self._db)


def expect_ok(answer, what):
    if not answer.get("ok"):
        raise OpsledgerError(f"{what} rejected: {answer['error']}")
    return answer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--lib")
    parser.add_argument("--nosync", action="store_true")
    args = parser.parse_args()

    lib = load_library(args.lib)
    print(f"opsledger {lib.opsledger_version().decode()}")
    ada = {"kind": "user", "user_id": 7, "name": "Ada"}
    with Opsledger(lib, args.db, nosync=args.nosync) as db:
        setup = [
            {"cmd": "register_workspace", "request_id": "py-ws", "workspace_id": 1, "name": "Contoso"},
            {"cmd": "register_tenant", "request_id": "py-tenant", "workspace_id": 1, "tenant_id": 10,
             "name": "Contoso EU"},
            {"cmd": "grant_membership", "request_id": "py-member", "workspace_id": 1, "user_id": 7,
             "role": "operator"},
            {"cmd": "register_provider_connection", "request_id": "py-conn", "workspace_id": 1, "tenant_id": 10,
             "provider_connection_id": 100, "provider": "microsoft", "display_name": "Contoso Graph"},
            {"cmd": "set_default_provider_connection", "request_id": "py-default", "tenant_id": 10,
             "provider_connection_id": 100},
            {"cmd": "update_provider_connection", "request_id": "py-ready", "provider_connection_id": 100,
             "consent": "granted", "credentials": "usable", "permissions": "ok"},
        ]
        for command, answer in zip(setup, db.execute_batch(setup)):
            expect_ok(answer, command["cmd"])
        print(f"set up: {len(setup)} commands in one commit")
        since = db.last_seq()

        start = {"cmd": "start", "request_id": "py-click-1", "actor": ada, "workspace_id": 1, "tenant_id": 10,
                 "type": "inventory.sync", "context": {}}
        first = expect_ok(db.execute(start), "start")
        print(f"start: {first['decision']} run {first['run_id']}")
        again = expect_ok(db.execute({**start, "request_id": "py-click-2"}), "start")
        print(f"start again: {again['decision']} onto run {again['run_id']}")

        run_id = first["run_id"]
        expect_ok(db.execute({"cmd": "begin_run", "run_id": run_id}), "begin_run")
        expect_ok(db.execute({"cmd": "complete_run", "run_id": run_id, "outcome": "succeeded",
                              "counts": {"total": 10, "succeeded": 10}}), "complete_run")
        run = expect_ok(db.execute({"cmd": "get_run", "run_id": run_id, "actor": ada}), "get_run")["run"]
        print(f"run {run_id}: {run['status']} {run['outcome']}")

        bad = db.execute({"cmd": "complete_run", "run_id": run_id, "outcome": "succeeded"})
        print(f"complete again: {bad['error']['code']}")

        events, seq = db.events_after(since)
        for event in events:
            print(f"event {event['seq']}: {event['type']}")
        print(f"read up to seq {seq}")


if __name__ == "__main__":
    try:
        main()
    except OpsledgerError as e:
        print(f"opsledger_service.py: {e}", file=sys.stderr)
        sys.exit(1)
