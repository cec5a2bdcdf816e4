#!/usr/bin/env python3
"""A client of the Open Inference Protocol v2 REST API (KServe v2), written from the protocol's
specification (kserve/open-inference-protocol specification/protocol/inference_rest.md) and
Triton's binary tensor data extension (docs/protocol/extension_binary_data.md). It knows nothing
of the server behind the URL: it learns the model's inputs and outputs from the metadata endpoint.
Only Debian's python3-requests and the standard library.

usage: oip_client.py URL MODEL CASES.json [TOKEN]

CASES.json: {"cases": [{"samples": N, "data": [N * row values, flat]}, ...],
             "threads": T, "oversize_bytes": B}
Prints one JSON object: health, metadata, per case the JSON and the binary answers, the answers
of all cases sent at once from T threads, and the status and body of each bad request.
"""
import array
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import requests

# The protocol's datatypes and their element sizes (Tensor Data Types), as array typecodes.
TYPECODES = {"BOOL": "B", "UINT8": "B", "UINT16": "H", "UINT32": "I", "UINT64": "Q", "INT8": "b",
             "INT16": "h", "INT32": "i", "INT64": "q", "FP32": "f", "FP64": "d"}


def to_le(values, datatype):
    """Binary tensor data: little-endian, row major, no padding."""
    a = array.array(TYPECODES[datatype], values)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def from_le(data, datatype):
    a = array.array(TYPECODES[datatype])
    a.frombytes(data)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tolist()


class Client:
    def __init__(self, url, model, token=None):
        self.url = url.rstrip("/")
        self.model = model
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = "Bearer " + token

    def get(self, path):
        r = self.http.get(self.url + path, timeout=60)
        return {"status": r.status_code, "body": r.json()}

    def infer_json(self, inputs, outputs=None):
        body = {"id": "py-1", "inputs": inputs}
        if outputs:
            body["outputs"] = [{"name": n} for n in outputs]
        r = requests.post(self.url + "/v2/models/%s/infer" % self.model, json=body,
                          headers=self.http.headers, timeout=60)
        return r.status_code, r.json()

    def infer_binary(self, inputs):
        """Inputs as binary data after the JSON header; every output asked as binary data."""
        header = {"inputs": [], "parameters": {"binary_data_output": True}}
        blobs = []
        for t in inputs:
            raw = to_le(t["data"], t["datatype"])
            header["inputs"].append({"name": t["name"], "shape": t["shape"], "datatype": t["datatype"],
                                     "parameters": {"binary_data_size": len(raw)}})
            blobs.append(raw)
        head = json.dumps(header).encode()
        r = self.http.post(self.url + "/v2/models/%s/infer" % self.model, data=head + b"".join(blobs),
                           headers={"Content-Type": "application/octet-stream",
                                    "Inference-Header-Content-Length": str(len(head))}, timeout=60)
        if r.status_code != 200:
            return r.status_code, r.json()
        n = int(r.headers["Inference-Header-Content-Length"])
        resp = json.loads(r.content[:n])
        at = n
        for o in resp["outputs"]:
            size = o["parameters"]["binary_data_size"]
            o["data"] = from_le(r.content[at:at + size], o["datatype"])
            at += size
        assert at == len(r.content), "binary data left over"
        return 200, resp

    def post_raw(self, path, data, headers=None):
        h = dict(self.http.headers)
        h.update(headers or {})
        r = requests.post(self.url + path, data=data, headers=h, timeout=60)
        try:
            body = r.json()
        except ValueError:
            body = {"not_json": r.text[:200]}
        return {"status": r.status_code, "body": body}


def main():
    url, model, cases_file = sys.argv[1:4]
    token = sys.argv[4] if len(sys.argv) > 4 else None
    with open(cases_file) as f:
        spec = json.load(f)
    c = Client(url, model, token)
    out = {"health": {p: c.get(p) for p in ("/v2/health/live", "/v2/health/ready", "/v2/models/%s/ready" % model)}}
    meta = c.get("/v2/models/" + model)
    out["metadata"] = meta
    inp = meta["body"]["inputs"][0]
    outputs = [o["name"] for o in meta["body"]["outputs"]]
    row = 1
    for d in inp["shape"][1:]:
        row *= d

    def tensor(case):
        return [{"name": inp["name"], "datatype": inp["datatype"], "shape": [case["samples"]] + inp["shape"][1:], "data": case["data"]}]

    out["json"] = [c.infer_json(tensor(k), outputs) for k in spec["cases"]]
    out["binary"] = [c.infer_binary(tensor(k)) for k in spec["cases"]]
    with ThreadPoolExecutor(max_workers=spec["threads"]) as pool:
        out["concurrent"] = list(pool.map(lambda k: c.infer_json(tensor(k)), spec["cases"]))

    first = spec["cases"][0]
    one = {"name": inp["name"], "datatype": inp["datatype"], "shape": [1] + inp["shape"][1:], "data": first["data"][:row]}
    infer_path = "/v2/models/%s/infer" % model
    bad = {
        "wrong_shape": dict(one, shape=[1, row - 1], data=one["data"][:row - 1]),
        "wrong_datatype": dict(one, datatype="INT64", data=[0] * row),
        "wrong_name": dict(one, name=inp["name"] + "_nope"),
    }
    out["bad"] = {k: c.post_raw(infer_path, json.dumps({"inputs": [v]}), {"Content-Type": "application/json"}) for k, v in bad.items()}
    out["bad"]["wrong_model"] = c.post_raw("/v2/models/%s_nope/infer" % model, json.dumps({"inputs": [one]}))
    out["bad"]["bad_json"] = c.post_raw(infer_path, b'{"inputs": [ {"name": ')
    out["bad"]["oversize"] = c.post_raw(infer_path, b" " * spec["oversize_bytes"])
    head = json.dumps({"inputs": [dict({k: v for k, v in one.items() if k != "data"}, parameters={"binary_data_size": 4 * row})]}).encode()
    out["bad"]["binary_short"] = c.post_raw(infer_path, head + to_le(one["data"][:row - 1], "FP32"),
                                            {"Inference-Header-Content-Length": str(len(head))})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
