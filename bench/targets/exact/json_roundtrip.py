"""A JSON round trip through the standard library's pure-Python encoder and decoder (not the C accelerators)."""
import json
import json.decoder
import json.scanner

doc = {"users": [{"id": i, "name": f"user{i}", "tags": ["a", "b", "c"], "score": i * 1.5, "active": i % 2 == 0,
                  "address": {"city": "Lyon", "zip": str(69000 + i)}} for i in range(1500)]}
decoder = json.decoder.JSONDecoder()
decoder.parse_string = json.decoder.py_scanstring
decoder.scan_once = json.scanner.py_make_scanner(decoder)
encoder = json.JSONEncoder(indent=1)  # an indent selects the pure-Python encoder
for _ in range(3):
    text = "".join(encoder.iterencode(doc))
    back = decoder.decode(text)
assert back == doc
print(len(text))
