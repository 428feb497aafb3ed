"""Receives a partner's webhook deliveries from a demo server and verifies each with the
`standardwebhooks` package (not the server's code). Exits non-zero unless the deliveries of
an order's first steps arrive, in order, and every one verifies.

Usage: webhook_receiver.py API_BASE   (e.g. http://127.0.0.1:8080/api/v1)
"""

import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

API = sys.argv[1]
PASSWORD = "shenbian-demo-2026"
received = []
secret = {}


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = Webhook(secret["value"]).verify(body, headers)
            received.append(("verified", payload))
        except WebhookVerificationError as err:
            received.append(("refused", str(err)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def call(method, path, token=None, body=None):
    request = urllib.request.Request(API + path, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(request, data) as response:
        text = response.read()
        return json.loads(text) if text else None


def login(phone):
    return call("POST", "/auth/login", body={"phone": phone, "password": PASSWORD})["access_token"]


server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/hook" % server.server_address[1]

resident, dispatcher, partner = login("13900000400"), login("13900000100"), login("13900000200")
provider = call("GET", "/me", partner)["partners"][0]["partner_id"]
created = call("POST", "/webhooks", partner, {"url": url, "partner_id": provider, "description": "CI"})
secret["value"] = created["secret"]
print("registered", created["id"], "for partner", provider)

community = next(c["id"] for c in call("GET", "/communities?limit=100", resident)["items"] if c["code"] == "XFL")
compound = call("GET", "/communities/%s/compounds" % community, resident)["items"][0]["id"]
building = call("GET", "/compounds/%s/buildings" % compound, resident)["items"][0]["id"]
order = call("POST", "/orders", resident, {
    "community_id": community, "category_code": "legal_advice", "urgency": "normal",
    "title": "咨询房屋租赁合同", "description": "想请律师看一下租房合同的条款",
    "address": {"compound_id": compound, "building_id": building, "unit": "1单元", "room": "302"}})["id"]
call("POST", "/orders/%s/dispatch" % order, dispatcher, {"provider_ids": [provider]})
call("POST", "/orders/%s/accept" % order, partner)

wanted = ["order.created", "order.dispatched", "order.accepted"]
deadline = time.time() + 60
while len(received) < len(wanted) and time.time() < deadline:
    time.sleep(0.1)

for outcome, detail in received:
    print(outcome, detail if outcome == "refused" else (detail["type"], detail["data"]["seq"]))
refused = [d for o, d in received if o == "refused"]
if refused:
    sys.exit("signatures refused by standardwebhooks: %s" % refused)
types = [p["type"] for _, p in received if p["data"]["order_id"] == order]
if types != wanted:
    sys.exit("expected %s for the order, got %s" % (wanted, types))
seqs = [p["data"]["seq"] for _, p in received]
if seqs != sorted(seqs):
    sys.exit("deliveries out of order: %s" % seqs)
print("%d deliveries, every one verified by standardwebhooks, in order" % len(received))
