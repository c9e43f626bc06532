#!/usr/bin/env python3
"""Fake Azure services for tests: an Entra ID token endpoint, the instance metadata service (IMDS)
and the Key Vault secrets API. Real servers on loopback, Python 3 standard library only.

Two listeners:
  HTTPS (the certificate given by --cert/--key):  POST /{tenant}/oauth2/v2.0/token
                                                    /secrets/..., /deletedsecrets/... (Key Vault)
  HTTP  (plain, like the real 169.254.169.254):   GET /metadata/identity/oauth2/token (IMDS)
                                                    /_fake/... (control endpoints for tests)
After binding it prints one line to stdout:
  listening on https://127.0.0.1:PORT http://127.0.0.1:PORT
See tests/fakes/README.md ("Fake Azure") for every route, fault switch and counter.
"""

import argparse
import datetime as dt
import json
import re
import secrets as rnd
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VAULT_RESOURCE = "https://vault.azure.net"
VAULT_SCOPE = VAULT_RESOURCE + "/.default"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
API_VERSION = "7.4"
SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
FAULT_KINDS = ("401", "409", "429", "500", "503", "reset_after_put", "write_after_put")


class State:
    """Everything the fake knows; one lock guards it all."""

    def __init__(self, args):
        self.lock = threading.RLock()
        self.tenant = args.tenant
        self.client_id = args.client_id
        self.client_secret = args.client_secret
        self.workload_client_id = args.workload_client_id
        self.authority = args.authority
        self.base = ""  # https://127.0.0.1:PORT, set after binding
        self.reset()

    def reset(self):
        self.token_lifetime = 3600
        self.forbidden_clients = set()
        self.imds_clients = set()
        self.tokens = {}  # access token -> client id it was issued to ("system": system identity)
        self.secrets = {}  # name -> {"versions": [bundle, ...], "deleted": None | deleted bundle}
        self.faults = []
        self.stats = {
            "token_requests": {"client_secret": 0, "workload_identity": 0},
            "token_errors": 0,
            "assertions": [],
            "imds_requests": 0,
            "imds_refused": 0,
            "imds_client_ids": [],
            "vault": {"GET": 0, "PUT": 0, "DELETE": 0, "POST": 0},
            "vault_unauthorized": 0,
            "vault_forbidden": 0,
            "faults_fired": 0,
            "log": [],
        }

    def issue(self, client_id):
        token = "fake-kv-" + rnd.token_hex(12)
        self.tokens[token] = client_id
        return token

    def take_fault(self, target, method):
        """The first armed fault for this request, consumed; None when there is none."""
        for fault in self.faults:
            if fault["count"] <= 0 or fault["target"] != target:
                continue
            if fault["kind"] in ("reset_after_put", "write_after_put") and method != "PUT":
                continue
            if fault.get("method") and fault["method"] != method:
                continue
            fault["count"] -= 1
            self.stats["faults_fired"] += 1
            return fault
        return None

    def add_version(self, name, value, content_type):
        now = int(time.time())
        version = uuid.uuid4().hex
        bundle = {
            "value": value,
            "id": "%s/secrets/%s/%s" % (self.base, name, version),
            "attributes": {"enabled": True, "created": now, "updated": now,
                           "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
            "tags": {},
        }
        if content_type is not None:
            bundle["contentType"] = content_type
        entry = self.secrets.setdefault(name, {"versions": [], "deleted": None})
        entry["versions"].append(bundle)
        return bundle

    def snapshot(self):
        out = json.loads(json.dumps(self.stats))
        out["secrets"] = {
            name: {"versions": len(e["versions"]), "deleted": e["deleted"] is not None,
                   "value": e["versions"][-1]["value"] if e["versions"] else None,
                   "content_type": e["versions"][-1].get("contentType") if e["versions"] else None}
            for name, e in self.secrets.items()
        }
        out["faults_armed"] = sum(f["count"] for f in self.faults)
        return out


def vault_error(code, message):
    return {"error": {"code": code, "message": message}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's signature)
        if not self.server.quiet:
            sys.stderr.write("%s %s\n" % (self.server.kind, format % args))

    # -- plumbing --------------------------------------------------------------------------

    @property
    def state(self):
        return self.server.state

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, payload=None, headers=None):
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)
        path = urllib.parse.urlsplit(self.path).path
        if not path.startswith("/_fake/"):
            with self.state.lock:
                self.state.stats["log"].append(
                    {"listener": self.server.kind, "method": self.command, "path": path,
                     "status": status})

    def reset_connection(self):
        """Closes the connection without a response (as a dropped connection would)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        with self.state.lock:
            self.state.stats["log"].append(
                {"listener": self.server.kind, "method": self.command,
                 "path": urllib.parse.urlsplit(self.path).path, "status": 0})

    def route(self):
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        path = parts.path
        if self.server.kind == "http":
            if path.startswith("/_fake/"):
                return self.control(path, query)
            if path == "/metadata/identity/oauth2/token" and self.command == "GET":
                return self.imds(query)
            return self.send(404, {"error": "not_found", "error_description": path})
        m = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", path)
        if m:
            if self.command != "POST":
                return self.send(405, {"error": "invalid_request",
                                       "error_description": "use POST"})
            return self.token(m.group(1))
        if path.startswith("/secrets/") or path.startswith("/deletedsecrets/"):
            return self.vault(path, query)
        return self.send(404, vault_error("NotFound", "no such route: " + path))

    def do_GET(self):  # noqa: N802
        self.route()

    def do_PUT(self):  # noqa: N802
        self.route()

    def do_POST(self):  # noqa: N802
        self.route()

    def do_DELETE(self):  # noqa: N802
        self.route()

    # -- Entra ID ----------------------------------------------------------------------------

    def token(self, tenant):
        form = dict(urllib.parse.parse_qsl(self.body().decode("utf-8", "replace")))
        st = self.state

        def refuse(status, error, description):
            with st.lock:
                st.stats["token_errors"] += 1
            code = re.match(r"AADSTS(\d+)", description)
            return self.send(status, {"error": error, "error_description": description,
                                      "error_codes": [int(code.group(1))] if code else []})

        with st.lock:
            fault = st.take_fault("token", "POST")
        if fault is not None and self.fault_response(fault):
            return
        if tenant != st.tenant:
            return refuse(400, "invalid_request",
                          "AADSTS9000200: Tenant '%s' not found." % tenant)
        if form.get("grant_type") != "client_credentials":
            return refuse(400, "unsupported_grant_type",
                          "AADSTS70003: The app requested an unsupported grant type.")
        if form.get("scope") != VAULT_SCOPE:
            return refuse(400, "invalid_scope",
                          "AADSTS1002012: The provided value for scope '%s' is not valid."
                          % form.get("scope", ""))
        client_id = form.get("client_id", "")
        if "client_secret" in form:
            if client_id != st.client_id or form["client_secret"] != st.client_secret:
                return refuse(401, "invalid_client",
                              "AADSTS7000215: Invalid client secret provided.")
            kind = "client_secret"
        elif form.get("client_assertion_type") == ASSERTION_TYPE and form.get("client_assertion"):
            with st.lock:
                st.stats["assertions"].append(form["client_assertion"])
            if client_id != st.workload_client_id:
                return refuse(400, "unauthorized_client",
                              "AADSTS700016: Application with identifier '%s' was not found."
                              % client_id)
            if form["client_assertion"] == "expired":
                return refuse(400, "invalid_client",
                              "AADSTS7000274: Client assertion is not within its valid time "
                              "range.")
            kind = "workload_identity"
        else:
            return refuse(401, "invalid_client",
                          "AADSTS7000218: The request body must contain the following "
                          "parameter: 'client_assertion' or 'client_secret'.")
        with st.lock:
            st.stats["token_requests"][kind] += 1
            token = st.issue(client_id)
            lifetime = st.token_lifetime
        self.send(200, {"token_type": "Bearer", "expires_in": lifetime,
                        "ext_expires_in": lifetime, "access_token": token})

    # -- IMDS --------------------------------------------------------------------------------

    def imds(self, query):
        st = self.state
        if self.headers.get("Metadata") != "true":
            with st.lock:
                st.stats["imds_refused"] += 1
            return self.send(400, {"error": "invalid_request",
                                   "error_description": "Required metadata header not specified"})
        with st.lock:
            st.stats["imds_requests"] += 1
            fault = st.take_fault("imds", "GET")
        if fault is not None and self.fault_response(fault):
            return
        if not query.get("api-version"):
            return self.send(400, {"error": "invalid_request",
                                   "error_description": "Required query variable 'api-version' "
                                                        "is missing"})
        if query.get("resource", "").rstrip("/") != VAULT_RESOURCE:
            return self.send(400, {"error": "invalid_resource",
                                   "error_description": "AADSTS500011: The resource principal "
                                                        "named %s was not found"
                                                        % query.get("resource", "")})
        client_id = query.get("client_id")
        with st.lock:
            st.stats["imds_client_ids"].append(client_id or "")
            if client_id and client_id not in st.imds_clients:
                known = False
            else:
                known = True
            if known:
                token = st.issue(client_id or "system")
            lifetime = st.token_lifetime
        if not known:
            return self.send(400, {"error": "invalid_request",
                                   "error_description": "Identity not found"})
        now = int(time.time())
        self.send(200, {"access_token": token, "client_id": client_id or "system",
                        "expires_in": str(lifetime), "expires_on": str(now + lifetime),
                        "ext_expires_in": str(lifetime), "not_before": str(now),
                        "resource": VAULT_RESOURCE, "token_type": "Bearer"})

    # -- faults ------------------------------------------------------------------------------

    def fault_response(self, fault):
        """Answers a status fault; True when the request is done."""
        kind = fault["kind"]
        if kind == "401":
            self.send(401, vault_error("Unauthorized", "AKV10032: Invalid issuer."),
                      self.challenge())
        elif kind == "409":
            self.send(409, vault_error(
                "Conflict", fault.get("message") or
                "There was a conflict while processing the request: another operation on this "
                "secret is in progress."))
        elif kind == "429":
            self.send(429, vault_error("Throttled", "Too many requests. Please retry later."),
                      {"Retry-After": str(fault.get("retry_after", "1"))})
        elif kind in ("500", "503"):
            self.send(int(kind), vault_error("InternalServerError" if kind == "500"
                                             else "ServiceUnavailable",
                                             "The service is temporarily unavailable."))
        else:
            return False
        return True

    def challenge(self):
        return {"WWW-Authenticate":
                'Bearer authorization="%s/%s", resource="%s"'
                % (self.state.authority, self.state.tenant, VAULT_RESOURCE)}

    # -- Key Vault ---------------------------------------------------------------------------

    def vault(self, path, query):
        st = self.state
        method = self.command
        body = self.body()
        with st.lock:
            if method in st.stats["vault"]:
                st.stats["vault"][method] += 1
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            with st.lock:
                st.stats["vault_unauthorized"] += 1
            return self.send(401, vault_error("Unauthorized",
                                              "AKV10000: Request is missing a Bearer or PoP "
                                              "token."), self.challenge())
        with st.lock:
            client = st.tokens.get(auth[len("Bearer "):])
            if client is None:
                st.stats["vault_unauthorized"] += 1
        if client is None:
            return self.send(401, vault_error("Unauthorized",
                                              "AKV10032: Invalid issuer. The token is not "
                                              "valid for this vault."), self.challenge())
        with st.lock:
            forbidden = client in st.forbidden_clients
            if forbidden:
                st.stats["vault_forbidden"] += 1
        if forbidden:
            return self.send(403, {"error": {
                "code": "Forbidden",
                "message": "Caller is not authorized to perform action on resource. "
                           "Caller: appid=%s; Action: 'Microsoft.KeyVault/vaults/secrets/"
                           "getSecret/action'" % client,
                "innererror": {"code": "ForbiddenByRbac"}}})
        if query.get("api-version") != API_VERSION:
            return self.send(400, vault_error("BadParameter",
                                              "The request URI contains an invalid or missing "
                                              "api-version (this fake serves %s)" % API_VERSION))
        with st.lock:
            fault = st.take_fault("vault", method)
        if fault is not None and self.fault_response(fault):
            return
        segments = path.strip("/").split("/")
        if len(segments) < 2 or not SECRET_NAME.match(segments[1]):
            return self.send(400, vault_error("BadParameter", "invalid secret name"))
        name = segments[1]
        if segments[0] == "deletedsecrets":
            return self.deleted(method, name, segments[2:])
        if method == "GET" and len(segments) in (2, 3):
            with st.lock:
                entry = st.secrets.get(name)
                bundle = None
                if entry and entry["deleted"] is None and entry["versions"]:
                    if len(segments) == 2:
                        bundle = entry["versions"][-1]
                    else:
                        bundle = next((b for b in entry["versions"]
                                       if b["id"].endswith("/" + segments[2])), None)
            if bundle is None:
                return self.send(404, self.not_found(name))
            return self.send(200, bundle)
        if method == "PUT" and len(segments) == 2:
            try:
                request = json.loads(body.decode("utf-8"))
                value = request["value"]
                if not isinstance(value, str):
                    raise ValueError("value")
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                return self.send(400, vault_error("BadParameter",
                                                  "The request body must be a JSON object "
                                                  "with a string 'value'."))
            with st.lock:
                entry = st.secrets.get(name)
                if entry and entry["deleted"] is not None:
                    conflict = True
                else:
                    conflict = False
                    bundle = st.add_version(name, value, request.get("contentType"))
                    if fault is not None and fault["kind"] == "write_after_put":
                        st.add_version(name, fault.get("value", "{}"), "text/plain")
            if conflict:
                return self.send(409, vault_error(
                    "Conflict",
                    "Secret %s is currently in a deleted but recoverable state, and its name "
                    "cannot be reused; in this state, the secret can only be recovered or "
                    "purged." % name))
            if fault is not None and fault["kind"] == "reset_after_put":
                return self.reset_connection()
            return self.send(200, bundle)
        if method == "DELETE" and len(segments) == 2:
            with st.lock:
                entry = st.secrets.get(name)
                if not entry or entry["deleted"] is not None:
                    deleted = None
                else:
                    now = int(time.time())
                    latest = entry["versions"][-1]
                    deleted = {
                        "recoveryId": "%s/deletedsecrets/%s" % (st.base, name),
                        "deletedDate": now, "scheduledPurgeDate": now + 90 * 86400,
                        "id": latest["id"], "attributes": latest["attributes"], "tags": {}}
                    entry["deleted"] = deleted
            if deleted is None:
                return self.send(404, self.not_found(name))
            return self.send(200, deleted)
        return self.send(405, vault_error("BadParameter", "unsupported method or path"))

    def deleted(self, method, name, rest):
        st = self.state
        answer = None
        with st.lock:
            entry = st.secrets.get(name)
            present = entry is not None and entry["deleted"] is not None
            if present and method == "GET" and not rest:
                answer = (200, entry["deleted"])
            elif present and method == "DELETE" and not rest:
                del st.secrets[name]  # purged
                answer = (204, None)
            elif present and method == "POST" and rest == ["recover"]:
                entry["deleted"] = None
                answer = (200, entry["versions"][-1])
        if answer is not None:
            return self.send(*answer)
        if method not in ("GET", "DELETE", "POST"):
            return self.send(405, vault_error("BadParameter", "unsupported method"))
        return self.send(404, vault_error(
            "SecretNotFound", "Deleted Secret not found: %s" % name))

    @staticmethod
    def not_found(name):
        return vault_error("SecretNotFound",
                           "A secret with (name/id) %s was not found in this key vault. If you "
                           "recently deleted this secret you may be able to recover it using "
                           "the correct recovery command." % name)

    # -- control -----------------------------------------------------------------------------

    def control(self, path, query):
        st = self.state
        raw = self.body()
        try:
            request = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            return self.send(400, {"error": "invalid JSON"})
        if path == "/_fake/stats" and self.command == "GET":
            with st.lock:
                return self.send(200, st.snapshot())
        if self.command != "POST":
            return self.send(405, {"error": "use POST"})
        if path == "/_fake/reset":
            with st.lock:
                st.reset()
            return self.send(200, {"ok": True})
        if path == "/_fake/faults":
            faults = request.get("faults", [])
            for fault in faults:
                if fault.get("kind") not in FAULT_KINDS:
                    return self.send(400, {"error": "unknown fault kind %r (one of %s)"
                                                    % (fault.get("kind"), ", ".join(FAULT_KINDS))})
                fault.setdefault("target", "vault")
                fault.setdefault("count", 1)
                if fault["target"] not in ("vault", "token", "imds"):
                    return self.send(400, {"error": "target is vault, token or imds"})
            with st.lock:
                if request.get("replace", True):
                    st.faults = []
                st.faults.extend(faults)
            return self.send(200, {"ok": True})
        if path == "/_fake/config":
            with st.lock:
                if "token_lifetime" in request:
                    st.token_lifetime = int(request["token_lifetime"])
                if "forbidden_clients" in request:
                    st.forbidden_clients = set(request["forbidden_clients"])
                if "imds_clients" in request:
                    st.imds_clients = set(request["imds_clients"])
            return self.send(200, {"ok": True})
        if path == "/_fake/revoke":
            with st.lock:
                st.tokens.clear()
            return self.send(200, {"ok": True})
        if path == "/_fake/secrets":
            name = request.get("name", "")
            if not SECRET_NAME.match(name) or not isinstance(request.get("value"), str):
                return self.send(400, {"error": "need name and a string value"})
            with st.lock:
                entry = st.secrets.get(name)
                if request.get("deleted"):
                    if entry is None:
                        st.add_version(name, request["value"], request.get("contentType"))
                        entry = st.secrets[name]
                    entry["deleted"] = {"recoveryId": "%s/deletedsecrets/%s" % (st.base, name)}
                else:
                    st.add_version(name, request["value"], request.get("contentType"))
            return self.send(200, {"ok": True})
        return self.send(404, {"error": "no such control endpoint " + path})


def serve(server):
    try:
        server.serve_forever(poll_interval=0.2)
    except Exception:  # noqa: BLE001 (a dying listener must not hang the process)
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fake Entra ID, IMDS and Key Vault for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="HTTPS port (Entra ID, Key Vault)")
    parser.add_argument("--http-port", type=int, default=0, help="HTTP port (IMDS, /_fake)")
    parser.add_argument("--cert", required=True, help="PEM certificate of the HTTPS listener")
    parser.add_argument("--key", required=True, help="PEM private key of the HTTPS listener")
    parser.add_argument("--tenant", default="test-tenant")
    parser.add_argument("--client-id", default="test-client")
    parser.add_argument("--client-secret", default="test-client-secret")
    parser.add_argument("--workload-client-id", default="test-workload-client")
    parser.add_argument("--authority", default="https://login.microsoftonline.com",
                        help="the authority named in the 401 challenge")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    state = State(args)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True

    tls = ThreadingHTTPServer((args.host, args.port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    plain = ThreadingHTTPServer((args.host, args.http_port), Handler)
    for server, kind in ((tls, "https"), (plain, "http")):
        server.state = state
        server.kind = kind
        server.quiet = args.quiet
    tls_port = tls.server_address[1]
    state.base = "https://%s:%d" % (args.host, tls_port)

    def stop(signum, frame):  # noqa: ARG001
        threading.Thread(target=tls.shutdown, daemon=True).start()
        threading.Thread(target=plain.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threads = [threading.Thread(target=serve, args=(s,), daemon=True) for s in (tls, plain)]
    for t in threads:
        t.start()
    sys.stdout.write("listening on https://%s:%d http://%s:%d\n"
                     % (args.host, tls_port, args.host, plain.server_address[1]))
    sys.stdout.flush()
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
