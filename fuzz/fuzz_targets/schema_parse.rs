//! The schema-service parser on arbitrary text: never a panic; an error names its source and
//! says what is wrong; a type that parses flattens.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for name in ["fuzz", "synapse"] {
        match cave_schema::parse_schema_type_str(name, &text, "fuzz.json") {
            Ok(t) => {
                let columns = t.columns();
                assert_eq!(columns[0].name, "id");
            }
            Err(e) => {
                assert_eq!(e.source, "fuzz.json");
                assert!(!e.message.is_empty());
            }
        }
    }
    if let Err(e) = cave_schema::parse_types_all_str(&text, "fuzz.json") {
        assert!(!e.message.is_empty());
    }
});
