//! Rust names for CAVE names: tables, columns and enum values become identifiers that are
//! valid, idiomatic and unique, by fixed rules (so the same snapshot always gives the same
//! names).

use std::collections::BTreeSet;

/// Split a name into words: at anything not alphanumeric, at a lowercase→uppercase step
/// (`gOSI` → `g`, `OSI`) and at the end of an acronym (`HTTPServer` → `HTTP`, `Server`).
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in s.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if c.is_ascii_uppercase() => {
                    p.is_ascii_lowercase()
                        || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
                }
                _ => false,
            };
            if boundary && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            word.push(c);
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => {
            first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
        }
        None => String::new(),
    }
}

/// `UpperCamelCase`: `synapses_pni_2` → `SynapsesPni2`, `5P-IT` → `_5pIt` (a leading digit
/// gets an underscore); a name without letters or digits becomes `Empty`, and `Self` (a
/// keyword that cannot be a raw identifier) `SelfValue`.
pub fn upper_camel(s: &str) -> String {
    let name: String = words(s).iter().map(|w| capitalized(w)).collect();
    match name.as_str() {
        "" => "Empty".to_string(),
        "Self" => "SelfValue".to_string(),
        _ => fix_start(name),
    }
}

/// `snake_case`: `gOSI` → `g_osi`, `pt_root_id` unchanged.
pub fn snake(s: &str) -> String {
    let name = words(s)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    fix_start(name)
}

fn fix_start(name: String) -> String {
    match name.chars().next() {
        None => "_".to_string(),
        Some(c) if c.is_ascii_digit() => format!("_{name}"),
        Some(_) => name,
    }
}

/// Rust's keywords (all editions, reserved ones included).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super", "_"];

/// The identifier text for `name` (already cased): itself, `r#name` for a keyword, or `name_`
/// for the keywords that cannot be raw.
pub fn ident_text(name: &str) -> String {
    if NOT_RAW.contains(&name) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_string()
    }
}

/// The name a field's methods are built from: its identifier without `r#`, and without the
/// `_` added to keywords that cannot be raw (`self_` → `self`, so `self_in`, not `self__in`).
pub fn method_base(field: &str) -> &str {
    let bare = field.trim_start_matches("r#");
    match bare.strip_suffix('_') {
        Some(k) if NOT_RAW.contains(&k) => k,
        _ => bare,
    }
}

/// Names already given in one namespace; a taken name gets the first free `2`, `3`, ...
/// suffix (`_2` for snake_case names).
#[derive(Debug, Default, Clone)]
pub struct Names {
    taken: BTreeSet<String>,
}

impl Names {
    /// A namespace in which `reserved` are already taken.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Names {
            taken: reserved.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Take `name`, or the first free variant of it: `name_2` for snake_case and for names
    /// ending in a digit, `Name2` for other UpperCamelCase names.
    pub fn claim(&mut self, name: &str) -> String {
        let camel = name.chars().any(|c| c.is_ascii_uppercase());
        let ends_in_digit = name.chars().last().is_some_and(|c| c.is_ascii_digit());
        let separator = if !camel || ends_in_digit { "_" } else { "" };
        let mut candidate = name.to_string();
        let mut n = 2;
        while self.taken.contains(&candidate) {
            candidate = format!("{name}{separator}{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_become_upper_camel() {
        assert_eq!(
            upper_camel("proofreading_status_and_strategy"),
            "ProofreadingStatusAndStrategy"
        );
        assert_eq!(
            upper_camel("aibs_metamodel_celltypes_v661"),
            "AibsMetamodelCelltypesV661"
        );
        assert_eq!(upper_camel("synapses_pni_2"), "SynapsesPni2");
        assert_eq!(upper_camel("HTTPServer"), "HttpServer");
    }

    #[test]
    fn values_become_variants() {
        assert_eq!(upper_camel("axon_fully_extended"), "AxonFullyExtended");
        assert_eq!(upper_camel("23P"), "_23p");
        assert_eq!(upper_camel("5P-IT"), "_5pIt");
        assert_eq!(upper_camel("not-neuron"), "NotNeuron");
        assert_eq!(upper_camel("OPC"), "Opc");
        assert_eq!(upper_camel("L2a"), "L2a");
        assert_eq!(upper_camel("-"), "Empty");
        assert_eq!(upper_camel(""), "Empty");
        assert_eq!(upper_camel("self"), "SelfValue");
    }

    #[test]
    fn columns_become_snake_idents() {
        assert_eq!(snake("gOSI"), "g_osi");
        assert_eq!(snake("DSI"), "dsi");
        assert_eq!(snake("pt_root_id"), "pt_root_id");
        assert_eq!(snake("2nd"), "_2nd");
        assert_eq!(ident_text("type"), "r#type");
        assert_eq!(ident_text("self"), "self_");
        assert_eq!(ident_text("size"), "size");
    }

    #[test]
    fn collisions_get_numbered() {
        let mut names = Names::with_reserved(&["limit"]);
        assert_eq!(names.claim("limit"), "limit_2");
        assert_eq!(names.claim("SynapsesPni2"), "SynapsesPni2");
        assert_eq!(names.claim("SynapsesPni2"), "SynapsesPni2_2");
        assert_eq!(names.claim("Synapse"), "Synapse");
        assert_eq!(names.claim("Synapse"), "Synapse2");
        assert_eq!(names.claim("g_osi"), "g_osi");
        assert_eq!(names.claim("g_osi"), "g_osi_2");
    }
}
