//! "Did you mean" hints for misspelt names (tables, columns, schema types, value sets).

/// The candidate closest to `name`, when it is close enough to be a likely typo.
pub fn closest<S: AsRef<str>>(
    name: &str,
    candidates: impl IntoIterator<Item = S>,
) -> Option<String> {
    let (distance, best) = candidates
        .into_iter()
        .map(|c| (edit_distance(name, c.as_ref()), c.as_ref().to_string()))
        .min()?;
    (distance <= (name.chars().count() / 3).max(2)).then_some(best)
}

/// ` (did you mean `x`?)` when some candidate is close to `name`, else an empty string.
pub fn did_you_mean<S: AsRef<str>>(name: &str, candidates: impl IntoIterator<Item = S>) -> String {
    closest(name, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_only() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            closest("synapses_pni2", ["nucleus_detection_v0", "synapses_pni_2"]).as_deref(),
            Some("synapses_pni_2")
        );
        assert_eq!(
            closest("volume", ["cell_type", "classification_system"]),
            None
        );
        assert_eq!(
            did_you_mean("synapse", ["synapse_x"]),
            " (did you mean `synapse_x`?)"
        );
    }
}
