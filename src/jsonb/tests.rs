//! The directly built jsonb datum against `jsonb_in`'s, byte for byte.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use crate::jsonb::{direct_datum, jsonb_in};

    /// The bytes of a varlena datum.
    fn datum_bytes(datum: pg_sys::Datum) -> Vec<u8> {
        // SAFETY: `datum` is a jsonb varlena palloc'd in the current memory context by
        // jsonb_in or `direct_datum`, not toasted, alive until the test's context is reset.
        unsafe {
            let ptr = datum.cast_mut_ptr::<pg_sys::varlena>();
            std::slice::from_raw_parts(ptr.cast::<u8>(), pgrx::varlena::varsize_any(ptr)).to_vec()
        }
    }

    /// Asserts the direct path takes `doc` and builds exactly `jsonb_in`'s bytes.
    fn assert_exact(doc: &str) {
        let direct = direct_datum(doc).unwrap_or_else(|| panic!("direct path refused {doc}"));
        let parsed = jsonb_in(doc);
        assert_eq!(datum_bytes(direct), datum_bytes(parsed), "{doc}");
        // SAFETY: both were palloc'd in the current memory context and are not used again.
        unsafe {
            pg_sys::pfree(direct.cast_mut_ptr());
            pg_sys::pfree(parsed.cast_mut_ptr());
        }
    }

    fn nested(depth: usize, open: &str, leaf: &str, close: &str) -> String {
        format!("{}{leaf}{}", open.repeat(depth), close.repeat(depth))
    }

    #[pg_test]
    fn jsonb_image_matches_jsonb_in_on_edge_cases() {
        let many_elems = format!(
            "[{}]",
            (0..100)
                .map(|i| match i % 5 {
                    0 => format!("{i}"),
                    1 => format!("\"s{i}\""),
                    2 => "{\"k\":[1,2.50]}".to_owned(),
                    3 => "null".to_owned(),
                    _ => "true".to_owned(),
                })
                .collect::<Vec<_>>()
                .join(",")
        );
        let many_keys = format!(
            "{{{}}}",
            (0..70)
                .map(|i| format!(
                    "\"k{}\":{}",
                    1000 - i * 7,
                    if i % 3 == 0 { "[1]" } else { "\"v\"" }
                ))
                .collect::<Vec<_>>()
                .join(",")
        );
        let long_string = format!(
            "{{\"s\":\"{}\",\"t\":\"{}\\n\"}}",
            "x".repeat(70_000),
            "é".repeat(40_000)
        );
        let mock_item = r#"{"key":"txn_8f1c2a","created_at":1700000000123,"updated_at":1700000500000,"amount":-12500,"amount_usd":-13750,"approved":true,"category_key":null,"product_key":"prod_basic","currency":"EUR","customer_key":"cus_42","customer":{"key":"cus_42","email":"ann@example.com","external_key":"ext-42"},"extension":{"fields":{"plan":"pro","seats":3}},"metadata":{"note":"first order","ref":"A-1"},"test":false}"#;
        let mut docs: Vec<String> = [
            "{}",
            "[]",
            " \t\n\r{ \"a\" : [ ] , \"b\" : { } }\n",
            "[{}]",
            "[[],[[]],{}]",
            r#"{"b":1,"a":[true,false,null],"c":{"x":"y"}}"#,
            r#"{"key":"cus_1","name":"Zo\u00eb \"q\" \\ 山田太郎","e":""}"#,
            r#"{"dup":1,"dup":2}"#,
            r#"{"dup":{"a":1},"x":0,"dup":[2],"dup":"last"}"#,
            r#"{"a":1,"b":2,"a":3,"b":4,"c":5}"#,
            r#"{"bb":1,"aa":2,"ab":3,"ba":4,"a":5,"ccc":6,"":7}"#,
            r#"{"é":1,"e":2,"z":3,"ee":4}"#,
            r#"[1,-2,9223372036854775807,-9223372036854775808,{"n":[[]]},{}]"#,
            r#"{"amount":1.50,"rate":1e-7,"big":18446744073709551616}"#,
            r#"{"\u00e9t\u00e9":{"k\n":"v\t"}}"#,
            r#"[0,-0,0.0,-0.0,1.5,1.50,1.500000,100,10000,100000000,1e2,1E2,1e+2,1e-2,-1.25e3]"#,
            r#"[1e400,-1e-400,123456789012345678,1234567890123456789,99999999999999999999999]"#,
            r#"[0.000001,123.456,1000000000000000000000.5,-0.1,5e0,12e-1]"#,
            r#"[1,10,100,1000,10000,100000,1000000,10000000,100000000,1000000000,999999999999999999]"#,
            r#"[-1,-10,-10000,-99990000,-100000000,-999999999999999999,20000,30000000]"#,
            r#"["\ud83d\ude00","\u20AC","\u0041\u00DF","\/\b\f\n\r\t\"\\","a\u001fb"]"#,
            r#"{"\ud83d\ude00":1,"\u0061":2,"a":3}"#,
            "[\"\u{7f}\u{80}\u{10FFFF}\"]",
            r#"[true,false,null,"true",1,"1"]"#,
            // Keys of equal length that share their first eight bytes: the order then comes
            // from the bytes after them; duplicates among them keep the last value.
            r#"{"customer_key_b":1,"customer_key_a":2,"customer_key_b":3}"#,
            r#"{"abcdefghi1":1,"abcdefghi0":2,"abcdefgh":3,"abcdefghi":4,"abcdefghij":5}"#,
            r#"{"abcdefgh_z":1,"abcdefgh_a":2,"abcdefghzz":3,"abcdefgh_a":4}"#,
            mock_item,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        docs.push(many_elems);
        docs.push(many_keys);
        docs.push(long_string);
        docs.push(nested(200, "[", "1", "]"));
        docs.push(nested(100, "{\"a\":[", "\"x\"", "]}"));
        docs.push(format!("[{}]", "1.5,".repeat(40) + "2"));
        docs.push(format!(
            "{{{}}}",
            (0..40)
                .map(|i| format!("\"{}\":{i}", i % 33))
                .collect::<Vec<_>>()
                .join(",")
        ));
        for doc in &docs {
            assert_exact(doc);
        }
    }

    #[pg_test]
    fn jsonb_image_leaves_what_it_cannot_build_to_jsonb_in() {
        let refused = [
            r#"{"a":"x\u0000y"}"#,
            r#"{"a\u0000":1}"#,
            r#"["\ud83d"]"#,
            r#"["\ude00"]"#,
            r#"["\ud83dx"]"#,
            r#"["\ud83d\u0041"]"#,
            r#"["\ud83d\ud83d"]"#,
            "1",
            "\"s\"",
            "null",
            "",
            " ",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "[01]",
            "[1.]",
            "[.5]",
            "[+1]",
            "[-]",
            "[1e]",
            "[1e+]",
            "[1x]",
            "[truex]",
            "[tru]",
            "[nul]",
            "{\"a\" 1}",
            "{'a':1}",
            "{a:1}",
            "[1 2]",
            "[\"a\tb\"]",
            "[\"\\x\"]",
            "[\"\\u12G4\"]",
            "[\"abc]",
            "{}{}",
            "[1]]",
            "[1]x",
            "{\"a\":1 \"b\":2}",
        ];
        for doc in refused {
            assert!(direct_datum(doc).is_none(), "{doc}");
        }
        let deep = nested(super::super::image::MAX_DEPTH + 1, "[", "", "]");
        assert!(direct_datum(&deep).is_none());
        assert_eq!(
            datum_bytes(crate::jsonb::jsonb_datum(&deep)),
            datum_bytes(jsonb_in(&deep))
        );
    }

    /// A small deterministic generator (xorshift64*), so a failure reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len() as u64) as usize]
        }
    }

    fn whitespace(rng: &mut Rng, out: &mut String) {
        if rng.below(4) == 0 {
            out.push_str(rng.pick(&[" ", "\n", "\t", "\r\n  ", ""]));
        }
    }

    fn string(rng: &mut Rng, out: &mut String) {
        const PIECES: &[&str] = &[
            "a",
            "b",
            "ab",
            "key",
            "é",
            "山",
            "😀",
            "\\n",
            "\\\"",
            "\\\\",
            "\\/",
            "\\t",
            "\\u00e9",
            "\\u0041",
            "\\ud83d\\ude00",
            "\\u001f",
            "\\uFFFF",
            " ",
            "Z",
            "0",
        ];
        out.push('"');
        let pieces = match rng.below(10) {
            0 => 0,
            1 => 40 + rng.below(200),
            _ => rng.below(4),
        };
        for _ in 0..pieces {
            out.push_str(rng.pick(PIECES));
        }
        out.push('"');
    }

    fn number(rng: &mut Rng, out: &mut String) {
        let sign = if rng.below(3) == 0 { "-" } else { "" };
        let int = match rng.below(6) {
            0 => "0".to_owned(),
            1 => rng.below(10).to_string(),
            2 => rng.below(100_000).to_string(),
            3 => (rng.below(9) + 1).to_string() + &"0".repeat(rng.below(24) as usize),
            4 => rng.next().to_string(),
            _ => (rng.next() >> rng.below(64)).max(1).to_string(),
        };
        out.push_str(sign);
        out.push_str(&int);
        if rng.below(4) == 0 {
            out.push('.');
            let digits = 1 + rng.below(8);
            for _ in 0..digits {
                out.push(char::from(b'0' + rng.below(10) as u8));
            }
        }
        if rng.below(8) == 0 {
            out.push_str(rng.pick(&["e", "E", "e+", "e-", "E-"]));
            out.push_str(&rng.below(40).to_string());
        }
    }

    fn value(rng: &mut Rng, depth: u32, out: &mut String) {
        let kind = if depth >= 5 {
            rng.below(5)
        } else {
            rng.below(8)
        };
        match kind {
            0 => out.push_str(rng.pick(&["true", "false", "null"])),
            1 | 2 => string(rng, out),
            3 | 4 => number(rng, out),
            5 | 6 => {
                out.push('{');
                let n = if rng.below(8) == 0 {
                    30 + rng.below(15)
                } else {
                    rng.below(6)
                };
                for i in 0..n {
                    if i > 0 {
                        out.push(',');
                    }
                    whitespace(rng, out);
                    if rng.below(2) == 0 {
                        // A small alphabet of keys: duplicates and equal lengths abound.
                        out.push('"');
                        out.push_str(rng.pick(&[
                            "a", "b", "c", "aa", "ab", "ba", "é", "\\u0062", "key", "kez",
                        ]));
                        out.push('"');
                    } else {
                        string(rng, out);
                    }
                    whitespace(rng, out);
                    out.push(':');
                    whitespace(rng, out);
                    value(rng, depth + 1, out);
                    whitespace(rng, out);
                }
                out.push('}');
            }
            _ => {
                out.push('[');
                let n = if rng.below(8) == 0 {
                    30 + rng.below(40)
                } else {
                    rng.below(6)
                };
                for i in 0..n {
                    if i > 0 {
                        out.push(',');
                    }
                    whitespace(rng, out);
                    value(rng, depth + 1, out);
                    whitespace(rng, out);
                }
                out.push(']');
            }
        }
    }

    #[pg_test]
    fn jsonb_image_matches_jsonb_in_on_random_documents() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut doc = String::new();
        for _ in 0..3000 {
            doc.clear();
            whitespace(&mut rng, &mut doc);
            // The generator's top level is always a container, as the items are.
            if rng.below(2) == 0 {
                doc.push('{');
                doc.push_str("\"root\":");
                value(&mut rng, 0, &mut doc);
                doc.push('}');
            } else {
                doc.push('[');
                value(&mut rng, 0, &mut doc);
                doc.push(']');
            }
            whitespace(&mut rng, &mut doc);
            assert_exact(&doc);
        }
    }
}
