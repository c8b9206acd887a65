"""Key files: strict parsing with the TypeScript implementation's error codes, and no secret in any error."""
import json
import unittest

from tokenmark_ref import TokenmarkError, WatermarkKey, parse_key_file
from tokenmark_ref.keys import js_number


class KeyFiles(unittest.TestCase):
    def setUp(self):
        self.key = WatermarkKey(bytes(range(7, 39)), "kgw", {"gamma": 0.5}, "o200k_base")
        self.text = self.key.to_key_file()
        self.secret = json.loads(self.text)["secret"]

    def rejects(self, mutate, code):
        f = json.loads(self.text)
        mutate(f)
        with self.assertRaises(TokenmarkError) as cm:
            parse_key_file(json.dumps(f))
        self.assertEqual(cm.exception.code, code)
        self.assertNotIn(self.secret[:8], str(cm.exception))

    def test_round_trip(self):
        k = parse_key_file(self.text)
        self.assertEqual((k.key_id, k.commitment, k.params), (self.key.key_id, self.key.commitment, self.key.params))
        self.assertNotIn(self.secret, repr(k))

    def test_rejections(self):
        self.rejects(lambda f: f.update(params={"gamma": 0.25}), "E_KEY_MISMATCH")
        self.rejects(lambda f: f.update(keyId="tmk_0000000000000000"), "E_KEY_MISMATCH")
        self.rejects(lambda f: f.update(version=2), "E_KEY_VERSION")
        self.rejects(lambda f: f.update(extra=1), "E_KEY_FIELD")
        self.rejects(lambda f: f.pop("created"), "E_KEY_FIELD")
        self.rejects(lambda f: f.update(secret=f["secret"][:-3]), "E_KEY_LENGTH")
        self.rejects(lambda f: f.update(secret=f["secret"] + "="), "E_KEY_FIELD")
        self.rejects(lambda f: f.update(params={"gamma": 2}), "E_BAD_PARAM")
        self.rejects(lambda f: f.update(scheme="nope"), "E_UNKNOWN_SCHEME")

    def test_numbers_print_as_ecmascript_does(self):
        cases = {0.25: "0.25", 2: "2", 2.0: "2", 1e-7: "1e-7", 1e21: "1e+21", 123456789012345680000.0: "123456789012345680000",
                 0.000001: "0.000001", -1.5: "-1.5", 1 / 3: "0.3333333333333333"}
        for x, want in cases.items():
            self.assertEqual(js_number(x), want)


if __name__ == "__main__":
    unittest.main()
