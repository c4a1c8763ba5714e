// Generated enums round-trip through their wire strings; a value the snapshot does not know
// becomes `Other` and keeps its text.
#![deny(warnings)]

pub mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = [
            "aibs_metamodel_celltypes_v661",
            "proofreading_status_and_strategy"
        ]
    );
}

use minnie::{AibsMetamodelCellType, ProofreadingStrategy};

fn main() {
    let parsed = "axon_fully_extended".parse::<ProofreadingStrategy>();
    assert_eq!(parsed, Ok(ProofreadingStrategy::AxonFullyExtended));
    assert_eq!(
        ProofreadingStrategy::AxonFullyExtended.to_string(),
        "axon_fully_extended"
    );
    assert_eq!(ProofreadingStrategy::None.as_str(), "none");

    for known in ProofreadingStrategy::KNOWN {
        let text = known.to_string();
        assert_eq!(text.parse::<ProofreadingStrategy>().as_ref(), Ok(known));
        assert_eq!(ProofreadingStrategy::from_wire(&text), *known);
    }

    let unknown: ProofreadingStrategy = "axon_teleported".parse().unwrap();
    assert_eq!(
        unknown,
        ProofreadingStrategy::Other("axon_teleported".to_string())
    );
    assert_eq!(unknown.to_string(), "axon_teleported");
    assert!(!ProofreadingStrategy::KNOWN.contains(&unknown));

    // Wire strings that are not Rust identifiers.
    assert_eq!(
        AibsMetamodelCellType::from_wire("5P-IT"),
        AibsMetamodelCellType::_5pIt
    );
    assert_eq!(AibsMetamodelCellType::_23p.to_string(), "23P");
    // Matching is exact, as on the server.
    assert_eq!(
        AibsMetamodelCellType::from_wire("5p-it"),
        AibsMetamodelCellType::Other("5p-it".to_string())
    );
}
